"""label: files and production traffic into queues, the model's pick of what to label next,
items out to people (files, Label Studio) and their labels back in, agreement between them.

Every command opens the store of the runs folder (``TUNEFORGE_STORE_URL`` for a team's
PostgreSQL); each write is one transaction, so a bad file or a killed command leaves the queue
as it was.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, RunError
from ..label.formats import (
    FILE_FORMATS,
    ExternalLabel,
    export_rows,
    labels_from_rows,
    read_rows,
    write_rows,
)
from ..label.queue import (
    DEFAULT_LEASE,
    Annotation,
    AnnotationCounts,
    ImportCounts,
    Item,
    LabelStore,
    Queue,
    Suggestion,
)
from ..label.strategies import STRATEGIES, rank
from ..store import open_store
from ..tasks import TASKS

EXPORT_FORMATS = (*FILE_FORMATS, "label-studio")
_NEXT_BATCH_OF_PROBABILITIES = 512  # texts scored per step of the progress bar


def label_store(runs_dir: Path) -> LabelStore:
    return LabelStore(open_store(runs_dir))


# -- import ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    queue: Queue
    counts: ImportCounts
    skipped_empty: list[int]
    redacted: int = 0  # with --redact: items that held personal data (now placeholders)


def detect_item_task(source: str, options: dict) -> str:
    from ..config import DataConfig
    from ..data.dataset import detect_task

    path = Path(source)
    if path.is_file() and options.get("task") != "text":
        _refuse_pixel_table(path, options)
    cfg = DataConfig(
        train_file=source,
        task=options.get("task") or "auto",
        text_column=options.get("text_column"),
        image_column=options.get("image_column"),
        format=options.get("format"),
        delimiter=options.get("delimiter"),
    )
    return detect_task(cfg)


def _refuse_pixel_table(path: Path, options: dict) -> None:
    """Queue items are image files by path: a CSV of pixel values has none to queue."""
    from ..data.dataset import pixel_columns
    from ..data.readers import table_header

    try:
        columns = table_header(path, options.get("format"), delimiter=options.get("delimiter"))
    except DataError:
        return  # not a table: the readers say what it is
    if pixel_columns(columns):
        raise DataError(
            f"{path} holds images as pixel values; a labeling queue keeps image files by path.",
            hint="Save the images as files in a folder and import the folder.",
        )


def import_items(
    source: str,
    queue_name: str,
    runs_dir: Path,
    options: dict | None = None,
    labels: Sequence[str] = (),
) -> ImportResult:
    """Read ``source`` into the queue (made when new); known items are counted, not added.
    ``options["redact"]`` replaces personal data in texts by placeholders before they are
    stored (``label import --redact``)."""
    options = options or {}
    if not Path(source).exists():
        raise DataError(f"'{source}' does not exist.", hint="Pass a file or folder to import.")
    task = detect_item_task(source, options)
    items, empty = TASKS[task]().queue_items(source, options)
    if not items:
        raise DataError(f"{source} holds no items to label (every row is empty).")
    store = label_store(runs_dir)
    queue = store.open_queue(queue_name, task, labels)
    if labels and not queue.labels:
        queue = store.set_labels(queue, labels)
    redacted = 0
    if options.get("redact"):
        from ..data.pii import PLACEHOLDERS

        marks = tuple(PLACEHOLDERS.values())
        redacted = sum(any(m in item.content for m in marks) for item in items)
    return ImportResult(queue, store.add_items(queue, items), empty, redacted)


# -- next ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Picked:
    item: Item
    suggestion: Suggestion


def _score_pool(
    predictor, contents: list[str], needs_features: bool, progress: Callable[[int, int], None]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Class probabilities (and, for diversity, representations) of the pool, in steps."""
    probs, features = [], []
    embed = getattr(predictor, "embed", None) if needs_features else None
    step = _NEXT_BATCH_OF_PROBABILITIES
    for start in range(0, len(contents), step):
        chunk = contents[start : start + step]
        probs.append(np.asarray(predictor.predict_proba(chunk)))
        if embed is not None:
            features.append(np.asarray(embed(chunk)))
        progress(min(start + step, len(contents)), len(contents))
    stacked = np.concatenate(probs) if probs else np.zeros((0, len(predictor.labels)))
    return stacked, (np.concatenate(features) if features else None)


