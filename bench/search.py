"""Search with and without pruning on BANKING77, under the same wall-time budget.

Two studies of the recipe behind `tuneforge tune`, one with median pruning and one without,
each given the same budget; prints trials finished (completed + pruned), trials per hour, and the
best trial's validation macro-F1 and test accuracy for each, with the trials-per-hour ratio
(target: ≥ 2x with pruning at equal best accuracy).

    python bench/search.py --budget-s 1800
    python bench/search.py --budget-s 120 --train-rows 1500       # a quick smoke of the script
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.recipes.sweep import run_search  # noqa: E402
from tuneforge.store import default_store_url  # noqa: E402
from tuneforge.tune import TuneConfig, default_space  # noqa: E402


def one_study(prune: bool, args, train_file: Path, runs_dir: Path) -> dict:
    name = f"bench-{'prune' if prune else 'noprune'}-{time.strftime('%H%M%S')}"
    base = {
        "data": {
            "train_file": str(train_file),
            "test_file": str(shared_csv("banking77", "test")),
            "test_fraction": 0.0,
            "seed": args.seed,
        },
        "method": {"name": args.method},
        "runs_dir": str(runs_dir),
    }
    cfg = TuneConfig(
        study=name,
        storage=default_store_url(runs_dir),
        trials=None,
        timeout_s=args.budget_s,
        prune=prune,
        seed=args.seed,
    )
    start = time.perf_counter()
    result = run_search(base, [], default_space(args.method), cfg)
    wall = time.perf_counter() - start
    best_test = None
    if result.best_run_id:
        report = json.loads((runs_dir / result.best_run_id / "eval.json").read_text())
        best_test = report["accuracy"]
    finished = result.n_complete + result.n_pruned
    return {
        "pruning": prune,
        "study": name,
        "wall_s": wall,
        "completed": result.n_complete,
        "pruned": result.n_pruned,
        "trials_per_hour": 3600 * finished / wall,
        "best_val_macro_f1": result.best_value,
        "best_test_accuracy": best_test,
        "best_run": result.best_run_id,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=1800, help="wall time per study")
    parser.add_argument("--method", default="full")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-rows", type=int, help="use a stratified sample of train")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    parser.add_argument("--json", default="bench/results/search.json")
    args = parser.parse_args()
    runs_dir = Path(args.runs_dir)
    train_file = shared_csv("banking77", "train")
    with tempfile.TemporaryDirectory() as tmp:
        if args.train_rows:
            frame = pd.read_csv(train_file, dtype=str, keep_default_na=False)
            share = min(1.0, args.train_rows / len(frame))
            frame = frame.groupby("label", group_keys=False).sample(frac=share, random_state=0)
            train_file = Path(tmp) / "train.csv"
            frame.to_csv(train_file, index=False)
        results = [one_study(prune, args, train_file, runs_dir) for prune in (False, True)]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    rows = [
        [
            "median pruning" if r["pruning"] else "no pruning",
            f"{r['wall_s']:.0f}",
            r["completed"],
            r["pruned"],
            f"{r['trials_per_hour']:.1f}",
            "" if r["best_val_macro_f1"] is None else f"{100 * r['best_val_macro_f1']:.2f}",
            "" if r["best_test_accuracy"] is None else f"{100 * r['best_test_accuracy']:.2f}",
        ]
        for r in results
    ]
    print(f"\nBANKING77, method {args.method}, budget {args.budget_s:.0f} s per study")
    print_table(
        ["study", "wall s", "completed", "pruned", "trials/h", "best val F1 %", "best test %"],
        rows,
    )
    off, on = results
    if off["trials_per_hour"]:
        print(
            f"\ntrials per hour with pruning: {on['trials_per_hour'] / off['trials_per_hour']:.2f}x"
        )


if __name__ == "__main__":
    main()
