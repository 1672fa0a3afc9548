"""Label Studio's annotation events into a queue: what a model server connected to a Label
Studio project as its ML backend receives on ``/webhook`` (Label Studio's project webhooks,
``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED`` / ``ANNOTATIONS_CREATED``, payload on).

An event's task is matched to the queue's item by ``tuneforge_id`` (tasks tuneforge wrote
carry it), else by the text's fingerprint; a text the queue does not hold yet is added first,
so a project filled in Label Studio itself still lands. Each annotation is stored like a
``label receive`` of a Label Studio export: one current label per annotator, the annotator
named as in the exports (:func:`.studio.studio_annotator`), Label Studio's time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import DataError
from .formats import content_key, parse_item_id, parse_time
from .queue import Annotation, AnnotationCounts, LabelStore, NewItem, Queue, text_fingerprint
from .studio import (
    ID_KEY,
    QUEUE_KEY,
    annotation_label,
    studio_annotator,
    studio_controls,
)

ANNOTATION_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED")


@dataclass(frozen=True)
class EventOutcome:
    """What became of an event: the items its labels landed on (none for a skipped task)."""

    item_ids: list[int]
    counts: AnnotationCounts


def event_pairs(event: dict) -> list[tuple[dict, dict]]:
    """The (task, annotation) pairs of an annotation event: one for ``ANNOTATION_*``, one per
    annotation (matched to its task by id) for the bulk ``ANNOTATIONS_CREATED``."""
    annotation, task = event.get("annotation"), event.get("task")
    if isinstance(annotation, dict) and isinstance(task, dict):
        return [(task, annotation)]
    if isinstance(annotation, list) and isinstance(task, list):
        tasks = {t.get("id"): t for t in task if isinstance(t, dict)}
        pairs = []
        for a in annotation:
            if not isinstance(a, dict) or a.get("task") not in tasks:
                raise DataError(f"annotation {_id(a)} names no task of the event")
            pairs.append((tasks[a["task"]], a))
        return pairs
    raise DataError(
        "an annotation event needs 'task' and 'annotation' objects (or lists of them); "
        "turn the webhook's payload on in Label Studio"
    )


def _id(value: object) -> str:
    return str(value.get("id")) if isinstance(value, dict) else "?"


class StudioIntake:
    """Stores Label Studio annotation events in the queue ``queue_name`` (made on the first
    event for ``task`` with ``labels``, the served model's)."""

    def __init__(
        self, store: LabelStore, queue_name: str, task: str, labels: Sequence[str]
    ) -> None:
        self.store, self.queue_name, self.task, self.labels = store, queue_name, task, labels

    def open(self) -> Queue:
        queue = self.store.open_queue(self.queue_name, self.task, self.labels)
        return queue if queue.labels else self.store.set_labels(queue, self.labels)

    def receive(self, event: dict) -> EventOutcome:
        """Store the event's annotations (all of them, or none on an error naming the task);
        cancelled (skipped) annotations are no label and are left out."""
        pairs = event_pairs(event)
        project = event.get("project") if isinstance(event.get("project"), dict) else {}
        queue = self.open()
        controls = studio_controls(project.get("label_config"), content_key(queue))
        found: list[tuple[dict, dict, str]] = []
        for task, annotation in pairs:
            label = annotation_label(annotation, controls.from_name)
            if label is not None:
                found.append((task, annotation, label))
        if unknown := sorted({label for *_, label in found} - set(queue.labels)):
            raise DataError(
                f"label {', '.join(map(repr, unknown))} is not in queue '{queue.name}''s label "
                f"set ({', '.join(queue.labels)})",
                hint="Add it with 'tuneforge label receive --add-labels', or fix the choice.",
            )
        now = dt.datetime.now(dt.timezone.utc)
        annotations = []
        for task, annotation, label in found:
            where = f"Label Studio task {_id(task)}"
            item_id = self._item_id(queue, task, controls.data_key, where)
            when = parse_time(annotation.get("updated_at") or annotation.get("created_at"), where)
            who = studio_annotator(annotation.get("completed_by"))
            annotations.append(Annotation(item_id, label, who, when or now, "label-studio"))
        counts = self.store.add_annotations(queue, annotations)
        return EventOutcome([a.item_id for a in annotations], counts)

    def _item_id(self, queue: Queue, task: dict, data_key: str, where: str) -> int:
        """The queue's item for a task: by ``tuneforge_id`` of this queue, else by its text
        (added to the queue when new)."""
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        given = data.get(ID_KEY)
        if given is not None and data.get(QUEUE_KEY) in (None, queue.name):
            item_id = parse_item_id(given, where)
            if item_id in self.store.items_by_id(queue, [item_id]):
                return item_id
        text = data.get(data_key)
        from ..tasks import TASKS

        if TASKS[queue.task].items_are_files or not isinstance(text, str) or not text.strip():
            raise DataError(
                f"{where}: no item of queue '{queue.name}' has its {ID_KEY}, and it has no text "
                f"in data.{data_key} to add it by"
            )
        fingerprint = text_fingerprint(text)
        item = self.store.item_by_fingerprint(queue, fingerprint)
        if item is None:
            project = task.get("project")
            source = f"label-studio:project {project}:task {_id(task)}"
            self.store.add_items(queue, [NewItem(text, fingerprint, source)])
            item = self.store.item_by_fingerprint(queue, fingerprint)
        return item.id
