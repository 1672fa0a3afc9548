"""Labeling queues in the store: items waiting for a label, who labelled them, what a model
suggested, and which items are out with a labeller.

An item is a text, or an image file (by its absolute path), fingerprinted by content so the
same text or image enters a queue once however often it is imported. Its state moves
``queued`` → ``assigned`` (handed out by ``label next``) → ``labelled`` (at least one label).
Handing out is a compare-and-set in one transaction per item (``state`` is still free), so two
concurrent ``label next`` calls never hand out the same item. An assignment older than its
lease returns to the pool.

Labels are kept per annotator (one current label each; a later import of the same annotator
replaces it), so agreement between people can be measured and conflicts listed; the item's
label for training is the majority, and a tie is a conflict left out until resolved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..errors import RunError
from ..store.db import Base, RunStore, UTCDateTime
from ..store.names import NAME_MAX, check_name

ITEM_STATES = ("queued", "assigned", "labelled")
DEFAULT_LEASE = dt.timedelta(hours=24)
_UTC = dt.timezone.utc


class QueueRow(Base):
    __tablename__ = "tf_label_queues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    task: Mapped[str] = mapped_column(String(16))
    labels: Mapped[str] = mapped_column(Text)  # JSON list: the labels annotations may use
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ItemRow(Base):
    __tablename__ = "tf_label_items"
    __table_args__ = (UniqueConstraint("queue_id", "fingerprint", name="uq_tf_label_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("tf_label_queues.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)  # the text, or the image file's absolute path
    source: Mapped[str] = mapped_column(Text)  # where it came from: "FILE:ROW", "log:MODEL"
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    batch: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AnnotationRow(Base):
    __tablename__ = "tf_label_annotations"
    __table_args__ = (UniqueConstraint("item_id", "annotator", name="uq_tf_label_annotation"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("tf_label_items.id"), index=True)
    label: Mapped[str] = mapped_column(String(256))
    annotator: Mapped[str] = mapped_column(String(256))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(32))  # csv | jsonl | label-studio | browser


class SuggestionRow(Base):
    __tablename__ = "tf_label_suggestions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("tf_label_items.id"), index=True)
    model: Mapped[str] = mapped_column(String(256))
    label: Mapped[str] = mapped_column(String(256))
    confidence: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)  # the strategy's ranking score
    strategy: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Queue:
    id: int
    name: str
    task: str
    labels: tuple[str, ...]
    created_at: dt.datetime


@dataclass(frozen=True)
class NewItem:
    """An item to import: its content (text or absolute image path), fingerprint and source."""

    content: str
    fingerprint: str
    source: str


@dataclass(frozen=True)
class Item:
    id: int
    content: str
    source: str
    state: str
    fingerprint: str


@dataclass(frozen=True)
class Annotation:
    item_id: int
    label: str
    annotator: str
    at: dt.datetime
    origin: str


@dataclass(frozen=True)
class Suggestion:
    item_id: int
    model: str
    label: str
    confidence: float
    score: float
    strategy: str


@dataclass(frozen=True)
class ImportCounts:
    added: int
    duplicates: int


@dataclass(frozen=True)
class AnnotationCounts:
    added: int
    replaced: int
    unchanged: int


def text_fingerprint(text: str) -> str:
    """Texts that differ only in surrounding or repeated whitespace are one item."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def bytes_fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(_UTC)


def _queue(row: QueueRow) -> Queue:
    return Queue(row.id, row.name, row.task, tuple(json.loads(row.labels)), row.created_at)


def _item(row: ItemRow) -> Item:
    return Item(row.id, row.content, row.source, row.state, row.fingerprint)


