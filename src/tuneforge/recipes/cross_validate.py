"""cross_validate: stratified K-fold training — K ordinary runs and a parent run that sums them up.

On a small data set one 10% test split is a few dozen examples, and its accuracy moves by
points with the seed. Here every example is tested once: scikit-learn's StratifiedKFold cuts
the training file into K folds with each label's share kept; fold k trains a normal run
``<name>-fold<k>`` on the other folds (its validation split cut from them, as ``train`` cuts
one) and is tested on fold k. The parent run ``<name>`` holds no model: its eval.json has every
metric as mean ± standard deviation over the folds and the pooled out-of-fold figures, its
oof.npz the out-of-fold probabilities of every example (what a label audit reads), its
data/train split the examples in that order, and its report both.

Everything that can be checked (the fold count, each label's size, the fold run names) is
checked before the first run directory is made.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import RunConfig, dump_config, to_dict
from ..data import stratified_split
from ..errors import ConfigError, DataError, RunError
from ..evaluate.metrics import classification_metrics, confused_pairs, expected_calibration_error
from ..evaluate.slices import example_groups, slice_report
from ..store import RunDir, RunRecorder, new_run_id, open_store
from ..store.names import check_name
from ..tasks import Task, open_task
from ..track import NO_TRACKING, Tracking
from ..types import DatasetSplits
from .train import TrainRunResult, resolved_config, run_train, track_facts, track_outcome

FOLD_METRICS = ("accuracy", "macro_f1", "weighted_f1", "expected_calibration_error")
MAX_FOLDS = 20


@dataclass
class CrossValResult:
    run_id: str
    run_dir: Path
    fold_ids: list[str]
    eval: dict  # the parent's eval.json
    oof_path: Path
    report_path: Path


def fold_name(parent: str, k: int) -> str:
    """``<parent>-fold<k>``, k from 1, checked against the name rule."""
    return check_name(f"{parent}-fold{k}", "fold run name")


def _check_request(cfg: RunConfig, folds: int) -> None:
    if cfg.privacy.mode == "dp":
        raise ConfigError(
            "--folds with --privacy dp is not supported: each example trains K-1 of the K "
            "fold models, so their privacy budgets add up, which the folds do not account.",
            hint="Train one private run without --folds.",
        )
    if not isinstance(folds, int) or not 2 <= folds <= MAX_FOLDS:
        raise ConfigError(
            f"--folds {folds}: cross-validation needs between 2 and {MAX_FOLDS} folds.",
            hint="5 is the usual choice.",
        )
    files = (("--val", cfg.data.val_file), ("--test", cfg.data.test_file))
    given = [flag for flag, path in files if path]
    if given:
        raise ConfigError(
            f"--folds with {' and '.join(given)}: each fold is tested on its held-out fold and "
            "cuts its validation split from the others.",
            hint=f"Leave out {' and '.join(given)}, or train one run without --folds.",
        )


def _check_sizes(data: DatasetSplits, folds: int, source: str) -> None:
    """Every label needs an example in each fold, or some fold's training would lack it."""
    counts = Counter(e.label for e in data.train)
    small = sorted((k for k, v in counts.items() if v < folds), key=lambda k: counts[k])
    if small:
        named = ", ".join(f"{k!r} ({counts[k]})" for k in small[:10])
        more = f" and {len(small) - 10} more" if len(small) > 10 else ""
        raise DataError(
            f"{source}: {len(small)} label(s) have fewer examples than the {folds} folds: "
            f"{named}{more}. Each fold must hold one of every label.",
            hint="Use fewer folds, or add examples of those labels.",
        )


def _check_free(runs_dir: Path, names: list[str]) -> None:
    taken = [n for n in names if (runs_dir / n).exists() and any((runs_dir / n).iterdir())]
    if taken:
        raise RunError(
            f"Run directories {', '.join(str(runs_dir / n) for n in taken)} already exist.",
            hint="Choose another --name.",
        )


def fold_indices(labels: list[str], folds: int, seed: int) -> list[np.ndarray]:
    """The held-out positions of each fold, stratified by label, shuffled with ``seed``."""
    from sklearn.model_selection import StratifiedKFold

    cut = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [test for _, test in cut.split(np.zeros(len(labels)), labels)]


