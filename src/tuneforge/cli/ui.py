"""``tuneforge ui``: the web dashboard over the runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_command, add_runs_dir, runs_dir

EXAMPLE = "tuneforge ui --runs-dir runs   (then open http://127.0.0.1:8080)"


def register(sub) -> None:
    p = add_command(
        sub,
        "ui",
        "Serve the web dashboard: runs (filter, sort, compare) and each run's curves, "
        "confusion matrix, per-class figures, wrong examples and variants.",
        EXAMPLE,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; beyond loopback a token is required, as for serve",
    )
    p.add_argument("--port", type=int, default=8080, help="port to listen on")
    p.add_argument(
        "--token-file", help="file holding the login token (else $TUNEFORGE_TOKEN; none: no login)"
    )
    p.add_argument(
        "--read-only", action="store_true", help="show everything, change nothing: no actions"
    )
    p.add_argument(
        "--annotator",
        help="who the labels saved in the dashboard are from (default: the OS user name)",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="alert rules YAML (as for monitor) to show on the monitoring pages",
    )
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..monitor.rules import load_rules
    from ..recipes.ui import serve_ui
    from ..serve import load_token
    from ..ui.settings import UISettings, os_user

    if args.rules:
        load_rules(args.rules)  # a broken rules file fails here, naming the rule
    settings = UISettings(
        runs_dir=runs_dir(args),
        host=args.host,
        port=args.port,
        token=load_token(args.token_file),
        read_only=args.read_only,
        annotator=args.annotator or os_user(),
        rules_file=Path(args.rules) if args.rules else None,
    )
    serve_ui(settings, announce=print)
    return 0
