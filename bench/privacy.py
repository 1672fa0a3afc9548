"""Differentially private fine-tuning side by side: SST-2 and BANKING77 at ε ∈ {1, 3, 8} and
without DP, with the training time of each.

Every cell trains through the recipe behind `tuneforge train --privacy dp --epsilon E` on the
same split and seed, each in its own process, and is tested on the held-out split (SST-2's
validation split, whose test labels are not public; BANKING77's test split). Prints test
accuracy, the gap to the non-private run, the ε actually spent, δ, the noise multiplier,
training seconds and examples/s. Goal: at ε = 8 within 3 points of the
non-private run on SST-2.

    python bench/privacy.py                                     # both data sets, LoRA
    python bench/privacy.py --datasets sst2 --epsilons 8 --method full
    python bench/privacy.py --limit 300 --epochs 1              # a smoke run on 300 rows
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

DATASETS = {"sst2": ("train", "validation"), "banking77": ("train", "test")}
EPSILONS = [1.0, 3.0, 8.0]


def _subset(dataset: str, split: str, limit: int | None, out: Path) -> Path:
    """The split's CSV, or its first ``limit`` rows written to ``out`` (smoke runs)."""
    path = shared_csv(dataset, split)
    if not limit:
        return path
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False).sample(frac=1, random_state=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.head(limit).to_csv(out, index=False)
    return out


def one(args: argparse.Namespace, dataset: str, epsilon: float | None) -> dict:
    """Train one cell (``epsilon`` None: without DP) in this process; its measurements."""
    from tuneforge.config import load_config
    from tuneforge.recipes.train import run_train

    train_split, test_split = DATASETS[dataset]
    work = Path(args.runs_dir) / "data"
    train = _subset(dataset, train_split, args.limit, work / f"{dataset}-train.csv")
    test = _subset(
        dataset, test_split, args.limit and args.limit // 2, work / f"{dataset}-test.csv"
    )
    tag = "none" if epsilon is None else f"eps{epsilon:g}"
    overrides = [
        f"data.train_file={train}",
        f"data.test_file={test}",
        "data.test_fraction=0",
        f"data.seed={args.seed}",
        f"train.seed={args.seed}",
        f"method.name={args.method}",
        f"runs_dir={args.runs_dir}",
        f"name=privacy-{dataset}-{tag}-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    if args.epochs:
        overrides.append(f"train.epochs={args.epochs}")
    if args.batch_size:
        overrides.append(f"train.batch_size={args.batch_size}")
    overrides += args.override
    if epsilon is not None:
        overrides += ["privacy.mode=dp", f"privacy.epsilon={epsilon}"]
    else:  # the same precision as the private runs, so the time compares DP alone
        overrides.append("train.precision=fp32")
    start = time.perf_counter()
    result = run_train(load_config(overrides=overrides), progress=False)
    privacy = result.train.privacy or {}
    return {
        "dataset": dataset,
        "epsilon_target": epsilon,
        "epsilon_spent": privacy.get("epsilon"),
        "delta": privacy.get("delta"),
        "noise_multiplier": privacy.get("noise_multiplier"),
        "accuracy": result.eval.accuracy,
        "macro_f1": result.eval.macro_f1,
        "train_s": result.train.train_seconds,
        "wall_s": time.perf_counter() - start,
        "examples_per_s": result.train.examples_per_s,
        "epochs": result.train.epochs_run,
        "run_dir": str(result.run_dir),
    }


def _rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        plain = next(
            (p for p in results if p["dataset"] == r["dataset"] and p["epsilon_target"] is None),
            None,
        )
        gap = "" if plain is None else f"{100 * (r['accuracy'] - plain['accuracy']):+.2f}"
        rows.append(
            [
                r["dataset"],
                "no DP" if r["epsilon_target"] is None else f"{r['epsilon_target']:g}",
                "" if r["epsilon_spent"] is None else f"{r['epsilon_spent']:.2f}",
                "" if r["delta"] is None else f"{r['delta']:.1e}",
                "" if r["noise_multiplier"] is None else f"{r['noise_multiplier']:.3f}",
                f"{100 * r['accuracy']:.2f}",
                gap,
                f"{100 * r['macro_f1']:.2f}",
                f"{r['train_s']:.0f}",
                f"{r['examples_per_s']:.1f}",
                str(r["epochs"]),
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--epsilons", nargs="+", type=float, default=EPSILONS)
    parser.add_argument("--method", default="lora", help="fine-tuning method (default lora)")
    parser.add_argument("--epochs", type=int, help="default: each run's auto")
    parser.add_argument("--batch-size", type=int, help="default: the method's (32)")
    parser.add_argument("--limit", type=int, help="train on the first N rows (smoke runs)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--override", nargs="*", default=[], metavar="key=value")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    parser.add_argument("--json", default="bench/results/privacy.json")
    parser.add_argument("--one", nargs=2, metavar=("DATASET", "EPSILON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        dataset, eps = args.one
        print(json.dumps(one(args, dataset, None if eps == "none" else float(eps))))
        return

    results = []
    for dataset in args.datasets:
        for eps in [None, *args.epsilons]:
            cmd = [sys.executable, __file__, "--one", dataset, "none" if eps is None else str(eps)]
            cmd += sys.argv[1:]
            print(f"training {dataset} at ε = {eps or 'none'} ...", file=sys.stderr, flush=True)
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"\nDP-SGD ({args.method}), seed {args.seed}: test accuracy and training time")
    print_table(
        [
            "data",
            "target ε",
            "ε spent",
            "δ",
            "noise σ",
            "test acc %",
            "vs no DP",
            "macro-F1 %",
            "train s",
            "ex/s",
            "epochs",
        ],
        _rows(results),
    )


if __name__ == "__main__":
    main()