def fold_splits(
    data: DatasetSplits, held_out: np.ndarray, k: int, folds: int, val_fraction: float, seed: int
) -> DatasetSplits:
    """Fold ``k``: train and validation from the other folds, test the held-out one."""
    out = set(held_out.tolist())
    rest = [e for i, e in enumerate(data.train) if i not in out]
    train, val, _ = stratified_split(rest, val_fraction, 0.0, seed)
    source = data.source.get("train", "data")
    digest = hashlib.sha256(f"{data.fingerprint}:{folds}:{seed}:{k}".encode()).hexdigest()
    return DatasetSplits(
        train=train,
        val=val,
        test=[data.train[i] for i in sorted(out)],
        labels=data.labels,
        fingerprint=digest[:16],
        source={
            **data.source,
            "train": f"folds other than {k} of {folds} of {source}",
            "val": f"split from folds other than {k} of {folds} of {source}",
            "test": f"fold {k} of {folds} of {source}",
        },
    )


def _load_whole(cfg: RunConfig) -> tuple[Task, DatasetSplits]:
    """The task (its config the parent's) and every example of the training file, validated."""
    whole = replace(cfg, data=replace(cfg.data, val_fraction=0.0, test_fraction=0.0))
    task = open_task(whole)
    if not task.supports_folds:
        raise ConfigError(f"--folds does not work on {task.name} runs.", hint="Leave out --folds.")
    task.check_slices(cfg.data.slices)
    data = task.load_data()
    task.cfg = cfg
    return task, data


def run_cross_validation(
    cfg: RunConfig,
    folds: int,
    *,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    tracking: Tracking | None = None,
) -> CrossValResult:
    """Train ``folds`` runs on stratified folds of the training file and record the parent run
    that sums them up (see the module docstring); with ``tracking`` the folds are tracked as
    children of the parent's run."""
    tracking = (tracking or NO_TRACKING).check()
    _check_request(cfg, folds)
    cfg = resolved_config(cfg)
    task, data = _load_whole(cfg)
    _check_sizes(data, folds, data.source.get("train", "data"))
    for warning in task.warnings(data):
        log(warning)
    runs_dir = Path(cfg.runs_dir)
    parent = new_run_id(cfg.name)
    names = [fold_name(parent, k) for k in range(1, folds + 1)]
    _check_free(runs_dir, [parent, *names])
    cfg = replace(cfg, name=parent)
    rd = RunDir.create(runs_dir, parent)
    dump_config(cfg, rd.config_path)
    recorder = RunRecorder(rd, open_store(runs_dir))
    _start_parent(recorder, task, data, folds, names)
    log(f"run {parent}: {folds}-fold cross-validation of {len(data.train)} examples")
    with recorder.recording():  # a tracker refusing to open (required) fails the run
        opened = tracking.start(track_facts(cfg, data, parent, {}))
    with opened.closing() as track:
        children = tracking.children(track, tags={"tuneforge.parent_run": parent})
        with recorder.recording(finally_=lambda: _write_report(rd, log)):
            results = _train_folds(cfg, data, folds, names, progress, log, children)
            summary = _summarise(task, data, results, rd, folds)
            means = {k: summary["cross_validation"]["metrics"][k]["mean"] for k in FOLD_METRICS}
            recorder.store.log_metrics(parent, step=0, epoch=0.0, split="test", metrics=means)
            recorder.succeeded(fold_runs=names)
        track_outcome(track, rd, {"split": "cross-validation", **means}, 0)
    return CrossValResult(parent, rd.path, names, summary, rd.oof_path, rd.report_path)


def _start_parent(
    recorder: RunRecorder, task: Task, data: DatasetSplits, folds: int, names: list[str]
) -> None:
    cfg = task.cfg
    recorder.start(
        to_dict(cfg),
        name=recorder.run_id,
        resume=False,
        data_fingerprint=data.fingerprint,
        data_source=data.source,
        seed=cfg.train.seed,
        model_dir=task.model_ref,
        task=task.name,
        n_train=len(data.train),
        folds=folds,
        fold_runs=names,
    )
    rd = recorder.rd
    rd.data_dir.mkdir(exist_ok=True)
    task.save_split(rd.split_path("train", task.split_suffix), data.train)


