"""Active learning on BANKING77: test accuracy against labels used, per selection strategy.

Start from 2 labelled examples per intent, then add labels in rounds from the rest of the
official training set (its true labels play the annotator); after every round the round model
is retrained on the labelled set and scored on the official test set. The test set is never
used for selection or early stopping. Selection goes through ``tuneforge.label.strategies.rank``,
the ranking ``tuneforge label next`` hands out.

Round models (``--model``):
  finetune  tuneforge's default text fine-tune (run_train, default config) on the labelled set,
            retrained from the pretrained model every round (no warm start). Early stopping uses
            a fixed validation slice of 1 example per intent cut from the training set before
            the first round (77 labels, counted separately and included in the label fraction).
            The pool is scored with the run's saved predictor (``embed`` for diverse).
  frozen    the packaged all-MiniLM-L6-v2 frozen, mean-pooled embeddings (computed once and
            cached), standardised with the mean/std of all training embeddings (no labels),
            then scikit-learn LogisticRegression per round; features for diverse = embeddings.

Labels needed to reach a target are interpolated linearly between rounds on the mean curve
(and the first budget whose mean reaches it is given beside). The full-data reference is the
same round model trained on every training label, per seed.

    python bench/active_learning.py --model frozen
    python bench/active_learning.py --model frozen --rounds 154,300 --seeds 1
    python bench/active_learning.py --model finetune --limit-pool 500 --limit-test 500 \
        --rounds 154,200 --seeds 1
    python bench/active_learning.py --model finetune --seeds 1 --override train.epochs=20
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).parent))
from common import mean_std, print_table, read_split, shared_csv  # noqa: E402

from tuneforge.label.strategies import rank  # noqa: E402
from tuneforge.report.markup import Raw, escape, table  # noqa: E402
from tuneforge.report.plots import figure_data_uri, new_figure  # noqa: E402
from tuneforge.types import DatasetSplits, Example, LabelMap  # noqa: E402

DATASET = "banking77"
DEFAULT_ROUNDS = "154,300,600,1000,1500,2000,3000,4000"
TARGET = 90.0  # % test accuracy
WITHIN = 1.0  # points below full-data accuracy
GOAL_FRACTION = 0.40  # best strategy within 1 point using at most this share of the labels
GOAL_RATIO = 1.5  # random needs at least this many times the best strategy's labels for 90%
CACHE = Path("bench/results/cache")


@dataclass
class Bench:
    """Texts and label ids of the pool (training set minus validation) and the test set."""

    pool_texts: list[str]
    pool_y: np.ndarray
    test_texts: list[str]
    test_y: np.ndarray
    labels: LabelMap
    val: list[Example] = field(default_factory=list)


@dataclass
class Scored:
    """One trained round model: its test accuracy (%) and what selection needs of the pool."""

    accuracy: float
    probs: np.ndarray  # rows = the unlabelled positions asked for, columns = labels
    features: np.ndarray | None


def load_bench(args: argparse.Namespace, val_per_label: int) -> Bench:
    """The official splits, a fixed validation slice (finetune) and the optional limits."""
    texts, names = read_split(DATASET, "train")
    test_texts, test_names = read_split(DATASET, "test")
    labels = LabelMap.from_labels(names)
    y = np.array(labels.ids(names))
    rng = np.random.default_rng(12345)  # the same slice and limits whatever the seeds
    val_idx = [
        int(i)
        for c in range(len(labels))
        for i in rng.permutation(np.flatnonzero(y == c))[:val_per_label]
    ]
    rest = np.setdiff1d(np.arange(len(y)), val_idx)
    if args.limit_pool:
        rest = np.sort(rng.permutation(rest)[: args.limit_pool])
    test_idx = np.arange(len(test_texts))
    if args.limit_test:
        test_idx = np.sort(rng.permutation(test_idx)[: args.limit_test])
    return Bench(
        pool_texts=[texts[i] for i in rest],
        pool_y=y[rest],
        test_texts=[test_texts[i] for i in test_idx],
        test_y=np.array(labels.ids([test_names[i] for i in test_idx])),
        labels=labels,
        val=[Example(texts[i], names[i], i + 2) for i in val_idx],
    )


def _full_width(probs: np.ndarray, classes: np.ndarray, n_labels: int) -> np.ndarray:
    out = np.zeros((len(probs), n_labels))
    out[:, classes] = probs
    return out


class FrozenModel:
    """Frozen MiniLM embeddings + logistic regression: seconds per round."""

    name = "frozen"
    description = (
        "frozen packaged all-MiniLM-L6-v2 mean-pooled embeddings (standardised) + scikit-learn "
        "LogisticRegression (lbfgs, C=1, max_iter=2000) per round; no warm start needed"
    )

    def __init__(self, bench: Bench, progress: Progress) -> None:
        self.bench = bench
        pool = self._embed(bench.pool_texts, "pool", progress)
        test = self._embed(bench.test_texts, "test", progress)
        mean, std = pool.mean(0), pool.std(0) + 1e-6
        self.pool, self.test = (pool - mean) / std, (test - mean) / std

    def _embed(self, texts: list[str], what: str, progress: Progress) -> np.ndarray:
        from tuneforge.config import ModelConfig
        from tuneforge.models import default_model_dir, load_model
        from tuneforge.predict import TorchPredictor

        model_dir = default_model_dir()
        key = hashlib.sha256(("\n".join(texts) + f"|{model_dir.name}|128").encode()).hexdigest()
        path = CACHE / f"minilm-{key[:16]}.npy"
        if path.is_file():
            return np.load(path)
        task = progress.add_task(f"embedding {what} ({len(texts)} texts)", total=len(texts))
        predictor = TorchPredictor(load_model(ModelConfig(), self.bench.labels))
        chunks = []
        for start in range(0, len(texts), 512):
            chunks.append(predictor.embed(texts[start : start + 512]))
            progress.advance(task, len(chunks[-1]))
        emb = np.concatenate(chunks).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
        return emb

    def train(
        self,
        labelled: np.ndarray,
        unlabelled: np.ndarray,
        seed: int,
        need_features: bool,
        need_probs: bool,
    ) -> Scored:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        lr.fit(self.pool[labelled], self.bench.pool_y[labelled])
        accuracy = 100.0 * float((lr.predict(self.test) == self.bench.test_y).mean())
        n = len(self.bench.labels)
        if not len(unlabelled):
            return Scored(accuracy, np.zeros((0, n)), None)
        probs = _full_width(lr.predict_proba(self.pool[unlabelled]), lr.classes_, n)
        return Scored(accuracy, probs, self.pool[unlabelled] if need_features else None)


class FinetuneModel:
    """tuneforge's default text fine-tune, one run per round in a temporary runs folder."""

    name = "finetune"
    description = (
        "tuneforge default text fine-tune (recipes.train.run_train, default config) per round, "
        "retrained from the pretrained model every round (no warm start); validation = a fixed "
        "slice of 1 training example per intent, outside the pool; pool scored with the saved "
        "model's TorchPredictor (predict_proba; embed for diverse)"
    )

    def __init__(self, bench: Bench, progress: Progress, overrides: list[str]) -> None:
        self.bench = bench
        self.overrides = overrides
        self.runs = Path(tempfile.mkdtemp(prefix="tuneforge-al-"))
        self.counter = itertools.count()  # run names must be new: the store keeps every run
        self.test = [
            Example(t, self.bench.labels.names[c], i + 2)
            for i, (t, c) in enumerate(zip(bench.test_texts, bench.test_y))
        ]

    def train(
        self,
        labelled: np.ndarray,
        unlabelled: np.ndarray,
        seed: int,
        need_features: bool,
        need_probs: bool,
    ) -> Scored:
        import shutil

        from tuneforge.config import load_config
        from tuneforge.predict import load_predictor
        from tuneforge.recipes.train import run_train

        names = self.bench.labels.names
        train = [
            Example(self.bench.pool_texts[i], names[self.bench.pool_y[i]], int(i) + 2)
            for i in labelled
        ]
        digest = hashlib.sha256(json.dumps([seed, labelled.tolist()]).encode()).hexdigest()[:16]
        data = DatasetSplits(
            train,
            self.bench.val,
            self.test,
            self.bench.labels,
            digest,
            source={"train": "labelled set", "val": "validation slice", "test": "official test"},
        )
        cfg = load_config(
            overrides=[
                "data.task=text",
                f"data.seed={seed}",
                f"train.seed={seed}",
                f"runs_dir={self.runs}",
                f"name=al-{next(self.counter)}-{len(labelled)}",
                *self.overrides,
            ]
        )
        result = run_train(cfg, progress=False, log=lambda m: None, data=data)
        accuracy = 100.0 * float(result.eval.accuracy)
        pool = [self.bench.pool_texts[i] for i in unlabelled]
        probs = np.zeros((len(pool), len(names)))
        features = None
        if need_probs or need_features:
            predictor = load_predictor(result.run_dir / "artifacts" / "model")
            assert tuple(predictor.labels) == names, (
                "the run's label order differs from the bench's"
            )
            probs = predictor.predict_proba(pool)
            features = predictor.embed(pool) if need_features else None
        shutil.rmtree(result.run_dir, ignore_errors=True)
        return Scored(accuracy, probs, features)