class LabelStore:
    """Queues, items, annotations and suggestions on top of a RunStore's database."""

    def __init__(self, store: RunStore) -> None:
        self.engine = store.engine  # the tables came with the store's schema (migrations/)

    # -- queues ------------------------------------------------------------------------------
    def open_queue(self, name: str, task: str, labels: Sequence[str] = ()) -> Queue:
        """The queue ``name``, created for ``task`` when new; a queue of another task is
        refused (its items could not be labelled or trained on together)."""
        check_name(name, "queue name")
        for _attempt in range(2):
            existing = self.find_queue(name)
            if existing is not None:
                if existing.task != task:
                    raise RunError(
                        f"Queue '{name}' holds {existing.task} items, not {task} ones.",
                        hint="Import into another --queue.",
                    )
                return existing
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(
                        QueueRow(
                            name=name, task=task, labels=json.dumps(list(labels)), created_at=_now()
                        )
                    )
            except sa.exc.IntegrityError:  # created by a concurrent import: read it
                continue
        return self.queue(name)

    def find_queue(self, name: str) -> Queue | None:
        with Session(self.engine) as session:
            row = session.scalars(select(QueueRow).where(QueueRow.name == name)).first()
            return _queue(row) if row else None

    def queue(self, name: str) -> Queue:
        """The queue ``name``, or an error listing the queues there are."""
        found = self.find_queue(name)
        if found is None:
            known = ", ".join(q.name for q in self.queues()) or "none yet"
            raise RunError(
                f"No labeling queue '{name}'. Queues: {known}.",
                hint="Create one with 'tuneforge label import FILE --queue NAME'.",
            )
        return found

    def queues(self) -> list[Queue]:
        with Session(self.engine) as session:
            return [_queue(r) for r in session.scalars(select(QueueRow).order_by(QueueRow.name))]

    def set_labels(self, queue: Queue, labels: Sequence[str]) -> Queue:
        """Replace the queue's label set (kept in first-seen order, without repeats)."""
        names = list(dict.fromkeys(labels))
        with Session(self.engine) as session, session.begin():
            row = session.get(QueueRow, queue.id, with_for_update=True)
            row.labels = json.dumps(names)
        return self.queue(queue.name)

    # -- items -------------------------------------------------------------------------------
    def add_items(self, queue: Queue, items: Iterable[NewItem]) -> ImportCounts:
        """Insert the items the queue lacks (by fingerprint), all in one transaction."""
        fresh: dict[str, NewItem] = {}
        total = 0
        for item in items:
            total += 1
            fresh.setdefault(item.fingerprint, item)
        now = _now()
        with Session(self.engine) as session, session.begin():
            known = set(
                session.scalars(
                    select(ItemRow.fingerprint).where(ItemRow.queue_id == queue.id)
                ).all()
            )
            rows = [
                {
                    "queue_id": queue.id,
                    "fingerprint": fp,
                    "content": item.content,
                    "source": item.source,
                    "state": "queued",
                    "created_at": now,
                }
                for fp, item in fresh.items()
                if fp not in known
            ]
            if rows:
                session.execute(_insert_ignoring_duplicates(session), rows)
        return ImportCounts(added=len(rows), duplicates=total - len(rows))

    def items(self, queue: Queue, states: Sequence[str] | None = None) -> list[Item]:
        query = select(ItemRow).where(ItemRow.queue_id == queue.id)
        if states:
            query = query.where(ItemRow.state.in_(list(states)))
        with Session(self.engine) as session:
            return [_item(r) for r in session.scalars(query.order_by(ItemRow.id))]

    def items_by_id(self, queue: Queue, ids: Iterable[int]) -> dict[int, Item]:
        wanted = list(set(ids))
        found: dict[int, Item] = {}
        with Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(ItemRow).where(ItemRow.queue_id == queue.id, ItemRow.id.in_(chunk))
                found.update((r.id, _item(r)) for r in session.scalars(query))
        return found

    def item_by_fingerprint(self, queue: Queue, fingerprint: str) -> Item | None:
        query = select(ItemRow).where(
            ItemRow.queue_id == queue.id, ItemRow.fingerprint == fingerprint
        )
        with Session(self.engine) as session:
            row = session.scalars(query).first()
            return _item(row) if row else None

    def available(self, queue: Queue, lease: dt.timedelta = DEFAULT_LEASE) -> list[Item]:
        """Items ``label next`` may hand out: queued, or assigned longer ago than ``lease``."""
        cutoff = _now() - lease
        query = select(ItemRow).where(ItemRow.queue_id == queue.id, _free(cutoff))
        with Session(self.engine) as session:
            return [_item(r) for r in session.scalars(query.order_by(ItemRow.id))]

    def claim(
        self,
        queue: Queue,
        ranked: Sequence[int],
        count: int,
        batch: str,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> list[int]:
        """Hand out up to ``count`` of ``ranked`` (best first) as ``batch``; an item another
        caller took meanwhile is skipped and the next one taken instead."""
        now = _now()
        cutoff = now - lease
        claimed: list[int] = []
        with Session(self.engine) as session, session.begin():
            for item_id in ranked:
                if len(claimed) == count:
                    break
                update = (
                    sa.update(ItemRow)
                    .where(ItemRow.id == item_id, ItemRow.queue_id == queue.id, _free(cutoff))
                    .values(state="assigned", assigned_at=now, batch=batch)
                )
                if session.execute(update).rowcount == 1:
                    claimed.append(item_id)
        return claimed

    def counts(self, queue: Queue) -> dict[str, int]:
        query = (
            select(ItemRow.state, sa.func.count())
            .where(ItemRow.queue_id == queue.id)
            .group_by(ItemRow.state)
        )
        with Session(self.engine) as session:
            found = dict(session.execute(query).all())
        return {state: int(found.get(state, 0)) for state in ITEM_STATES}

    # -- suggestions and annotations ---------------------------------------------------------
    def add_suggestions(self, suggestions: Sequence[Suggestion]) -> None:
        now = _now()
        rows = [{**s.__dict__, "at": now} for s in suggestions]
        if rows:
            with Session(self.engine) as session, session.begin():
                session.execute(sa.insert(SuggestionRow), rows)

    def suggestions(self, queue: Queue) -> dict[int, Suggestion]:
        """The latest suggestion per item."""
        s = SuggestionRow
        query = (
            select(s.item_id, s.model, s.label, s.confidence, s.score, s.strategy)
            .join(ItemRow, ItemRow.id == s.item_id)
            .where(ItemRow.queue_id == queue.id)
            .order_by(s.id)
        )
        with Session(self.engine) as session:
            return {r[0]: Suggestion(*r) for r in session.execute(query)}

    def add_annotations(self, queue: Queue, annotations: Sequence[Annotation]) -> AnnotationCounts:
        """Record each annotator's label of each item, in one transaction: a new (item,
        annotator) is added, a different label replaces theirs, the same label is unchanged.
        Items of other queues are refused (nothing is written)."""
        ids = {a.item_id for a in annotations}
        if missing := ids - set(self.items_by_id(queue, ids)):
            shown = ", ".join(map(str, sorted(missing)[:10]))
            raise RunError(f"Queue '{queue.name}' has no items with ids {shown}.")
        added = replaced = unchanged = 0
        with Session(self.engine) as session, session.begin():
            for a in annotations:
                row = session.scalars(
                    select(AnnotationRow).where(
                        AnnotationRow.item_id == a.item_id, AnnotationRow.annotator == a.annotator
                    )
                ).first()
                if row is None:
                    session.add(AnnotationRow(**a.__dict__))
                    added += 1
                elif row.label != a.label:
                    row.label, row.at, row.origin = a.label, a.at, a.origin
                    replaced += 1
                else:
                    unchanged += 1
            if ids:
                mark = sa.update(ItemRow).where(ItemRow.id.in_(list(ids)))
                session.execute(mark.values(state="labelled", batch=None))
        return AnnotationCounts(added, replaced, unchanged)

    def annotation(self, queue: Queue, item_id: int, annotator: str) -> Annotation | None:
        """``annotator``'s current label of one item of ``queue``, if they gave one."""
        a = AnnotationRow
        query = (
            select(a.item_id, a.label, a.annotator, a.at, a.origin)
            .join(ItemRow, ItemRow.id == a.item_id)
            .where(ItemRow.queue_id == queue.id, a.item_id == item_id, a.annotator == annotator)
        )
        with Session(self.engine) as session:
            row = session.execute(query).first()
            return Annotation(*row) if row else None

    def take_back(
        self,
        queue: Queue,
        item_id: int,
        annotator: str,
        label: str,
        *,
        restore: Annotation | None,
        state: str,
    ) -> bool:
        """Undo one save of ``label`` by ``annotator``, in one transaction: the label it
        replaced comes back (``restore``), else theirs is removed, and an item left without any
        label returns to ``state`` (what it was before the save). When their label is no longer
        ``label`` (changed since), nothing is changed and the answer is False."""
        if state not in ("queued", "assigned"):
            raise RunError(f"An item without labels is queued or assigned, not {state!r}.")
        with Session(self.engine) as session, session.begin():
            row = session.scalars(
                select(AnnotationRow)
                .join(ItemRow, ItemRow.id == AnnotationRow.item_id)
                .where(
                    ItemRow.queue_id == queue.id,
                    AnnotationRow.item_id == item_id,
                    AnnotationRow.annotator == annotator,
                )
            ).first()
            if row is None or row.label != label:
                return False
            if restore is not None:
                row.label, row.at, row.origin = restore.label, restore.at, restore.origin
                return True
            session.delete(row)
            session.flush()
            left = session.scalar(select(sa.func.count()).where(AnnotationRow.item_id == item_id))
            if not left:
                session.execute(sa.update(ItemRow).where(ItemRow.id == item_id).values(state=state))
        return True

    def annotations(self, queue: Queue) -> list[Annotation]:
        a = AnnotationRow
        query = (
            select(a.item_id, a.label, a.annotator, a.at, a.origin)
            .join(ItemRow, ItemRow.id == a.item_id)
            .where(ItemRow.queue_id == queue.id)
            .order_by(a.item_id, a.id)
        )
        with Session(self.engine) as session:
            return [Annotation(*r) for r in session.execute(query)]


def majority_labels(annotations: Sequence[Annotation]) -> tuple[dict[int, str], list[int]]:
    """Each item's label (the most common among its annotators) and the items whose top labels
    tie, which are conflicts for a person to resolve before they can be trained on."""
    by_item: dict[int, Counter] = {}
    for a in annotations:
        by_item.setdefault(a.item_id, Counter())[a.label] += 1
    resolved: dict[int, str] = {}
    ties: list[int] = []
    for item_id, votes in by_item.items():
        ranked = votes.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            ties.append(item_id)
        else:
            resolved[item_id] = ranked[0][0]
    return resolved, sorted(ties)


def _free(cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """An item that may be handed out: queued, or assigned before ``cutoff`` (lease over)."""
    return sa.or_(
        ItemRow.state == "queued",
        sa.and_(ItemRow.state == "assigned", ItemRow.assigned_at < cutoff),
    )


def _insert_ignoring_duplicates(session: Session) -> sa.Insert:
    """An INSERT that skips rows a concurrent import added first (same queue and fingerprint):
    both SQLite and PostgreSQL know ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(ItemRow).on_conflict_do_nothing(index_elements=["queue_id", "fingerprint"])
