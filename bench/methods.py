"""Fine-tuning methods side by side on BANKING77: full fine-tuning beside each peft method.

Every method trains with its defaults through the recipe behind `tuneforge train --method M`,
on the same split and seed, each in its own process so that peak memory is that method's own.
Prints test accuracy, macro-F1, wall time, examples/s, trainable parameters and peak resident
memory, with ratios to full fine-tuning.

    python bench/methods.py                                  # all methods, seed 42
    python bench/methods.py --methods full lora --epochs 4
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

METHODS = ["full", "lora", "adalora", "ia3", "prefix"]


def one(method: str, seed: int, runs_dir: Path, epochs: int | None) -> dict:
    """Train one method in this process and return its measurements."""
    from tuneforge.config import load_config
    from tuneforge.models import load_trained
    from tuneforge.recipes.train import run_train

    overrides = [
        f"data.train_file={shared_csv('banking77', 'train')}",
        f"data.test_file={shared_csv('banking77', 'test')}",
        "data.test_fraction=0",
        f"data.seed={seed}",
        f"train.seed={seed}",
        f"method.name={method}",
        f"runs_dir={runs_dir}",
        f"name=methods-{method}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    if epochs:
        overrides.append(f"train.epochs={epochs}")
    start = time.perf_counter()
    result = run_train(load_config(overrides=overrides), progress=False)
    wall = time.perf_counter() - start
    source = result.run_dir / "artifacts" / ("model" if method == "full" else "adapter")
    model = load_trained(source).model
    trainable = sum(
        p.numel()
        for n, p in model.named_parameters()
        if method == "full"
        or any(k in n for k in ("lora_", "ia3_", "prompt_encoder", "modules_to_save"))
    )
    if method == "full":  # the frozen word embeddings do not train
        trainable -= model.get_input_embeddings().weight.numel()
    return {
        "method": method,
        "seed": seed,
        "run_dir": str(result.run_dir),
        "accuracy": result.eval.accuracy,
        "macro_f1": result.eval.macro_f1,
        "wall_s": wall,
        "train_s": result.train.train_seconds,
        "examples_per_s": result.train.examples_per_s,
        "epochs": result.train.epochs_run,
        "trainable_params": trainable,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=None, help="default: each run's auto")
    parser.add_argument("--runs-dir", default="bench/results/runs")
    parser.add_argument("--json", default="bench/results/methods.json")
    parser.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.seed, Path(args.runs_dir), args.epochs)))
        return

    results = []
    for method in args.methods:
        cmd = [sys.executable, __file__, "--one", method, "--seed", str(args.seed)]
        cmd += ["--runs-dir", args.runs_dir]
        cmd += ["--epochs", str(args.epochs)] if args.epochs else []
        print(f"training {method} ...", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))

    full = next((r for r in results if r["method"] == "full"), results[0])
    rows = [
        [
            r["method"],
            f"{100 * r['accuracy']:.2f}",
            f"{100 * (r['accuracy'] - full['accuracy']):+.2f}",
            f"{100 * r['macro_f1']:.2f}",
            f"{r['train_s']:.0f}",
            f"{full['train_s'] / r['train_s']:.2f}x",
            f"{r['examples_per_s']:.0f}",
            str(r["epochs"]),
            f"{r['trainable_params']:,}",
            f"{100 * r['trainable_params'] / full['trainable_params']:.2f}%",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for r in results
    ]
    print(f"\nBANKING77, seed {args.seed}, each method's defaults")
    print_table(
        [
            "method",
            "test acc %",
            "vs full",
            "macro-F1 %",
            "train s",
            "speed vs full",
            "ex/s",
            "epochs",
            "trainable params",
            "of full",
            "peak RSS MB",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