def initial_labels(y: np.ndarray, per_label: int, seed: int) -> np.ndarray:
    """``per_label`` random examples of every intent (fewer where the pool has fewer)."""
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(y == c))[:per_label] for c in np.unique(y)]
    return np.sort(np.concatenate(picks))


def run_curve(
    model, strategy: str, budgets: list[int], seed: int, progress: Progress, task
) -> list[dict]:
    """One strategy, one seed: train at every budget, select the next batch through rank()."""
    n = len(model.bench.pool_y)
    labelled = initial_labels(model.bench.pool_y, 2, seed)
    points = []
    for r, budget in enumerate(budgets):
        if len(labelled) < budget:  # the first budget above the initial set: top up at random
            extra = rank(
                "random", np.zeros((n - len(labelled), 1)), budget - len(labelled), seed=seed
            )
            rest = np.setdiff1d(np.arange(n), labelled)
            labelled = np.sort(
                np.concatenate([labelled, rest[extra.order[: budget - len(labelled)]]])
            )
        unlabelled = np.setdiff1d(np.arange(n), labelled)
        last = r == len(budgets) - 1
        start = time.perf_counter()
        scored = model.train(
            labelled,
            unlabelled,
            seed,
            strategy == "diverse" and not last,
            strategy != "random" and not last,
        )
        points.append(
            {
                "labels": int(len(labelled)),
                "accuracy": scored.accuracy,
                "round_s": time.perf_counter() - start,
            }
        )
        progress.advance(task)
        if last:
            break
        count = min(budgets[r + 1] - len(labelled), len(unlabelled))
        ranking = rank(
            strategy, scored.probs, count, features=scored.features, seed=seed * 1000 + r
        )
        labelled = np.sort(np.concatenate([labelled, unlabelled[ranking.order[:count]]]))
    return points


