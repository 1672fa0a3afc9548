"""retrain: a production model plus a queue's new labels → a candidate, compared with production
on one fixed evaluation set, promoted only when it is better by the stated margin.

The plan, top to bottom:
1. The production version (``NAME@stage``) and its run's kept splits (train, val, test).
2. The queue's labelled items (the majority label of each; ties are conflicts, left out; items
   already in the production splits are left out, so nothing is counted or tested twice).
3. The new labels split, stratified and seeded, into a part for training and a held-back part.
4. The candidate trains with the production run's recipe (its config.yaml) on production's
   train split plus the new training part, validated on production's validation split.
5. Both models predict the same evaluation set — production's test split plus the held-back
   new labels — and the comparison (overall, old test, new labels; McNemar's exact test) is
   written beside the candidate as retrain.json and retrain.html.
6. Promotion to the stage only when candidate accuracy − production accuracy ≥ ``min_gain``;
   the registry records the lineage (parent version, queue, label counts, gain).

Nothing is written to the queue, and the registry only at step 6, so a retrain killed at any
point leaves both as they were. A rerun finds the interrupted candidate run of the same
version and queue and resumes it on the data it kept, instead of starting over.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..compress.variants import TRAINED
from ..config import RETRAIN_HOLDOUT, RETRAIN_MIN_GAIN, load_config
from ..errors import DataError, RunError
from ..evaluate.compare import Comparison, compare
from ..label.queue import LabelStore, Queue, majority_labels
from ..store import ModelVersion, Registry, RunDir, list_run_dirs, open_store
from ..store.refs import parse_model_ref, resolve_version
from ..tasks import Task, open_task
from ..track import NO_TRACKING, RunFacts, Tracking, tracked
from ..types import DatasetSplits, LabelMap
from .registry import version_privacy


@dataclass(frozen=True)
class RetrainPlan:
    name: str
    stage: str
    parent: ModelVersion
    parent_run: RunDir
    queue: Queue
    labelled: int  # queue items with a label
    conflicts: int  # of which tied between annotators: left out
    already_known: int  # of which already in the production splits: left out
    new_train: list
    held_back: list
    data: DatasetSplits  # what the candidate trains and is tested on
    old_test: int  # production's test examples at the start of data.test
    new_labels: list[str]  # labels the production model does not know
    min_gain: float

    def summary(self) -> dict:
        return {
            "model": f"{self.name}@{self.stage}",
            "parent": f"v{self.parent.version} ({self.parent.run_id})",
            "queue": self.queue.name,
            "labelled_items": self.labelled,
            "conflicts_left_out": self.conflicts,
            "already_in_training_data": self.already_known,
            "new_for_training": len(self.new_train),
            "new_held_back": len(self.held_back),
            "train": len(self.data.train),
            "val": len(self.data.val),
            "evaluation_set": len(self.data.test),
            "new_labels": self.new_labels,
            "min_gain": self.min_gain,
        }


@dataclass(frozen=True)
class RetrainResult:
    plan: RetrainPlan
    candidate: RunDir | None = None
    comparison: Comparison | None = None
    promoted: ModelVersion | None = None
    decision: str = ""


def _production(ref: str, runs_dir: Path) -> tuple[str, str, ModelVersion, RunDir]:
    parsed = parse_model_ref(ref)
    if parsed is None or parsed.stage is None:
        raise RunError(
            f"'{ref}' is not a registry reference NAME@stage.",
            hint="Retrain a registered model, e.g. 'tuneforge retrain intents@production'.",
        )
    store = open_store(runs_dir)
    version = resolve_version(Registry(store), parsed)
    record = store.get(version.run_id)
    run = RunDir(Path(record.run_dir)) if record else RunDir(Path(version.artifact).parents[1])
    return parsed.name, parsed.stage, version, run


def _kept_splits(task: Task, run: RunDir) -> dict[str, list]:
    splits = {}
    for split in ("train", "val", "test"):
        path = run.split_path(split, task.split_suffix)
        if not path.is_file():
            raise RunError(
                f"Run '{run.run_id}' kept no {split} split ({path} is missing), so it cannot "
                "be retrained on the same data.",
                hint="Retrain a version trained by this tuneforge, or train anew on the data "
                "plus the exported labels.",
            )
        splits[split] = task.load_split(path)
    return splits


def _new_examples(task: Task, labels: LabelStore, queue: Queue, known: set[str]):
    """(examples, labelled, conflicts, already known) of the queue's labelled items."""
    resolved, ties = majority_labels(labels.annotations(queue))
    items = labels.items_by_id(queue, resolved)
    examples, duplicates = [], 0
    for n, item_id in enumerate(sorted(resolved), start=1):
        item = items[item_id]
        if item.fingerprint in known:
            duplicates += 1
            continue
        examples.append(task.example(item.content, resolved[item_id], n))
    return examples, len(resolved) + len(ties), len(ties), duplicates


