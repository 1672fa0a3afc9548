"""``tuneforge export``: one release variant, checked against the trained model."""

from __future__ import annotations

import argparse

from .common import add_command, add_runs_dir, runs_dir

EXAMPLE = "tuneforge export intents-v1 --format onnx --quantize int8-dynamic"


def register(sub) -> None:
    from ..compress.variants import EXPORT_FORMATS, EXPORT_QUANTIZE

    p = add_command(
        sub,
        "export",
        "Export a run's model (HF or ONNX, optionally quantised) and "
        "check it reproduces the trained model.",
        EXAMPLE,
    )
    p.add_argument("run", help="run id or run directory")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="onnx", help="artifact format")
    p.add_argument("--quantize", choices=EXPORT_QUANTIZE, default="none", help="weight precision")
    p.add_argument("--output", help="artifact directory (default: RUN/artifacts/VARIANT)")
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..recipes.export import export_run
    from .tables import out, parity_table

    path, report = export_run(args.run, runs_dir(args), args.format, args.quantize, args.output)
    out.print(parity_table([report.to_dict()]))
    out.print(f"artifact: {path}")
    return 0
