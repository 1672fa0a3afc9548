"""label from-log: doubtful production traffic of a served model into a labeling queue.

Doubtful means a confidence under the threshold, and with ``drifted`` also every prediction of
a label whose share of the window rose above its share in the run's reference profile by more
than ``drift_rise`` — traffic the model sees more of than it was tested on, worth a person's
look even when the model is sure — and with ``abstained`` every abstention of ``serve
--abstain`` (logged under a label that is none of the model's): inputs outside its intents,
possibly a new one. Only inputs the server logged (``serve --log-inputs``) can be
queued; the command says so when there are none.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError
from ..label.queue import ImportCounts, LabelStore, NewItem, Queue, Suggestion, text_fingerprint
from ..store import open_store

DEFAULT_DRIFT_RISE = 0.05


@dataclass(frozen=True)
class FromLogResult:
    queue: Queue
    counts: ImportCounts
    doubtful: int  # predictions picked in the window (low confidence, or a drifted label)
    without_input: int  # of which the input was not logged
    drifted_labels: dict[str, tuple[float, float]]  # label → (reference share, window share)


def drifted_labels(
    reference: dict[str, float], labels: list[str], rise: float
) -> dict[str, tuple[float, float]]:
    """Labels whose share of ``labels`` exceeds their reference share by more than ``rise``."""
    counts = Counter(labels)
    total = sum(counts.values()) or 1
    return {
        label: (reference.get(label, 0.0), n / total)
        for label, n in sorted(counts.items())
        if n / total - reference.get(label, 0.0) > rise
    }


def _picked(store, name: str, since, until, low_confidence, drifted, drift_rise, profile, known):
    """The window's doubtful predictions and the drifted labels; ``known``: the model's labels
    when abstentions are wanted too (None: not)."""
    from ..monitor.predlog import read_logged

    window = read_logged(store, name, since, until)
    shifted: dict[str, tuple[float, float]] = {}
    if drifted:
        if profile is None:
            raise RunError(
                f"'{name}' has no reference profile (profile.json), so drift cannot be judged.",
                hint="Leave out --drifted, or serve a model trained by this tuneforge.",
            )
        shifted = drifted_labels(profile.label_shares(), [p.label for p in window], drift_rise)
    picked = [
        p
        for p in window
        if p.confidence < low_confidence
        or p.label in shifted
        or (known is not None and p.label not in known)
    ]
    return picked, shifted


def queue_from_log(
    model_ref: str,
    queue_name: str,
    runs_dir: Path,
    *,
    window: str = "24h",
    low_confidence: float = 0.5,
    drifted: bool = False,
    drift_rise: float = DEFAULT_DRIFT_RISE,
    at: dt.datetime | None = None,
    abstained: bool = False,
) -> FromLogResult:
    """Move the window's doubtful predictions of a served model into a queue, with the served
    label and confidence as the suggestion (none for abstentions: their label is no intent);
    an error when none of them has its input."""
    from ..monitor.rules import parse_duration
    from ..predict import artifact_labels
    from ..store.refs import resolve_model, served_name
    from ..tasks import task_name
    from .monitor import reference_profile

    if not 0.0 < low_confidence <= 1.0:
        raise RunError(f"--low-confidence must be in (0, 1], got {low_confidence}.")
    run, artifact = resolve_model(model_ref, runs_dir)
    name, _ = served_name(model_ref, run)
    profile = reference_profile(run)
    end = at or dt.datetime.now(dt.timezone.utc)
    store = open_store(runs_dir)
    since = end - parse_duration(window)
    known = set(artifact_labels(artifact)) if abstained else None
    found, shifted = _picked(
        store, name, since, end, low_confidence, drifted, drift_rise, profile, known
    )
    logged = [p for p in found if p.text]
    if found and not logged:
        raise RunError(
            f"{len(found)} doubtful prediction(s) of '{name}' in the last {window}, but none "
            "has its input logged, so none can be queued.",
            hint="Serve with --log-inputs to log inputs (images are logged by hash only).",
        )
    labels = LabelStore(store)
    queue = labels.open_queue(queue_name, task_name(run))
    if not queue.labels:
        queue = labels.set_labels(queue, artifact_labels(artifact))
    items = [
        NewItem(p.text, text_fingerprint(p.text), f"log:{name}:{p.at.isoformat()}") for p in logged
    ]
    counts = labels.add_items(queue, items)
    _suggest_logged(labels, queue, logged, name)
    return FromLogResult(queue, counts, len(found), len(found) - len(logged), shifted)


def _suggest_logged(labels: LabelStore, queue: Queue, logged: list, model: str) -> None:
    """The served prediction as each new item's suggestion (strategy ``from-log``)."""
    by_fp = {i.fingerprint: i.id for i in labels.items(queue)}
    suggested = labels.suggestions(queue)
    rows = []
    for p in logged:
        if p.label not in queue.labels:  # an abstention: there is no intent to suggest
            continue
        item_id = by_fp.get(text_fingerprint(p.text))
        if item_id is not None and item_id not in suggested:
            suggested[item_id] = None  # one suggestion per item from one call
            score = 1 - p.confidence
            rows.append(
                Suggestion(item_id, p.version or model, p.label, p.confidence, score, "from-log")
            )
    labels.add_suggestions(rows)
