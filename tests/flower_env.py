"""Flower's python for the federation tests: ``$TUNEFORGE_FLOWER_PYTHON``, else the
repository's ``.venv-flower`` (``scripts/ensure-flower``); None when neither exists."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON_ENV = "TUNEFORGE_FLOWER_PYTHON"
REQUIRE_ENV = "TUNEFORGE_REQUIRE_FLOWER"


def find_flower_python() -> str | None:
    given = os.environ.get(PYTHON_ENV)
    if given:
        return given
    local = REPO / ".venv-flower" / "bin" / "python"
    has_flwr = any((REPO / ".venv-flower" / "lib").glob("python*/site-packages/flwr"))
    return str(local) if local.is_file() and has_flwr else None
