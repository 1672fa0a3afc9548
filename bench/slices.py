"""Slice evaluation on public data: where a slice column is natural, how far each slice falls
from the overall accuracy, with its bootstrap interval.

- Twitter financial news (train → validation): by text length (short < 60 characters, medium
  60–119, long ≥ 120) and by whether the tweet names a cashtag ($TSLA).
- BANKING77 (train → test): by the intent's domain (cards, card payments, cash & ATM,
  top-up, transfers, exchange & currency, account & security), from the label name.

The slice columns are derived into copies of the files under the work folder (the shared data
is never modified or copied into the project), then the run trains with ``--slice`` as a user
would (``data.slice_columns``), or an existing run is evaluated by slice with ``--run``.

    python bench/slices.py                                      # both, full data, defaults
    python bench/slices.py --limit 300 --override train.epochs=1  # a few minutes on 2 cores
    python bench/slices.py --datasets banking77 --run banking77=bench/results/runs/RUN
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.config import load_config  # noqa: E402
from tuneforge.recipes.evaluate import evaluate_run  # noqa: E402
from tuneforge.recipes.train import run_train  # noqa: E402

CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z.]{0,9}\b")
# BANKING77 intents by domain: the first rule whose keyword is in the label name wins.
DOMAIN_RULES = (
    ("top_up", "top-up"),
    ("topping_up", "top-up"),
    ("exchange", "exchange & currency"),
    ("currenc", "exchange & currency"),
    ("cash", "cash & ATM"),
    ("atm", "cash & ATM"),
    ("card_swallowed", "cash & ATM"),
    ("transfer", "transfers"),
    ("beneficiary", "transfers"),
    ("receiving_money", "transfers"),
    ("identity", "account & security"),
    ("passcode", "account & security"),
    ("pin", "account & security"),
    ("personal_details", "account & security"),
    ("terminate_account", "account & security"),
    ("age_limit", "account & security"),
    ("country_support", "account & security"),
    ("phone", "account & security"),
    ("source_of_funds", "account & security"),
    ("payment", "card payments"),
    ("charge", "card payments"),
    ("refund", "card payments"),
    ("direct_debit", "card payments"),
    ("statement", "card payments"),
    ("card", "cards"),
    ("apple_pay", "cards"),
    ("contactless", "cards"),
)
# dataset: (train split, evaluated split, slice columns)
DATASETS = {
    "twitter_financial_news": ("train", "validation", ("length", "cashtag")),
    "banking77": ("train", "test", ("domain",)),
}


def length_bucket(text: str) -> str:
    n = len(text)
    return "short (<60)" if n < 60 else ("medium (60-119)" if n < 120 else "long (>=120)")


def domain(label: str) -> str:
    name = label.lower()
    found = next((d for key, d in DOMAIN_RULES if key in name), None)
    if found is None:
        raise SystemExit(f"BANKING77 label {label!r} matches no domain rule: add one.")
    return found


def with_slices(dataset: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its slice columns derived from text or label."""
    frame = frame.copy()
    if dataset == "banking77":
        frame["domain"] = frame["label"].map(domain)
    else:
        frame["length"] = frame["text"].map(length_bucket)
        frame["cashtag"] = frame["text"].map(lambda t: "yes" if CASHTAG.search(t) else "no")
    return frame


def derived_files(dataset: str, work: Path, limit: int | None, seed: int) -> tuple[Path, Path]:
    """Train and evaluation CSVs with the slice columns; ``limit`` keeps that many training
    rows per label (a seeded sample), for a quick check."""
    train_split, test_split, _ = DATASETS[dataset]
    out = []
    for split in (train_split, test_split):
        frame = pd.read_csv(shared_csv(dataset, split), dtype=str, keep_default_na=False)
        frame = frame[["text", "label"]]
        if limit and split == train_split:
            shuffled = frame.sample(frac=1.0, random_state=seed)
            frame = shuffled.groupby("label").head(limit).sort_index()
        path = work / f"{dataset}-{split}.csv"
        with_slices(dataset, frame).to_csv(path, index=False)
        out.append(path)
    return out[0], out[1]


def slices_of(dataset: str, args, work: Path) -> tuple[dict, str]:
    """(the eval's ``slices`` entry, the run it came from): trained here or given by --run."""
    train, test = derived_files(dataset, work, args.limit, args.seed)
    columns = DATASETS[dataset][2]
    given = dict(item.split("=", 1) for item in args.run)
    if dataset in given:
        report, _ = evaluate_run(given[dataset], work / "runs", str(test), slices=columns)
        return report.to_dict()["slices"], given[dataset]
    overrides = [
        f"data.train_file={train}",
        f"data.test_file={test}",
        "data.test_fraction=0",
        f"data.slice_columns={','.join(columns)}",
        f"data.seed={args.seed}",
        f"train.seed={args.seed}",
        f"runs_dir={work / 'runs'}",
        f"name={dataset}-slices-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    cfg = load_config(overrides=[*overrides, *args.override])
    result = run_train(cfg, progress=False, log=lambda m: print(m, file=sys.stderr))
    return result.eval.to_dict()["slices"], str(result.run_dir)


def print_slices(dataset: str, slices: dict) -> None:
    overall = slices["overall"]
    print(f"\n{dataset}: overall accuracy {100 * overall['accuracy']:.1f}% on {overall['n']}")
    for column, data in slices["columns"].items():
        rows = []
        for s in data["slices"]:
            low, high = (100 * x for x in s["accuracy_gap_ci"])
            rows.append(
                [
                    s["value"] + (" (worst)" if s["value"] == data["worst"] else ""),
                    s["support"],
                    f"{100 * s['accuracy']:.1f}",
                    f"{100 * s['macro_f1']:.1f}",
                    f"{s['mean_confidence']:.3f}",
                    f"{s['calibration_error']:.3f}",
                    f"{100 * s['accuracy_gap']:+.1f} [{low:+.1f}, {high:+.1f}]",
                ]
            )
        print(f"\nby {column}" + (f" ({data['note']})" if data["note"] else ""))
        headers = ["slice", "n", "acc %", "macro-F1 %", "confidence", "ECE"]
        print_table([*headers, "gap pts [95% CI]"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--limit", type=int, help="training rows per label (default: all)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default="bench/results/slices", help="derived files and runs")
    parser.add_argument("--json", default="bench/results/slices.json")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="DATASET=RUN",
        help="evaluate this finished run by slice instead of training one",
    )
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for dataset in args.datasets:
        start = time.perf_counter()
        slices, run = slices_of(dataset, args, work)
        results[dataset] = {"run": run, "wall_s": time.perf_counter() - start, "slices": slices}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    for dataset, r in results.items():
        print_slices(dataset, r["slices"])
        print(f"({r['run']}, {r['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