def _train_folds(
    cfg: RunConfig,
    data: DatasetSplits,
    folds: int,
    names: list[str],
    progress: bool,
    log,
    tracking: Tracking | None = None,
) -> list[tuple[np.ndarray, TrainRunResult]]:
    seed = cfg.data.seed
    out = []
    labels = [e.label for e in data.train]
    for k, held_out in enumerate(fold_indices(labels, folds, seed), start=1):
        log(f"fold {k}/{folds}: {names[k - 1]}")
        split = fold_splits(data, held_out, k, folds, cfg.data.val_fraction, seed)
        result = run_train(
            replace(cfg, name=names[k - 1]),
            progress=progress,
            log=log,
            data=split,
            facts={"fold": k, "folds": folds, "fold_of": cfg.name},
            tracking=tracking,
        )
        assert result is not None  # one process: this is rank 0
        out.append((np.sort(held_out), result))
    return out


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (ddof=1) of per-fold figures, with the figures."""
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "folds": [float(v) for v in arr]}


def _summarise(task: Task, data, results, rd: RunDir, folds: int) -> dict:
    """The parent's eval.json (and oof.npz): pooled out-of-fold figures, per-fold mean ± std."""
    names = list(data.labels.names)
    probs = np.zeros((len(data.train), len(names)), dtype=np.float32)
    fold_of = np.zeros(len(data.train), dtype=np.int16)
    for k, (held_out, result) in enumerate(results, start=1):
        if list(result.eval.metrics["labels"]) != names:
            raise RunError(f"Fold {k} learnt labels {result.eval.metrics['labels']}, not {names}.")
        probs[held_out] = result.eval.probs
        fold_of[held_out] = k
    index = data.labels.label2id
    y = np.array([index[e.label] for e in data.train])
    _write_oof(rd, probs, y, names, fold_of, [e.row for e in data.train])
    pred = probs.argmax(axis=1).tolist()
    evals = [r.eval.to_dict() for _, r in results]
    summary = {
        "split": f"out-of-fold ({folds} folds)",
        **classification_metrics(y.tolist(), pred, names),
        "confused_pairs": confused_pairs(
            y.tolist(), pred, [task.item_content(e) for e in data.train], names
        ),
        "expected_calibration_error": expected_calibration_error(probs, y.tolist()),
        "cross_validation": {
            "folds": folds,
            "seed": task.cfg.data.seed,
            "runs": [r.run_id for _, r in results],
            "std": "sample standard deviation over folds (ddof=1)",
            "metrics": {m: mean_std([ev[m] for ev in evals]) for m in FOLD_METRICS},
        },
    }
    bases = [ev["baseline"] for ev in evals if ev.get("baseline")]
    if len(bases) == len(evals):
        summary["baseline"] = {
            "name": f"{bases[0].get('name', 'baseline')} (mean over folds)",
            **{m: mean_std([b[m] for b in bases])["mean"] for m in ("accuracy", "macro_f1")},
        }
    if task.cfg.data.slices:
        groups = example_groups(data.train, task.cfg.data.slices, "the out-of-fold examples")
        report = slice_report(y.tolist(), probs, groups, seed=task.cfg.train.seed)
        summary["slices"] = report.to_dict()
    rd.write_json(rd.eval_path.name, summary)
    return summary


def _write_oof(rd: RunDir, probs, y, labels: list[str], fold, rows: list[int]) -> None:
    """oof.npz, written beside and renamed into place, so a reader never sees half a file."""
    tmp = rd.path / f".{rd.oof_path.stem}.{os.getpid()}.tmp.npz"
    np.savez(
        tmp,
        probs=probs,
        y=y.astype(np.int32),
        labels=np.array(labels, dtype=str),
        fold=fold,
        rows=np.asarray(rows, dtype=np.int64),
    )
    os.replace(tmp, rd.oof_path)


def _write_report(rd: RunDir, log: Callable[[str], None]) -> None:
    from ..report import write_report

    try:
        write_report(rd.path)
    except Exception as exc:  # the report must never hide the run's own outcome
        log(f"warning: could not write {rd.report_path}: {exc}")
