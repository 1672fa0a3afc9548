"""The one rule for names people choose — runs, models, studies, queues — and the paths built
from them.

A name becomes a directory or file name (``runs/<run>``, ``runs/studies/<study>``,
``runs/monitor/<model>-alerts.json``) and part of references (``NAME@stage``), so it may hold
only letters, digits, ``-``, ``_`` and ``.``, must start with a letter or digit (which rules out
``.``, ``..``, hidden files and names that look like flags), and is at most 128 characters. Every
path built from a name is checked to stay under its root after resolution.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError, NameRuleError

STAGES = ("staging", "production")  # the stages a registered model version can hold
NAME_MAX = 128
NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")
NAME_RULE = (
    f"use only letters, digits, '-', '_' and '.', at most {NAME_MAX} characters, starting with "
    "a letter or digit"
)


def is_valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def check_name(name: object, what: str = "name") -> str:
    """``name`` when it follows the rule, else a NameRuleError saying what is allowed."""
    if not is_valid_name(name):
        shown = repr(name) if isinstance(name, str) and len(name) <= 80 else f"of {_size(name)}"
        raise NameRuleError(f"{what[:1].upper()}{what[1:]} {shown} is not allowed: {NAME_RULE}.")
    return str(name)


def _size(name: object) -> str:
    return f"{len(name)} characters" if isinstance(name, str) else type(name).__name__


def path_under(root: Path, *parts: str) -> Path:
    """``root/parts...``, refused when it would resolve outside ``root`` (a symlink, say)."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise ConfigError(f"{path} is outside {base}.")
    return path