def labels_to_reach(
    curve: list[tuple[int, float]], target: float
) -> tuple[float | None, int | None]:
    """(linearly interpolated labels, first budget) at which the mean curve reaches ``target``."""
    for i, (labels, acc) in enumerate(curve):
        if acc >= target:
            if i == 0:
                return float(labels), labels
            (l0, a0) = curve[i - 1]
            return l0 + (target - a0) / (acc - a0) * (labels - l0), labels
    return None, None


def summarise(results: dict, budgets: list[int], full: list[float], n_total: int, val: int) -> dict:
    """Per strategy: the mean/std curve, labels to 90% and to full-data − 1, and the goals."""
    full_mean = statistics.mean(full)
    out = {"full_data_accuracy": full, "full_data_mean": full_mean, "strategies": {}}
    for strategy, seeds in results.items():
        per_budget = [[s[i]["accuracy"] for s in seeds.values()] for i in range(len(budgets))]
        mean = [statistics.mean(v) for v in per_budget]
        curve = list(zip(budgets, mean))
        to_target = labels_to_reach(curve, TARGET)
        to_full = labels_to_reach(curve, full_mean - WITHIN)
        out["strategies"][strategy] = {
            "seeds": len(seeds),
            "mean": mean,
            "std": [statistics.stdev(v) if len(v) > 1 else 0.0 for v in per_budget],
            "to_90": {"interpolated": to_target[0], "first_budget": to_target[1]},
            "to_full_minus_1": {"interpolated": to_full[0], "first_budget": to_full[1]},
        }
    chosen = {k: v for k, v in out["strategies"].items() if k != "random"}
    at_90 = {k: v["to_90"]["interpolated"] for k, v in chosen.items() if v["to_90"]["interpolated"]}
    at_full = {
        k: v["to_full_minus_1"]["interpolated"]
        for k, v in chosen.items()
        if v["to_full_minus_1"]["interpolated"]
    }
    random_90 = out["strategies"].get("random", {}).get("to_90", {}).get("interpolated")
    best_90 = min(at_90, key=at_90.get) if at_90 else None
    best_full = min(at_full, key=at_full.get) if at_full else None
    limit = GOAL_FRACTION * n_total
    out["goals"] = {
        "labels_total": n_total,
        "validation_labels": val,
        "best_to_full_minus_1": best_full,
        "within_1_point_at_40pct": bool(best_full and at_full[best_full] + val <= limit),
        "best_to_90": best_90,
        "random_over_best_at_90": (random_90 / at_90[best_90]) if (random_90 and best_90) else None,
    }
    ratio = out["goals"]["random_over_best_at_90"]
    out["goals"]["ratio_1_5x_at_90"] = bool(ratio and ratio >= GOAL_RATIO)
    return out


