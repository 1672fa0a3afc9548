"""The command line starts fast: building every command's flags loads no heavy library."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_parser_imports_no_heavy_library():
    """`tuneforge --help` (every command's flags, defaults and choices) loads neither
    scikit-learn, pandas, torch, transformers nor onnxruntime: each costs a second or more
    that every command would pay before it starts."""
    code = (
        "import sys, tuneforge.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in ('sklearn', 'pandas', 'torch', 'transformers', 'onnxruntime') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
