"""Open-intent detection on BANKING77: train on a random 75% of the intents, treat the test
texts of the other 25% as unknown, and measure every out-of-scope score side by side with
plain (uncalibrated) maximum softmax.

Per draw of intents (``--draws``, default 3) and score: in-scope accuracy (an abstention on an
in-scope text counts as wrong) against the closed-set accuracy of the same model, unknown
recall and precision at the threshold that keeps 95% of the validation texts, AUROC, and the
share of unknown texts kept at 95% in-scope recall (FPR@95). Goal: the best score
within 1 point of closed-set in-scope accuracy, recalling at least 60% of the unknown texts.

    python bench/open_intent.py                                   # 3 draws, full data
    python bench/open_intent.py --draws 1 --limit 20 --override train.epochs=1   # minutes
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.config import load_config  # noqa: E402
from tuneforge.evaluate.abstain import read_scores  # noqa: E402
from tuneforge.evaluate.ood import (  # noqa: E402
    ClassGaussians,
    energy_scores,
    msp_scores,
    open_set_figures,
    threshold_for_recall,
)
from tuneforge.predict import load_predictor  # noqa: E402
from tuneforge.recipes.train import run_train  # noqa: E402
from tuneforge.store import RunDir  # noqa: E402
from tuneforge.tasks import open_task  # noqa: E402

DATASET = "banking77"
KNOWN_SHARE = 0.75
RECALL = 0.95
SCORES = ("msp-plain", "msp", "energy", "mahalanobis")


def draw_files(work: Path, draw: int, seed: int, limit: int | None) -> tuple[Path, Path, set]:
    """The training file of the known intents (``limit`` rows per intent, when given) and the
    in-scope test file; returns the known intents too."""
    train = pd.read_csv(shared_csv(DATASET, "train"), dtype=str, keep_default_na=False)
    test = pd.read_csv(shared_csv(DATASET, "test"), dtype=str, keep_default_na=False)
    intents = sorted(set(train["label"]))
    rng = random.Random(seed + draw)
    known = set(rng.sample(intents, round(KNOWN_SHARE * len(intents))))
    train = train[train["label"].isin(known)][["text", "label"]]
    if limit:
        train = train.sample(frac=1.0, random_state=seed).groupby("label").head(limit)
    paths = (work / f"draw{draw}-train.csv", work / f"draw{draw}-test-in-scope.csv")
    train.to_csv(paths[0], index=False)
    test[test["label"].isin(known)][["text", "label"]].to_csv(paths[1], index=False)
    return paths[0], paths[1], known


def score_sets(run: RunDir, texts: list[str]) -> dict[str, np.ndarray]:
    """Every score of ``texts`` under the run's model (plain MSP: temperature 1)."""
    predictor = load_predictor(run.model_dir)
    arrays = read_scores(run.model_dir)
    logits = predictor.predict_logits(texts)
    t = predictor.temperature
    gaussians = ClassGaussians(arrays["means"], arrays["precision"])
    return {
        "msp-plain": msp_scores(logits, 1.0),
        "msp": msp_scores(logits, t),
        "energy": energy_scores(logits, t),
        "mahalanobis": gaussians.scores(predictor.embed(texts)),
        "_pred": np.asarray(logits).argmax(1),
    }


def measure(run: RunDir, known: set) -> dict[str, dict]:
    """Open-set figures of each score on the whole test split, thresholds from validation."""
    task = open_task(run)
    val = [e.text for e in task.load_split(run.split_path("val", task.split_suffix))]
    test = pd.read_csv(shared_csv(DATASET, "test"), dtype=str, keep_default_na=False)
    labels = load_predictor(run.model_dir).labels
    val_scores = score_sets(run, val)
    test_scores = score_sets(run, test["text"].tolist())
    inside = test["label"].isin(known).to_numpy()
    predicted = np.array([labels[i] for i in test_scores["_pred"]])
    correct = predicted == test["label"].to_numpy()
    out = {}
    for score in SCORES:
        threshold = threshold_for_recall(val_scores[score], RECALL)
        out[score] = open_set_figures(test_scores[score], inside, correct, threshold)
    return out


def train_draw(args, work: Path, draw: int) -> tuple[RunDir, set]:
    train, test, known = draw_files(work, draw, args.seed, args.limit)
    overrides = [
        f"data.train_file={train}",
        f"data.test_file={test}",
        "data.test_fraction=0",
        f"data.seed={args.seed + draw}",
        f"train.seed={args.seed + draw}",
        f"runs_dir={work / 'runs'}",
        f"name=open-intent-d{draw}-{time.strftime('%Y%m%d-%H%M%S')}",
    ]
    cfg = load_config(overrides=[*overrides, *args.override])
    result = run_train(cfg, progress=False, log=lambda m: print(m, file=sys.stderr))
    return RunDir(result.run_dir), known


def mean_pct(results: list[dict], score: str, key: str) -> str:
    """Mean (± std over draws) of one figure, in percent; "" where no draw has it."""
    values = [r["scores"][score][key] for r in results]
    values = [v for v in values if isinstance(v, (int, float))]
    if not values:
        return ""
    text = f"{100 * statistics.mean(values):.1f}"
    return text + (f" ± {100 * statistics.stdev(values):.1f}" if len(values) > 1 else "")


def summarize(results: list[dict]) -> None:
    keys = ("closed_set_accuracy", "in_scope_accuracy", "unknown_recall", "unknown_precision")
    keys += ("auroc", "fpr_at_95_recall")
    rows = [[score, *(mean_pct(results, score, k) for k in keys)] for score in SCORES]
    headers = ["score", "closed-set acc %", "in-scope acc %", "unknown recall %"]
    print_table([*headers, "unknown precision %", "AUROC %", "FPR@95 %"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=3, help="random draws of known intents")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, help="training rows per intent (default: all)")
    parser.add_argument("--work", default="bench/results/open_intent")
    parser.add_argument("--json", default="bench/results/open_intent.json")
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for draw in range(args.draws):
        start = time.perf_counter()
        run, known = train_draw(args, work, draw)
        results.append(
            {
                "draw": draw,
                "run": str(run.path),
                "known": sorted(known),
                "scores": measure(run, known),
                "wall_s": time.perf_counter() - start,
            }
        )
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    summarize(results)


if __name__ == "__main__":
    main()