def _fmt(value: float | None, first: int | None) -> str:
    return "not reached" if value is None else f"{value:,.0f} (first budget {first:,})"


def report_tables(summary: dict, budgets: list[int], n_total: int) -> tuple[list, list, list, list]:
    strategies = summary["strategies"]
    acc_headers = ["labels used", "% of pool", *strategies]
    acc_rows = [
        [f"{b:,}", f"{100 * b / n_total:.1f}", *(_mstd(s, i) for s in strategies.values())]
        for i, b in enumerate(budgets)
    ]
    need_headers = ["strategy", f"labels to {TARGET:.0f}%", f"labels to full − {WITHIN:.0f} pt"]
    need_rows = [
        [k, _fmt(**_unpack(v["to_90"])), _fmt(**_unpack(v["to_full_minus_1"]))]
        for k, v in strategies.items()
    ]
    return acc_headers, acc_rows, need_headers, need_rows


def _mstd(s: dict, i: int) -> str:
    if s["seeds"] == 1:
        return f"{s['mean'][i]:.2f}"
    return f"{s['mean'][i]:.2f} ± {s['std'][i]:.2f}"


def _unpack(d: dict) -> dict:
    return {"value": d["interpolated"], "first": d["first_budget"]}


def goal_lines(summary: dict, n_total: int) -> list[str]:
    g = summary["goals"]
    ratio = g["random_over_best_at_90"]
    best_full = g["best_to_full_minus_1"]
    full_labels = (
        summary["strategies"][best_full]["to_full_minus_1"]["interpolated"] if best_full else None
    )
    share = (full_labels + g["validation_labels"]) / n_total if full_labels else None
    return [
        f"full-data accuracy: {mean_std(summary['full_data_accuracy'])} % "
        f"(all {n_total:,} pool labels)",
        f"within {WITHIN:.0f} point of full data with ≤ {GOAL_FRACTION:.0%} of the labels: "
        + ("met" if g["within_1_point_at_40pct"] else "NOT met")
        + (
            f" ({best_full}: {share:.1%} of the labels incl. {g['validation_labels']} validation)"
            if share
            else " (no strategy got within 1 point)"
        ),
        f"≥ {GOAL_RATIO}x fewer labels than random to reach {TARGET:.0f}%: "
        + ("met" if g["ratio_1_5x_at_90"] else "NOT met")
        + (
            f" (random / {g['best_to_90']} = {ratio:.2f}x)"
            if ratio
            else " (random or every strategy did not reach 90%)"
        ),
    ]


def curves_png(summary: dict, budgets: list[int], title: str) -> str:
    fig = new_figure(7.5, 4.5)
    ax = fig.add_subplot()
    for name, s in summary["strategies"].items():
        mean, std = np.array(s["mean"]), np.array(s["std"])
        ax.plot(budgets, mean, marker="o", label=name)
        ax.fill_between(budgets, mean - std, mean + std, alpha=0.15)
    full = summary["full_data_mean"]
    ax.axhline(full, color="black", linestyle="--", linewidth=1, label=f"full data {full:.2f}%")
    ax.axhline(
        full - WITHIN, color="grey", linestyle=":", linewidth=1, label=f"full − {WITHIN:.0f} pt"
    )
    ax.axhline(TARGET, color="red", linestyle=":", linewidth=1, label=f"{TARGET:.0f}%")
    ax.set_xlabel("labels used")
    ax.set_ylabel("test accuracy %")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return figure_data_uri(fig)


