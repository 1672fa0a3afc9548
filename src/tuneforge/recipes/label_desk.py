"""label, one item at a time: what the dashboard's labeling desk hands a person, saves and
takes back — through the same queue, hand-out and annotation rules as ``tuneforge label``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DataError, RunError
from ..label.queue import DEFAULT_LEASE, Annotation, Item, Suggestion
from .label import label_store, next_items


@dataclass(frozen=True)
class HandedOut:
    item: Item
    suggestion: Suggestion | None  # the model's, or the latest one recorded for the item


def hand_out_one(
    queue_name: str,
    runs_dir: Path,
    model_ref: str | None = None,
    *,
    strategy: str = "margin",
    lease: dt.timedelta = DEFAULT_LEASE,
) -> HandedOut | None:
    """The next item for one person: with a model, the one ``next_items`` picks (handed out
    and suggested exactly as ``label next --count 1``); without, the oldest free item, handed
    out the same way and shown with the last suggestion recorded for it. None when the queue
    has no free item left."""
    if model_ref:
        picked = next_items(queue_name, model_ref, runs_dir, strategy=strategy, count=1)
        return HandedOut(picked[0].item, picked[0].suggestion) if picked else None
    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    for item in store.available(queue, lease):
        if store.claim(queue, [item.id], 1, f"one-{uuid.uuid4().hex[:12]}", lease):
            claimed = replace(item, state="assigned")
            return HandedOut(claimed, store.suggestions(queue).get(item.id))
    return None


@dataclass(frozen=True)
class SavedLabel:
    """One label a person saved, and what undoing it puts back."""

    queue: str
    item_id: int
    label: str
    annotator: str
    replaced: Annotation | None  # the annotator's earlier label of the item
    previous_state: str  # the item's state before the save

    def to_dict(self) -> dict:
        old = self.replaced
        return {
            "queue": self.queue,
            "item_id": self.item_id,
            "label": self.label,
            "annotator": self.annotator,
            "replaced": None if old is None else [old.label, old.at.isoformat(), old.origin],
            "previous_state": self.previous_state,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SavedLabel:
        old = data.get("replaced")
        replaced = None
        if old:
            at = dt.datetime.fromisoformat(old[1])
            replaced = Annotation(int(data["item_id"]), old[0], data["annotator"], at, old[2])
        return cls(
            str(data["queue"]),
            int(data["item_id"]),
            str(data["label"]),
            str(data["annotator"]),
            replaced,
            str(data["previous_state"]),
        )


def save_label(
    queue_name: str,
    item_id: int,
    label: str,
    annotator: str,
    runs_dir: Path,
    *,
    origin: str = "browser",
) -> SavedLabel:
    """Record ``annotator``'s ``label`` of one item, as ``label submit`` records a file's
    labels (one current label per annotator); the label must be in the queue's label set."""
    store = label_store(runs_dir)
    queue = store.queue(queue_name)
    if label not in queue.labels:
        raise DataError(
            f"Label {label!r} is not in queue '{queue.name}''s label set "
            f"({', '.join(queue.labels) or 'none yet'}).",
            hint="Pick one of the queue's labels.",
        )
    item = store.items_by_id(queue, [item_id]).get(item_id)
    if item is None:
        raise RunError(f"Queue '{queue.name}' has no item {item_id}.")
    replaced = store.annotation(queue, item_id, annotator)
    previous = item.state if item.state != "labelled" else "assigned"
    now = dt.datetime.now(dt.timezone.utc)
    store.add_annotations(queue, [Annotation(item_id, label, annotator, now, origin)])
    return SavedLabel(queue.name, item_id, label, annotator, replaced, previous)


def undo_label(saved: SavedLabel, runs_dir: Path) -> Item:
    """Take back one saved label: the annotator's earlier label returns, or the item goes back
    to the state it had; refused when the label has changed since (someone saved another)."""
    store = label_store(runs_dir)
    queue = store.queue(saved.queue)
    undone = store.take_back(
        queue,
        saved.item_id,
        saved.annotator,
        saved.label,
        restore=saved.replaced,
        state=saved.previous_state,
    )
    if not undone:
        raise RunError(
            f"Item {saved.item_id}'s label by {saved.annotator} is no longer {saved.label!r}: "
            "nothing was undone."
        )
    return store.items_by_id(queue, [saved.item_id])[saved.item_id]
