"""Search with and without pruning on BANKING77, under the same wall-time budget.

Two studies of the recipe behind `tuneforge tune`, one with median pruning and one without,
each given the same budget; prints trials finished (completed + pruned), trials per hour, and the
best trial's validation macro-F1 and test accuracy for each, with the trials-per-hour ratio
(target: ≥ 2x with pruning at equal best accuracy).

By default the two studies run at the same time, each in its own process with one thread on its
own core, so that whatever else the machine does falls on both alike; `--one-after-the-other`
gives each study both cores in turn instead.

    python bench/search.py --budget-s 1800
    python bench/search.py --budget-s 120 --train-rows 1500       # a quick smoke of the script
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.recipes.tune import run_tune  # noqa: E402
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
    result = run_tune(base, [], default_space(args.method), cfg)
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


def sampled_train(rows: int | None, tmp: str) -> Path:
    """BANKING77's train file, or a stratified sample of ``rows`` of it (same for both studies)."""
    train_file = shared_csv("banking77", "train")
    if not rows:
        return train_file
    frame = pd.read_csv(train_file, dtype=str, keep_default_na=False)
    share = min(1.0, rows / len(frame))
    frame = frame.groupby("label", group_keys=False).sample(frac=share, random_state=0)
    out = Path(tmp) / "train.csv"
    frame.to_csv(out, index=False)
    return out


def side_by_side(args, train_file: Path) -> list[dict]:
    """Both studies at once, one process and one thread each, each pinned to its own core."""
    procs = []
    for core, prune in enumerate((False, True)):
        cmd = [sys.executable, __file__, "--one", "prune" if prune else "noprune"]
        cmd += ["--train-file", str(train_file), "--budget-s", str(args.budget_s)]
        # Separate stores: two processes never write one SQLite file at the same time.
        runs_dir = str(Path(args.runs_dir) / ("prune" if prune else "noprune"))
        cmd += ["--method", args.method, "--seed", str(args.seed), "--runs-dir", runs_dir]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cores = os.sched_getaffinity(0)
        if len(cores) >= 2:
            cmd = ["taskset", "-c", str(sorted(cores)[core]), *cmd]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env))
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a study failed (exit {proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=1800, help="wall time per study")
    parser.add_argument("--method", default="full")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-rows", type=int, help="use a stratified sample of train")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    parser.add_argument("--json", default="bench/results/search.json")
    parser.add_argument("--one-after-the-other", action="store_true")
    parser.add_argument("--one", choices=["prune", "noprune"], help=argparse.SUPPRESS)
    parser.add_argument("--train-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs_dir = Path(args.runs_dir)
    if args.one:  # a child process of side_by_side
        import torch

        torch.set_num_threads(1)
        print(json.dumps(one_study(args.one == "prune", args, Path(args.train_file), runs_dir)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        train_file = sampled_train(args.train_rows, tmp)
        if args.one_after_the_other:
            results = [one_study(prune, args, train_file, runs_dir) for prune in (False, True)]
        else:
            results = side_by_side(args, train_file)
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
    how = "one after the other" if args.one_after_the_other else "side by side, 1 core each"
    print(f"\nBANKING77, method {args.method}, budget {args.budget_s:.0f} s per study, {how}")
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