def write_html(path: Path, summary: dict, budgets: list[int], meta: dict) -> None:
    acc_h, acc_r, need_h, need_r = report_tables(summary, budgets, meta["pool"])
    png = curves_png(
        summary, budgets, f"BANKING77 active learning ({meta['model']}, seeds {meta['seeds']})"
    )
    items = "".join(f"<li>{escape(line)}</li>" for line in goal_lines(summary, meta["pool"]))
    numeric = tuple(range(len(acc_h)))
    facts = table(["", ""], [[k, escape(v)] for k, v in meta.items()])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Active learning</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px}}
td.num{{text-align:right}}</style></head><body>
<h1>Active learning on BANKING77 (official test)</h1>
<p><img alt="test accuracy against labels used" src="{png}"></p><ul>{items}</ul>
<h2>Test accuracy % (mean ± std over seeds)</h2>{table(acc_h, acc_r, numeric=numeric)}
<h2>Labels needed (interpolated between rounds on the mean curve)</h2>{table(need_h, need_r)}
<h2>Protocol</h2>{Raw(facts)}</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("finetune", "frozen"), default="finetune")
    parser.add_argument("--rounds", default=DEFAULT_ROUNDS, help="label budgets, comma-separated")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated")
    parser.add_argument("--strategies", default="random,margin,entropy,diverse")
    parser.add_argument(
        "--limit-pool", type=int, default=0, help="a random subset of the pool (smoke tests)"
    )
    parser.add_argument("--limit-test", type=int, default=0, help="a random subset of the test set")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="finetune: config override on top of the defaults, e.g. train.epochs=20",
    )
    parser.add_argument(
        "--out", default="bench/results/active_learning", help="path stem of .json/.html"
    )
    args = parser.parse_args()
    budgets = sorted(int(b) for b in args.rounds.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = [s.strip() for s in args.strategies.split(",")]
    started = time.perf_counter()
    bench = load_bench(args, val_per_label=1 if args.model == "finetune" else 0)
    n_pool = len(bench.pool_y)
    budgets = [b for b in budgets if b <= n_pool]
    results: dict = {s: {} for s in strategies}
    full: list[float] = []
    with Progress() as progress:
        if args.model == "finetune":
            model = FinetuneModel(bench, progress, args.override)
        else:
            model = FrozenModel(bench, progress)
        total = len(seeds) * (len(strategies) * len(budgets) + 1)
        bar = progress.add_task(f"{args.model}: rounds", total=total)
        for seed in seeds:
            everything = np.arange(n_pool)
            full.append(
                model.train(everything, np.zeros(0, dtype=int), seed, False, False).accuracy
            )
            progress.advance(bar)
            for strategy in strategies:
                results[strategy][seed] = run_curve(model, strategy, budgets, seed, progress, bar)
                last = results[strategy][seed][-1]
                progress.console.print(
                    f"seed {seed} {strategy}: {last['accuracy']:.2f}% at {last['labels']} labels"
                )
    summary = summarise(results, budgets, full, n_pool, len(bench.val))
    meta = {
        "model": args.model,
        "round model": model.description
        + (f"; overrides {' '.join(args.override)}" if args.override else ""),
        "seeds": ",".join(map(str, seeds)),
        "budgets": ",".join(map(str, budgets)),
        "pool": n_pool,
        "test examples": len(bench.test_texts),
        "validation labels": len(bench.val),
        "train file": str(shared_csv(DATASET, "train")),
        "selection": "tuneforge.label.strategies.rank; the first budget starts from 2 per intent",
        "labels to reach": "linear interpolation between rounds on the mean curve",
        "wall s": round(time.perf_counter() - started, 1),
    }
    acc_h, acc_r, need_h, need_r = report_tables(summary, budgets, n_pool)
    print_table(acc_h, acc_r)
    print_table(need_h, need_r)
    for line in goal_lines(summary, n_pool):
        print(line)
    stem = Path(args.out + ("" if args.model == "finetune" else "-frozen"))
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "summary": summary, "runs": results}, indent=1)
    )
    write_html(stem.with_suffix(".html"), summary, budgets, meta)
    html, numbers = stem.with_suffix(".html"), stem.with_suffix(".json")
    print(f"wall {meta['wall s']:.0f} s; report {html}; numbers {numbers}")


if __name__ == "__main__":
    main()
