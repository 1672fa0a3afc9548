"""``tuneforge federate``: a federated fine-tune on Flower, one client process per data file."""

from __future__ import annotations

import argparse
import re

from .common import add_columns, add_command, add_runs_dir
from .train import add_privacy_flags

EXAMPLE = (
    "tuneforge federate branch-a.csv branch-b.csv branch-c.csv --eval held-out.csv "
    "--method lora --rounds 5\n"
    "  tuneforge federate a.csv b.csv --eval e.csv --strategy fedprox --proximal-mu 0.01\n"
    "  tuneforge federate a.csv b.csv --eval e.csv --method lora --privacy dp --epsilon 8"
)
OVERRIDE = re.compile(r"^[A-Za-z_]+\.[A-Za-z_.]+=")


def register(sub) -> None:
    from ..federated.spec import FEDERATED_METHODS, STRATEGIES

    p = add_command(
        sub,
        "federate",
        "Fine-tune across clients that keep their data: a Flower server and one client "
        "process per data file, on this machine's loopback.",
        EXAMPLE,
    )
    p.add_argument(
        "items",
        nargs="+",
        metavar="CLIENT_FILE | key=value",
        help="one labelled data file per client (each process reads only its own), then "
        "optional key=value config overrides",
    )
    p.add_argument(
        "--eval",
        required=True,
        metavar="FILE",
        help="the server's labelled file: its labels are the federation's, half selects the "
        "best round, half is the run's test split",
    )
    add_columns(p)
    p.add_argument("--model", help="'default' or a local Hugging Face model directory")
    p.add_argument(
        "--method",
        choices=list(FEDERATED_METHODS),
        help="what the clients train and send: an adapter plus head, or (full) the "
        "unfrozen blocks (default full)",
    )
    p.add_argument("--rounds", type=int, default=5, help="federated rounds")
    p.add_argument("--local-epochs", type=int, default=1, help="epochs each client trains a round")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="fedavg", help="aggregation")
    p.add_argument(
        "--proximal-mu", type=float, default=0.01, help="FedProx's μ (with --strategy fedprox)"
    )
    p.add_argument(
        "--min-clients",
        type=int,
        help="fewest clients whose answers a round may average; a round with fewer fails "
        "(default: half the clients, at least 1)",
    )
    p.add_argument(
        "--round-timeout",
        type=float,
        default=600.0,
        help="seconds a client may take for one round before the round goes on without it",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=120.0,
        help="seconds for every client to join before the federation is called off",
    )
    p.add_argument(
        "--flower-python",
        help="python of the environment with flwr (default: $TUNEFORGE_FLOWER_PYTHON, this "
        "one if it has flwr, else ./.venv-flower)",
    )
    p.add_argument("--port", type=int, help="the server's loopback port (default: a free one)")
    p.add_argument("--batch-size", type=int, help="train.batch_size on each client")
    p.add_argument("--lr", type=float, help="train.lr on each client")
    p.add_argument("--max-length", type=int, help="tokens per text, model.max_length")
    p.add_argument("--seed", type=int, help="split and initial-weights seed (default 42)")
    p.add_argument("--name", help="run id to use (default: generated)")
    add_privacy_flags(p)
    p.add_argument("--config", help="YAML config (see configs/); flags and key=value beat it")
    add_runs_dir(p)
    p.set_defaults(func=run)


def split_items(items: list[str]) -> tuple[list[str], list[str]]:
    """(client files, key=value overrides) of the positionals."""
    overrides = [x for x in items if OVERRIDE.match(x)]
    return [x for x in items if not OVERRIDE.match(x)], overrides


def federate_config(args: argparse.Namespace, overrides: list[str]):
    """defaults < --config < flags < key=value, as ``train`` ranks them."""
    from ..config import load_config
    from ..store import default_runs_dir

    delta = args.delta
    if delta is not None and delta.strip().lower() == "auto":
        delta = "none"
    flags: dict = {"runs_dir": args.runs_dir} if args.runs_dir else {}
    given = {
        ("data", "text_column"): args.text_column,
        ("data", "label_column"): args.label_column,
        ("data", "format"): args.format,
        ("data", "delimiter"): args.delimiter,
        ("data", "seed"): args.seed,
        ("model", "name"): args.model,
        ("model", "max_length"): args.max_length,
        ("method", "name"): args.method,
        ("train", "seed"): args.seed,
        ("train", "batch_size"): args.batch_size,
        ("train", "lr"): args.lr,
        ("privacy", "mode"): args.privacy,
        ("privacy", "epsilon"): args.epsilon,
        ("privacy", "delta"): delta,
        ("privacy", "max_grad_norm"): args.max_grad_norm,
    }
    for (section, key), value in given.items():
        if value is not None:
            flags.setdefault(section, {})[key] = value
    if args.name:
        flags["name"] = args.name
    base = {"runs_dir": str(default_runs_dir(None))}
    return load_config(args.config, overrides, base=base, flags=flags)


def run(args: argparse.Namespace) -> int:
    from ..recipes.federate import FederateOptions, run_federate
    from ..report.privacy import privacy_summary
    from ..store import RunDir
    from .tables import out

    files, overrides = split_items(args.items)
    opts = FederateOptions(
        client_files=tuple(files),
        eval_file=args.eval,
        rounds=args.rounds,
        local_epochs=args.local_epochs,
        strategy=args.strategy,
        proximal_mu=args.proximal_mu,
        min_clients=args.min_clients,
        connect_timeout=args.connect_timeout,
        round_timeout=args.round_timeout,
        flower_python=args.flower_python,
        port=args.port,
    )
    result = run_federate(federate_config(args, overrides), opts)
    rd = RunDir(result.run_dir)
    facts = result.facts
    out.print(f"run id:  {result.run_id}")
    out.print(f"run dir: {result.run_dir}")
    for h in facts["history"]:
        missing = f", missing {', '.join(h['missing'])}" if h.get("missing") else ""
        out.print(
            f"round {h['round']}: val accuracy {h['accuracy']:.4f}, "
            f"{len(h.get('answered') or [])} clients{missing}, "
            f"{(h.get('bytes_down') or 0) + (h.get('bytes_up') or 0):,} bytes"
        )
    out.print(f"best round: {facts['best_round']}   test accuracy: {result.accuracy:.4f}")
    private = privacy_summary(rd.status().get("privacy"))
    if private:
        out.print(f"privacy (the client that spent most): {private}")
    out.print(f"report:  {rd.report_path}")
    return 0
