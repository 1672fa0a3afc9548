"""The ``tuneforge`` command. Each sub-command is one module here, holding its flags beside
its handler (``register`` adds the parser, ``run`` does the work through a recipe); heavy
imports stay inside the handlers so ``--help`` is fast."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .._version import __version__
from ..errors import TuneforgeError
from . import (
    calibrate,
    compress,
    data,
    embed,
    evaluate,
    explain,
    export,
    federate,
    index,
    label,
    monitor,
    predict,
    recommend,
    registry,
    retrain,
    runs,
    search,
    serve,
    train,
    tune,
    ui,
)
from .common import HelpFormatter

# In the order `tuneforge --help` lists them.
COMMANDS = (
    data,
    train,
    tune,
    federate,
    evaluate,
    calibrate,
    predict,
    explain,
    export,
    compress,
    embed,
    index,
    search,
    recommend,
    serve,
    monitor,
    label,
    retrain,
    registry,
    runs,
    ui,
)
# Positionals that may come after options (train's key=value, predict's texts).
TRAILING = {
    "train": "overrides",
    "tune": "overrides",
    "federate": "items",
    "predict": "texts",
    "explain": "texts",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuneforge",
        description="Fine-tune, evaluate and use text and image classifiers on a CPU, offline.",
        epilog="example:\n  tuneforge train tickets.csv && tuneforge predict <run> 'hello'\n\n"
        "exit codes: 0 done, 1 input or run error (data check: blocking problems), 2 usage or\n"
        "config error, 3 refused by a release gate (parity, promotion), 130 interrupted",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"tuneforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    # key=value overrides may come after options (argparse alone would reject them there).
    args, extra = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that relaunch
    trailing = TRAILING.get(args.command)
    if extra:
        if trailing and not any(x.startswith("-") for x in extra):
            setattr(args, trailing, [*getattr(args, trailing), *extra])
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    debug = args.debug or bool(os.environ.get("TUNEFORGE_DEBUG"))
    try:
        return args.func(args)
    except TuneforgeError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "Rerun with --debug for the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