def _split_new(examples: list, holdout: float, seed: int) -> tuple[list, list]:
    from ..data.split import stratified_split

    try:
        train, _, held = stratified_split(examples, 0.0, holdout, seed)
    except DataError as exc:
        raise DataError(
            f"{len(examples)} new labelled items are too few to hold back {holdout:.0%} for "
            f"the comparison: {exc.message}",
            hint="Label more items, or lower --holdout.",
        ) from None
    return train, held


def plan_retrain(
    ref: str,
    queue_name: str,
    runs_dir: Path,
    *,
    holdout: float = RETRAIN_HOLDOUT,
    min_gain: float = RETRAIN_MIN_GAIN,
    seed: int = 0,
) -> RetrainPlan:
    """Everything a retrain would do, decided and checked before anything is trained."""
    if not 0.0 < holdout < 1.0:
        raise RunError(f"--holdout must be between 0 and 1, got {holdout}.")
    name, stage, parent, run = _production(ref, runs_dir)
    task = open_task(run)
    labels = LabelStore(open_store(runs_dir))
    queue = labels.queue(queue_name)
    if queue.task != task.name:
        raise RunError(
            f"Queue '{queue.name}' holds {queue.task} items; {name}@{stage} is a {task.name} model."
        )
    base = _kept_splits(task, run)
    known = {task.item_fingerprint(task.item_content(e)) for split in base.values() for e in split}
    examples, labelled, conflicts, duplicates = _new_examples(task, labels, queue, known)
    if not examples:
        raise RunError(
            f"Queue '{queue.name}' has no new labelled items to retrain on ({labelled} "
            f"labelled: {conflicts} in conflict, {duplicates} already in the training data).",
            hint=f"Label items first: tuneforge label next --queue {queue.name} ...",
        )
    new_train, held = _split_new(examples, holdout, seed)
    train = [*base["train"], *new_train]
    test = [*base["test"], *held]
    parent_labels = set(_labels_of(base))
    data = DatasetSplits(
        train=train,
        val=base["val"],
        test=test,
        labels=LabelMap.from_labels(e.label for e in train),
        fingerprint=_fingerprint(
            parent.run_id,
            queue,
            [task.item_content(e) for e in examples],
            [e.label for e in examples],
        ),
        source={
            "train": f"{run.run_id} + queue {queue.name}",
            "val": run.run_id,
            "test": f"{run.run_id} test + held-back labels of queue {queue.name}",
        },
    )
    new_labels = sorted({e.label for e in examples} - parent_labels)
    return RetrainPlan(
        name,
        stage,
        parent,
        run,
        queue,
        labelled,
        conflicts,
        duplicates,
        new_train,
        held,
        data,
        len(base["test"]),
        new_labels,
        min_gain,
    )


def _labels_of(base: dict[str, list]) -> list[str]:
    return sorted({e.label for split in base.values() for e in split})


def _fingerprint(parent_run: str, queue: Queue, contents: list[str], labels: list[str]) -> str:
    """The same parent, queue and new labels give the same fingerprint: how a rerun finds the
    candidate an interrupted retrain left."""
    import hashlib

    digest = hashlib.sha256(f"{parent_run}|{queue.name}".encode())
    for content, label in zip(contents, labels):
        digest.update(f"|{content}\t{label}".encode())
    return digest.hexdigest()[:16]


def _interrupted_candidate(runs_dir: Path, plan: RetrainPlan) -> RunDir | None:
    """A candidate of the same parent version, queue and data that did not finish."""
    for run in list_run_dirs(runs_dir):
        status = run.status()
        if (
            status.get("retrain_of") == f"{plan.name}:v{plan.parent.version}"
            and status.get("retrain_queue") == plan.queue.name
            and status.get("data_fingerprint") == plan.data.fingerprint
            and status.get("state") in ("running", "failed", "interrupted")
        ):
            return run
    return None


def _train_candidate(
    plan: RetrainPlan, runs_dir: Path, progress: bool, log, tracking: Tracking
) -> RunDir:
    from .train import run_train

    parent = {"parent_run": plan.parent.run_id}
    previous = _interrupted_candidate(runs_dir, plan)
    if previous is not None:
        log(f"resuming the interrupted candidate {previous.run_id}")
        task = open_task(previous)
        data = replace(
            plan.data,
            **{
                s: task.load_split(previous.split_path(s, task.split_suffix))
                for s in ("train", "val", "test")
            },
        )
        result = run_train(
            load_config(previous.config_path),
            resume=previous.run_id,
            progress=progress,
            log=log,
            data=data,
            facts=parent,
            tracking=tracking,
        )
        return RunDir(result.run_dir)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    cfg = replace(
        load_config(plan.parent_run.config_path),
        runs_dir=str(runs_dir),
        name=f"{plan.name}-retrain-{stamp}",
    )
    facts = {
        "retrain_of": f"{plan.name}:v{plan.parent.version}",
        "retrain_queue": plan.queue.name,
        **parent,
    }
    result = run_train(
        cfg, progress=progress, log=log, data=plan.data, facts=facts, tracking=tracking
    )
    return RunDir(result.run_dir)


