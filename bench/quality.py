"""Quality with defaults: `tuneforge train` on four public datasets beside published figures.

Each dataset is trained exactly as a user would (the recipe behind `tuneforge train`, default
config, given validation/test files where the dataset has them), and the test accuracy and
macro-F1 are printed beside the reference figures from ../shared/data/README.md.

    python bench/quality.py                         # all four datasets, seed 42
    python bench/quality.py --datasets banking77 --seeds 1 2 3
    python bench/quality.py --datasets sst2 --override train.epochs=4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import mean_std, print_table, shared_csv  # noqa: E402

from tuneforge.config import load_config  # noqa: E402
from tuneforge.recipes.train import run_train  # noqa: E402

# (train, validation or None = cut from train, test, target accuracy %, published reference)
DATASETS = {
    "banking77": ("train", None, "test", 93.5, "BERT-large 93.7; TF-IDF+SVM 91.3"),
    "hwu64": ("train", "validation", "test", 90.5, "TF-IDF+SVM 88.5"),
    "sst2": ("train", None, "validation", 91.5, "MiniLM-L6 91.5; BERT-base 93.2; TF-IDF+SVM 82.0"),
    "twitter_financial_news": (
        "train",
        None,
        "validation",
        88.5,
        "FinBERT-tone 88.4; TF-IDF+SVM 84.2",
    ),
}


def run(dataset: str, seed: int, runs_dir: Path, extra: list[str]) -> dict:
    train, val, test, _, _ = DATASETS[dataset]
    overrides = [
        f"data.train_file={shared_csv(dataset, train)}",
        f"data.test_file={shared_csv(dataset, test)}",
        "data.test_fraction=0",
        f"data.seed={seed}",
        f"train.seed={seed}",
        f"runs_dir={runs_dir}",
        f"name={dataset}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    if val:
        overrides.append(f"data.val_file={shared_csv(dataset, val)}")
    cfg = load_config(overrides=[*overrides, *extra])
    start = time.perf_counter()
    result = run_train(cfg, progress=False, log=lambda m: print(m, file=sys.stderr))
    report = result.eval.to_dict()
    return {
        "dataset": dataset,
        "seed": seed,
        "run_dir": str(result.run_dir),
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "baseline": report.get("baseline", {}),
        "wall_s": time.perf_counter() - start,
        "train_s": result.train.train_seconds,
        "epochs": result.train.epochs_run,
        "examples_per_s": result.train.examples_per_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--json", default="bench/results/quality.json")
    parser.add_argument(
        "--runs-dir",
        default="bench/results/runs",
        help="where the runs are kept (bench/infer_speed.py reuses banking77's)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override on top of the defaults, e.g. train.class_weights=balanced",
    )
    args = parser.parse_args()
    results = []
    for dataset in args.datasets:
        for seed in args.seeds:
            r = run(dataset, seed, Path(args.runs_dir), args.override)
            print(json.dumps(r), file=sys.stderr, flush=True)
            results.append(r)
            # Written after every run so a crash later in a long benchmark loses nothing.
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))
    rows = []
    for dataset in args.datasets:
        runs = [r for r in results if r["dataset"] == dataset]
        acc = [100 * r["accuracy"] for r in runs]
        base = [100 * r["baseline"].get("accuracy", 0) for r in runs]
        target = DATASETS[dataset][3]
        mean_acc = sum(acc) / len(acc)
        rows.append(
            [
                dataset,
                len(runs),
                mean_std(acc),
                mean_std([100 * r["macro_f1"] for r in runs]),
                mean_std(base),
                f"{target:.1f}",
                "met" if mean_acc >= target else f"missed by {target - mean_acc:.1f}",
                f"{sum(r['train_s'] for r in runs) / len(runs):.0f}",
                str(runs[0]["epochs"]),
                DATASETS[dataset][4],
            ]
        )
    print_table(
        [
            "dataset",
            "seeds",
            "test acc %",
            "macro-F1 %",
            "our TF-IDF+SVM %",
            "target",
            "target",
            "train s",
            "epochs",
            "published",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
