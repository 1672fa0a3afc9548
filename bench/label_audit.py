"""How well `label audit` finds wrong labels: BANKING77 train with 5% of its labels flipped.

A seeded 5% of the training rows get another label, drawn uniformly from the other 76; the
noisy file goes through ``audit_file`` (frozen all-MiniLM-L6-v2, 5-fold logistic regression,
cleanlab) and the flagged rows are scored against the flipped ones: precision, recall, F1.
Two peers run in the same process on the same noisy file and folds, with no encoder:

* disagreement: a cross-validated TF-IDF (word 1-2 grams) + logistic regression, flagging every
  row whose out-of-fold prediction differs from its label (the usual first try);
* cleanlab on TF-IDF: the same out-of-fold probabilities through cleanlab's
  ``find_label_issues`` (what one gets from cleanlab without an encoder).

    OMP_NUM_THREADS=2 python bench/label_audit.py            # about 10 minutes on 2 busy cores
    python bench/label_audit.py --rows 3000 --noise 0.05     # a quicker, smaller measurement

BANKING77's own labels are not all right, so some "false" flags are real mistakes: precision is
a lower bound. Every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, shared_csv  # noqa: E402

from tuneforge.label.audit import audit_file, label_issues  # noqa: E402


def noisy_copy(frame: pd.DataFrame, noise: float, seed: int) -> tuple[pd.DataFrame, set[int]]:
    """The frame with ``noise`` of its labels moved to another label; the 1-based rows moved."""
    rng = np.random.default_rng(seed)
    names = sorted(set(frame["label"]))
    picked = rng.choice(len(frame), size=int(round(noise * len(frame))), replace=False)
    labels = frame["label"].tolist()
    for i in picked:
        labels[i] = rng.choice([n for n in names if n != labels[i]])
    return frame.assign(label=labels), {int(i) + 1 for i in picked}


def scores(flagged: set[int], flipped: set[int]) -> dict:
    hits = len(flagged & flipped)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(flipped) if flipped else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"flagged": len(flagged), "precision": precision, "recall": recall, "f1": f1}


def tfidf_peers(frame: pd.DataFrame, folds: int, seed: int) -> tuple[dict, dict, float]:
    """Flagged rows of both peers (1-based) and the seconds they took together."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    names = sorted(set(frame["label"]))
    y = np.array([names.index(n) for n in frame["label"]])
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=10.0, max_iter=1000),
    )
    cut = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probs = cross_val_predict(model, frame["text"].tolist(), y, cv=cut, method="predict_proba")
    disagree = {int(i) + 1 for i in np.flatnonzero(probs.argmax(1) != y)}
    cleanlab = {int(i) + 1 for i in label_issues(y, probs)}
    return disagree, cleanlab, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noise", type=float, default=0.05, help="share of labels flipped")
    parser.add_argument("--rows", type=int, default=0, help="first N training rows (0: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = pd.read_csv(shared_csv("banking77", "train"), dtype=str, keep_default_na=False)
    if args.rows:
        frame = frame.sample(args.rows, random_state=args.seed).reset_index(drop=True)
    noisy, flipped = noisy_copy(frame, args.noise, args.seed)
    print(f"BANKING77 train: {len(frame)} rows, {len(flipped)} labels flipped", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "banking77-noisy.csv"
        noisy.to_csv(path, index=False)
        start = time.perf_counter()
        result = audit_file(
            str(path),
            {},
            runs_dir=Path(tmp) / "runs",
            folds=args.folds,
            seed=args.seed,
            progress=_progress,
        )
        audit_s = time.perf_counter() - start
    ours = scores({r.row for r in result.flagged}, flipped)
    disagree, cleanlab, peer_s = tfidf_peers(noisy, result.folds, args.seed)
    peers = {
        "tfidf disagreement": scores(disagree, flipped),
        "cleanlab on tfidf": scores(cleanlab, flipped),
    }
    rows = [["tuneforge label audit (MiniLM + LR + cleanlab)", *_cells(ours), f"{audit_s:.0f}"]]
    rows += [[name, *_cells(s), f"{peer_s:.0f} (both)"] for name, s in peers.items()]
    print_table(["method", "flagged", "precision", "recall", "F1", "seconds"], rows)
    for name, s in peers.items():
        print(f"F1 ratio, tuneforge / {name}: {ours['f1'] / s['f1']:.2f}" if s["f1"] else "")
    print(f"method: {result.method}; model: {result.model}")
    for note in result.notes:
        print(f"note: {note}")
    out = Path("bench/results") / f"label-audit-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "rows": len(frame),
        "flipped": len(flipped),
        "noise": args.noise,
        "seed": args.seed,
        "folds": result.folds,
        "tuneforge": {**ours, "seconds": audit_s, "method": result.method, "model": result.model},
        "notes": list(result.notes),
        "peers": {**peers, "seconds_both": peer_s},
    }
    out.write_text(json.dumps(record, indent=1))
    print(f"written: {out}")


def _progress(done: int, total: int, note: str) -> None:
    if note != "embedding" or done == total or done % 2048 == 0:
        print(f"{note}: {done}/{total}", file=sys.stderr, flush=True)


def _cells(s: dict) -> list[str]:
    return [str(s["flagged"]), f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}"]


if __name__ == "__main__":
    main()