def _predicted(artifact: Path, examples: list) -> list[str]:
    from ..evaluate.evaluate import model_input
    from ..predict import load_predictor

    predictor = load_predictor(artifact)
    probs = predictor.predict_proba([model_input(e) for e in examples])
    return [predictor.labels[i] for i in probs.argmax(axis=1)]


def _compare(plan: RetrainPlan, candidate: RunDir) -> Comparison:
    test = plan.data.test
    truth = [e.label for e in test]
    production = _predicted(Path(plan.parent.artifact), test)
    new = _predicted(candidate.saved_model_dir(), test)
    parts = {
        "production test split": range(plan.old_test),
        "held-back new labels": range(plan.old_test, len(test)),
    }
    return compare(truth, production, new, parts)


def _decide(plan: RetrainPlan, comparison: Comparison) -> tuple[bool, str]:
    gain = comparison.gain
    rule = (
        f"accuracy gain {gain:+.4f} on {len(plan.data.test)} examples "
        f"(needs ≥ {plan.min_gain:+.4f}; McNemar p = {comparison.mcnemar_p:.3g})"
    )
    return gain >= plan.min_gain, rule


def run_retrain(
    ref: str,
    queue_name: str,
    runs_dir: Path,
    *,
    holdout: float = RETRAIN_HOLDOUT,
    min_gain: float = RETRAIN_MIN_GAIN,
    seed: int = 0,
    dry_run: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    tracking: Tracking | None = None,
) -> RetrainResult:
    """Plan, train the candidate, compare, write the report, promote if it gains enough.
    With ``tracking`` the candidate is a tracked run (tagged with production's run as its
    parent) that also gets the comparison and its page."""
    plan = plan_retrain(ref, queue_name, runs_dir, holdout=holdout, min_gain=min_gain, seed=seed)
    if dry_run:
        return RetrainResult(plan, decision="dry run: nothing trained or promoted")
    tracking = (tracking or NO_TRACKING).check()
    candidate = _train_candidate(plan, runs_dir, progress, log, tracking)
    comparison = _compare(plan, candidate)
    passed, rule = _decide(plan, comparison)
    _write_report(plan, candidate, comparison, passed, rule)
    _track_comparison(tracking, candidate, comparison, passed)
    if not passed:
        return RetrainResult(plan, candidate, comparison, None, f"not promoted: {rule}")
    lineage = {
        **plan.summary(),
        "parent_version": plan.parent.version,
        "parent_run": plan.parent.run_id,
        "gain": comparison.gain,
        "mcnemar_p": comparison.mcnemar_p,
    }
    promoted = Registry(open_store(runs_dir)).promote(
        plan.name,
        candidate.run_id,
        "trained",
        str(candidate.saved_model_dir().resolve()),
        plan.stage,
        note=f"retrained: {rule}",
        lineage=lineage,
        privacy=version_privacy(candidate, TRAINED),
    )
    return RetrainResult(plan, candidate, comparison, promoted, f"promoted: {rule}")


def _track_comparison(
    tracking: Tracking, candidate: RunDir, comparison: Comparison, passed: bool
) -> None:
    """The comparison's figures and pages on the candidate's tracked run (reopened)."""
    if not tracking:
        return
    figures = {
        "retrain/gain": comparison.gain,
        "retrain/mcnemar_p": comparison.mcnemar_p,
        "retrain/promoted": float(passed),
    }
    with tracked(tracking, RunFacts(candidate.run_id)) as run:
        run.log_values(figures, 0)
        run.log_files([candidate.retrain_path, candidate.retrain_report_path])


def _write_report(
    plan: RetrainPlan, candidate: RunDir, comparison: Comparison, passed: bool, rule: str
) -> None:
    from ..report.retrain import retrain_page

    record = {
        "plan": plan.summary(),
        "comparison": comparison.to_dict(),
        "promoted": passed,
        "rule": rule,
        "candidate": candidate.run_id,
    }
    candidate.write_json(candidate.retrain_path.name, record)
    candidate.retrain_report_path.write_text(retrain_page(record), encoding="utf-8")
