"""Labeling queues in the store, on SQLite and PostgreSQL: de-duplicated imports, hand-outs that
never give one item to two callers, leases, per-annotator labels and the majority label."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from tuneforge.errors import NameRuleError, RunError
from tuneforge.label.queue import (
    Annotation,
    LabelStore,
    NewItem,
    Suggestion,
    majority_labels,
    text_fingerprint,
)
from tuneforge.store import RunStore

T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


def _items(*texts: str) -> list[NewItem]:
    return [NewItem(t, text_fingerprint(t), f"f.csv:{i + 1}") for i, t in enumerate(texts)]


@pytest.fixture
def labels(store_url) -> LabelStore:
    return LabelStore(RunStore(store_url))


def test_import_adds_each_text_once(labels):
    """Texts differing only in whitespace are one item, within a file and across imports."""
    queue = labels.open_queue("support", "text")
    first = labels.add_items(queue, _items("where is my parcel", "where  is my parcel ", "refund"))
    again = labels.add_items(queue, _items("refund", "new one"))
    assert (first.added, first.duplicates) == (2, 1)
    assert (again.added, again.duplicates) == (1, 1)
    assert [i.content for i in labels.items(queue)] == ["where is my parcel", "refund", "new one"]
    assert labels.counts(queue) == {"queued": 3, "assigned": 0, "labelled": 0}


def test_queue_names_and_kinds_are_checked(labels):
    """A bad name breaks the name rule; an unknown queue lists the known ones; a text queue
    refuses to become an image queue."""
    with pytest.raises(NameRuleError):
        labels.open_queue("../etc", "text")
    labels.open_queue("support", "text")
    with pytest.raises(RunError, match="Queues: support"):
        labels.queue("nope")
    with pytest.raises(RunError, match="holds text items"):
        labels.open_queue("support", "image")


def test_claim_hands_out_each_item_once(labels):
    """Two callers ranking the same items get disjoint batches, the second taking the next
    ones; nothing is left to a third."""
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items("a", "b", "c", "d"))
    ranked = [i.id for i in labels.items(queue)]
    first = labels.claim(queue, ranked, 2, "one")
    second = labels.claim(queue, ranked, 3, "two")
    assert first == ranked[:2] and second == ranked[2:]
    assert labels.claim(queue, ranked, 1, "three") == []
    assert labels.available(queue) == []


def test_concurrent_claims_never_overlap(labels):
    """Threads claiming from one ranking at once share the items out without a repeat."""
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items(*[f"text {n}" for n in range(40)]))
    ranked = [i.id for i in labels.items(queue)]
    got: list[list[int]] = []

    def take(name: str) -> None:
        got.append(labels.claim(queue, ranked, 10, name))

    threads = [threading.Thread(target=take, args=(f"b{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for batch in got for i in batch]
    assert len(flat) == 40 and len(set(flat)) == 40


def test_an_expired_lease_returns_the_item(labels):
    """An item handed out longer ago than the lease may be handed out again."""
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items("a"))
    ranked = [i.id for i in labels.items(queue)]
    labels.claim(queue, ranked, 1, "one")
    assert labels.available(queue, lease=dt.timedelta(hours=1)) == []
    assert [i.id for i in labels.available(queue, lease=dt.timedelta(0))] == ranked


def test_annotations_are_kept_per_annotator(labels):
    """A second label of the same annotator replaces theirs; another annotator's is added;
    the item is labelled; the same label again changes nothing."""
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items("a", "b"))
    a, b = (i.id for i in labels.items(queue))
    counts = labels.add_annotations(
        queue, [Annotation(a, "x", "ana", T0, "csv"), Annotation(a, "y", "bo", T0, "csv")]
    )
    assert (counts.added, counts.replaced) == (2, 0)
    counts = labels.add_annotations(queue, [Annotation(a, "y", "ana", T0, "csv")])
    assert (counts.added, counts.replaced, counts.unchanged) == (0, 1, 0)
    counts = labels.add_annotations(queue, [Annotation(a, "y", "ana", T0, "csv")])
    assert counts.unchanged == 1
    assert {x.annotator: x.label for x in labels.annotations(queue)} == {"ana": "y", "bo": "y"}
    assert labels.counts(queue)["labelled"] == 1
    assert [i.id for i in labels.items(queue, ["queued"])] == [b]


def test_annotations_of_unknown_items_are_refused_whole(labels):
    """A batch naming an item of no queue writes nothing."""
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items("a"))
    (a,) = (i.id for i in labels.items(queue))
    with pytest.raises(RunError, match="no items with ids 999"):
        labels.add_annotations(
            queue, [Annotation(a, "x", "ana", T0, "csv"), Annotation(999, "x", "ana", T0, "csv")]
        )
    assert labels.annotations(queue) == []


def test_suggestions_keep_the_latest_per_item(labels):
    queue = labels.open_queue("q", "text")
    labels.add_items(queue, _items("a"))
    (a,) = (i.id for i in labels.items(queue))
    labels.add_suggestions([Suggestion(a, "run-1", "x", 0.4, 0.9, "margin")])
    labels.add_suggestions([Suggestion(a, "run-2", "y", 0.6, 0.5, "entropy")])
    assert labels.suggestions(queue)[a].model == "run-2"


def test_majority_label_and_ties():
    """The most common label wins; a tie is a conflict, not a label."""
    notes = [
        Annotation(1, "x", "ana", T0, "csv"),
        Annotation(1, "x", "bo", T0, "csv"),
        Annotation(1, "y", "cy", T0, "csv"),
        Annotation(2, "x", "ana", T0, "csv"),
        Annotation(2, "y", "bo", T0, "csv"),
        Annotation(3, "z", "ana", T0, "csv"),
    ]
    resolved, ties = majority_labels(notes)
    assert resolved == {1: "x", 3: "z"} and ties == [2]


def test_take_back_undoes_one_save_and_only_that_one(labels):
    """Taking a label back restores the label it replaced, or removes it and returns an item
    left without labels to its earlier state; another annotator's label keeps the item
    labelled; a label changed since is not taken back."""
    queue = labels.open_queue("support", "text")
    labels.add_items(queue, _items("a", "b"))
    first, second = (i.id for i in labels.items(queue))
    labels.claim(queue, [first], 1, "batch")
    labels.add_annotations(queue, [Annotation(first, "billing", "ana", T0, "browser")])
    assert labels.annotation(queue, first, "ana").label == "billing"
    assert not labels.take_back(queue, first, "ana", "shipping", restore=None, state="assigned")
    assert labels.take_back(queue, first, "ana", "billing", restore=None, state="assigned")
    assert labels.annotation(queue, first, "ana") is None
    assert labels.items_by_id(queue, [first])[first].state == "assigned"
    old = Annotation(second, "billing", "ana", T0, "csv")
    labels.add_annotations(queue, [old, Annotation(second, "account", "bo", T0, "csv")])
    labels.add_annotations(queue, [Annotation(second, "shipping", "ana", T0, "browser")])
    assert labels.take_back(queue, second, "ana", "shipping", restore=old, state="queued")
    assert labels.annotation(queue, second, "ana") == old
    assert labels.take_back(queue, second, "ana", "billing", restore=None, state="queued")
    assert labels.items_by_id(queue, [second])[second].state == "labelled"  # bo's label stays
    with pytest.raises(RunError, match="queued or assigned"):
        labels.take_back(queue, second, "bo", "account", restore=None, state="labelled")