def next_items(
    queue_name: str,
    model_ref: str,
    runs_dir: Path,
    *,
    strategy: str = "margin",
    count: int = 20,
    lease: dt.timedelta = DEFAULT_LEASE,
    seed: int = 0,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> list[Picked]:
    """Rank the queue's free items with the model, hand out the best ``count`` (never an item
    a concurrent call handed out) and record the model's suggestion for each."""
    from ..predict import load_predictor
    from ..store.refs import resolve_model

    if strategy not in STRATEGIES:
        raise RunError(f"Unknown strategy '{strategy}'. Strategies: {', '.join(STRATEGIES)}.")
    if count < 1:
        raise RunError(f"--count must be at least 1, got {count}.")
    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    run, artifact = resolve_model(model_ref, runs_dir)
    predictor = load_predictor(artifact)
    if predictor.task != queue.task:
        raise RunError(
            f"Model '{model_ref}' is a {predictor.task} model; queue '{queue.name}' holds "
            f"{queue.task} items."
        )
    if not queue.labels:
        queue = store.set_labels(queue, predictor.labels)
    pool = store.available(queue, lease)
    if not pool:
        return []
    needs_features = STRATEGIES[strategy][1]
    probs, features = _score_pool(predictor, [i.content for i in pool], needs_features, progress)
    ranking = rank(strategy, probs, count, features=features, seed=seed)
    batch = uuid.uuid4().hex[:16]
    claimed = set(store.claim(queue, [pool[i].id for i in ranking.order], count, batch, lease))
    labels = predictor.labels
    picked = [
        Picked(
            pool[i],
            Suggestion(
                pool[i].id,
                run.run_id,
                labels[int(probs[i].argmax())],
                float(probs[i].max()),
                float(ranking.scores[i]),
                strategy,
            ),
        )
        for i in ranking.order
        if pool[i].id in claimed
    ]
    store.add_suggestions([p.suggestion for p in picked])
    return picked


# -- export ----------------------------------------------------------------------------------
def export_queue(
    queue_name: str,
    runs_dir: Path,
    output: Path,
    fmt: str,
    *,
    states: Sequence[str] = ("queued", "assigned"),
    item_ids: Sequence[int] | None = None,
    image_url: str | None = None,
) -> int:
    """Write the queue's items in ``states`` (or the given ids) for labelling; returns how
    many. ``label-studio`` writes the tasks (with the model's suggestions as pre-annotations)
    and, beside them, the labeling config their project needs."""
    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    if fmt not in EXPORT_FORMATS:
        raise RunError(f"Unknown format '{fmt}'. Formats: {', '.join(EXPORT_FORMATS)}.")
    if item_ids is not None:
        found = store.items_by_id(queue, item_ids)
        items = [found[i] for i in item_ids if i in found]
    else:
        items = store.items(queue, states)
    suggestions = store.suggestions(queue)
    if fmt == "label-studio":
        from ..label.studio import write_studio_tasks

        write_studio_tasks(queue, items, suggestions, output, image_url=image_url)
    else:
        write_rows(export_rows(queue, items, suggestions), output, fmt)
    return len(items)


# -- labels back -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiveResult:
    queue: Queue
    counts: AnnotationCounts
    new_labels: list[str]


def read_labels(path: Path, queue: Queue) -> list[ExternalLabel]:
    """Labels of a CSV/JSONL file, or of a Label Studio export (JSON, JSON-MIN or CSV)."""
    return _labels_and_origin(path, queue)[0]


def _labels_and_origin(path: Path, queue: Queue) -> tuple[list[ExternalLabel], str]:
    """The labels of ``path`` and where they come from (``label-studio``, ``jsonl``, ``csv``),
    the file read once."""
    from ..label.studio import is_studio_export, read_studio_export

    if not path.is_file():
        raise DataError(f"'{path}' does not exist.")
    if is_studio_export(path) or path.suffix.lower() == ".json":  # only Label Studio's is .json
        return read_studio_export(path, queue), "label-studio"
    return labels_from_rows(path, read_rows(path), queue), _file_origin(path)


def _match(store: LabelStore, queue: Queue, labels: list[ExternalLabel]) -> list[int]:
    """The queue item of each label, by id, else by content; a row that matches nothing, or a
    file from another queue, is an error naming it."""
    others = {x.queue for x in labels if x.queue and x.queue != queue.name}
    if others:
        raise DataError(
            f"{labels[0].where.split(':')[0]} holds labels of queue "
            f"{', '.join(sorted(others))}, not '{queue.name}'.",
            hint="Import it into that --queue, or export this queue again.",
        )
    by_fp = {i.fingerprint: i.id for i in store.items(queue)}
    known = store.items_by_id(queue, [x.item_id for x in labels if x.item_id is not None])
    ids = []
    for x in labels:
        if x.item_id is not None and x.item_id in known:
            ids.append(x.item_id)
            continue
        fp = TASKS[queue.task]().item_fingerprint(x.content) if x.content else None
        if fp is None or fp not in by_fp:
            what = f"id {x.item_id}" if x.item_id is not None else "its content"
            raise DataError(
                f"{x.where}: no item of queue '{queue.name}' matches {what}.",
                hint="Was the file exported from another queue or project?",
            )
        ids.append(by_fp[fp])
    return ids


def _check_label_set(
    store: LabelStore, queue: Queue, labels: list[ExternalLabel], add_labels: bool
) -> tuple[Queue, list[str]]:
    unknown = sorted({x.label for x in labels} - set(queue.labels))
    if not unknown or not queue.labels:
        if not queue.labels:
            queue = store.set_labels(queue, sorted({x.label for x in labels}))
        return queue, []
    if not add_labels:
        rows = [x.where for x in labels if x.label in set(unknown)][:5]
        raise DataError(
            f"Labels {', '.join(map(repr, unknown[:10]))} are not in queue '{queue.name}''s "
            f"label set ({', '.join(queue.labels)}); first at {'; '.join(rows)}.",
            hint="Fix them, or pass --add-labels to extend the label set (a retrain then learns "
            "the new labels).",
        )
    return store.set_labels(queue, [*queue.labels, *unknown]), unknown


def receive_labels(
    path: Path,
    queue_name: str,
    runs_dir: Path,
    *,
    annotator: str | None = None,
    add_labels: bool = False,
    origin: str | None = None,
) -> ReceiveResult:
    """Read the labels of ``path`` into the queue; all of them land, or none."""
    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    labels, read_from = _labels_and_origin(path, queue)
    if not labels:
        raise DataError(f"{path} holds no labels (every label cell is empty).")
    ids = _match(store, queue, labels)
    queue, added = _check_label_set(store, queue, labels, add_labels)
    now = dt.datetime.now(dt.timezone.utc)
    source = origin or read_from
    annotations = [
        Annotation(item_id, x.label, x.annotator or annotator or "unknown", x.at or now, source)
        for item_id, x in zip(ids, labels)
    ]
    return ReceiveResult(queue, store.add_annotations(queue, _last_per_key(annotations)), added)


def _file_origin(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def _last_per_key(annotations: list[Annotation]) -> list[Annotation]:
    """One label per (item, annotator): the latest one a file holds."""
    latest: dict[tuple[int, str], Annotation] = {}
    for a in annotations:
        key = (a.item_id, a.annotator)
        if key not in latest or a.at >= latest[key].at:
            latest[key] = a
    return list(latest.values())


# -- status ----------------------------------------------------------------------------------
def queue_status(queue_name: str | None, runs_dir: Path) -> list[dict]:
    """Counts by state and labels of one queue, or of every queue."""
    from ..label.queue import majority_labels

    store = label_store(runs_dir)
    queues = [store.queue(queue_name)] if queue_name else store.queues()
    out = []
    for queue in queues:
        resolved, ties = majority_labels(store.annotations(queue))
        per_label: dict[str, int] = {}
        for label in resolved.values():
            per_label[label] = per_label.get(label, 0) + 1
        out.append(
            {
                "queue": queue.name,
                "task": queue.task,
                "items": store.counts(queue),
                "labelled_by_label": dict(sorted(per_label.items())),
                "conflicts": len(ties),
                "labels": list(queue.labels),
            }
        )
    return out


def queue_agreement(queue_name: str, runs_dir: Path):
    """The queue, its annotators' agreement, and the content of each conflicting item."""
    from ..label.agreement import agreement

    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    result = agreement(store.annotations(queue), queue.labels)
    found = store.items_by_id(queue, [c.item_id for c in result.conflicts])
    return queue, result, {i: item.content for i, item in found.items()}


def audit_labels(
    data_file: str,
    options: dict,
    runs_dir: Path,
    *,
    run: str | None = None,
    folds: int = 5,
    seed: int = 0,
    output: Path | None = None,
    queue: str | None = None,
    progress=None,
):
    """The likely mislabelled rows of ``data_file``, written to ``output`` and pushed into
    ``queue`` for review when given; returns (result, push result or None)."""
    from ..label.audit import audit_file, push_to_queue, write_flagged

    result = audit_file(
        data_file, options, runs_dir=runs_dir, run=run, folds=folds, seed=seed, progress=progress
    )
    if output is not None:
        write_flagged(result, output)
    pushed = push_to_queue(result, queue, runs_dir) if queue else None
    return result, pushed
