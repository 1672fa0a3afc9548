"""``tuneforge registry``: named model versions with stages."""

from __future__ import annotations

import argparse

from .common import add_command, add_group, add_json, add_runs_dir, add_slice, runs_dir

EXAMPLE = (
    "tuneforge registry promote intents-v1:onnx-int8-dynamic --name intents "
    "--stage production   |   tuneforge predict intents@production 'hello'"
)
PROMOTE_EXAMPLE = (
    f"{EXAMPLE}\n"
    "  tuneforge registry promote intents-v1 --name intents --stage production "
    "--mlflow=http://mlflow:5000   (then mlflow.pyfunc.load_model('models:/intents@production'))"
)


def register(sub) -> None:
    from ..store import STAGES

    reg = add_group(
        sub, "registry", "named model versions with stages", "registry_command", EXAMPLE
    )
    p = add_command(reg, "list", "List registered models and their versions.", EXAMPLE)
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_list)
    p = add_command(
        reg, "promote", "Register RUN[:VARIANT] as a new version in a stage.", PROMOTE_EXAMPLE
    )
    p.add_argument("ref", metavar="RUN[:VARIANT]", help="the run and the variant to register")
    p.add_argument("--name", required=True, help="model name (letters, digits, - _ .)")
    p.add_argument("--stage", required=True, choices=STAGES, help="stage the version takes")
    p.add_argument(
        "--force",
        action="store_true",
        help="promote despite a failed parity, slice or privacy gate",
    )
    p.add_argument(
        "--max-slice-gap",
        type=float,
        metavar="GAP",
        help="refuse when a slice of the run's eval.json is more than GAP (e.g. 0.05) below the "
        "overall accuracy, judged with its bootstrap interval (train with --slice)",
    )
    add_slice(p, "the slice column --max-slice-gap judges (repeat; default: every one evaluated)")
    p.add_argument(
        "--max-epsilon",
        type=float,
        metavar="EPS",
        help="refuse unless the run was trained with --privacy dp and spent at most this ε "
        "(recorded in its status.json; variants that re-read the training data fail)",
    )
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        help="also register the version in MLflow's model registry as a pyfunc model, its "
        "stage as alias (URI default: $MLFLOW_TRACKING_URI, else SQLite under "
        "RUNS_DIR/mlflow; write --mlflow=URI)",
    )
    add_runs_dir(p)
    p.set_defaults(func=run_promote)
    p = add_command(
        reg, "rollback", "Give a stage back to the version that held it before.", EXAMPLE
    )
    p.add_argument("name", help="registered model name")
    p.add_argument("--stage", required=True, choices=STAGES, help="stage to give back")
    add_runs_dir(p)
    p.set_defaults(func=run_rollback)
    p = add_command(reg, "show", "Show every version of a model.", EXAMPLE)
    p.add_argument("name", help="registered model name")
    add_json(p)
    add_runs_dir(p)
    p.set_defaults(func=run_show)


def _print_versions(found: dict, as_json: bool = False) -> None:
    from .tables import out, print_json, versions_table

    if as_json:
        print_json({name: versions for name, versions in found.items()})
        return
    if not found:
        out.print("no registered models yet")
    for name, versions in found.items():
        out.print(versions_table(name, versions))


def run_list(args: argparse.Namespace) -> int:
    from ..recipes.registry import versions

    _print_versions(versions(runs_dir(args)), args.json)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..recipes.registry import versions

    _print_versions(versions(runs_dir(args), args.name), args.json)
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from ..recipes.registry import promote
    from .tables import out

    mlflow_uri = None
    if args.mlflow is not None:
        from ..track import parse_target

        mlflow_uri = parse_target(f"mlflow={args.mlflow}", runs_dir(args)).where
    v = promote(
        args.ref,
        runs_dir(args),
        args.name,
        args.stage,
        force=args.force,
        max_slice_gap=args.max_slice_gap,
        slices=args.slices or (),
        max_epsilon=args.max_epsilon,
        mlflow_uri=mlflow_uri,
    )
    forced = " (forced)" if v.forced else ""
    out.print(f"{v.name} v{v.version} → {v.stage}{forced}: {v.run_id}:{v.variant}")
    if v.note:
        out.print(f"gate: {v.note}")
    if mlflow_uri is not None:
        out.print(f"MLflow: registered as models:/{v.name}@{v.stage} at {mlflow_uri}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from ..recipes.registry import rollback
    from .tables import out

    v = rollback(runs_dir(args), args.name, args.stage)
    out.print(f"{v.name}@{v.stage} is now v{v.version} ({v.run_id}:{v.variant})")
    return 0
