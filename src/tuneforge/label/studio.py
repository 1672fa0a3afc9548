"""Label Studio both ways: a queue's items as Label Studio tasks (the model's suggestion as a
pre-annotation) with the labeling config their project needs, and Label Studio's JSON,
JSON-MIN and CSV exports read back as labels with annotator and time.

Each task carries ``tuneforge_id`` and ``tuneforge_queue`` in its data, so labels come back to
the exact item, and an export of another queue's project is recognised and refused.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..errors import DataError
from .formats import ExternalLabel, content_key, parse_item_id, parse_time
from .queue import Item, Queue, Suggestion

FROM_NAME = "label"  # the <Choices> control of the labeling config
ID_KEY, QUEUE_KEY = "tuneforge_id", "tuneforge_queue"
LOCAL_FILES_URL = "/data/local-files/?d="  # Label Studio's URL for files under its document root


def labeling_config(queue: Queue) -> str:
    """The project's labeling config: the text (or image) and one choice per label."""
    key = content_key(queue)
    tag = "Image" if queue.task == "image" else "Text"
    choices = "\n".join(f"    <Choice value={quoteattr(label)}/>" for label in queue.labels)
    return (
        "<View>\n"
        f'  <{tag} name="{key}" value="${key}"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{key}" choice="single" showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def image_reference(path: str, image_url: str | None) -> str:
    """How a task points at an image: ``image_url`` + the path (e.g. Label Studio's local
    files URL, with the path relative to its document root), or the path itself."""
    return f"{image_url}{path.lstrip('/')}" if image_url is not None else path


def studio_task(
    queue: Queue, item: Item, suggestion: Suggestion | None, image_url: str | None = None
) -> dict:
    """One task: the item's content and ids, and the suggestion as a prediction."""
    key = content_key(queue)
    content = image_reference(item.content, image_url) if queue.task == "image" else item.content
    task: dict = {"data": {key: content, ID_KEY: item.id, QUEUE_KEY: queue.name}}
    if suggestion is not None:
        task["predictions"] = [
            {
                "model_version": suggestion.model,
                "score": round(suggestion.confidence, 6),
                "result": [
                    {
                        "from_name": FROM_NAME,
                        "to_name": key,
                        "type": "choices",
                        "value": {"choices": [suggestion.label]},
                        "score": round(suggestion.confidence, 6),
                    }
                ],
            }
        ]
    return task


def write_studio_tasks(
    queue: Queue,
    items: Sequence[Item],
    suggestions: dict[int, Suggestion],
    output: Path,
    *,
    image_url: str | None = None,
) -> Path:
    """The tasks as one JSON file and the labeling config beside it (``<name>.xml``)."""
    tasks = [studio_task(queue, i, suggestions.get(i.id), image_url) for i in items]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    config = output.with_suffix(".xml")
    config.write_text(labeling_config(queue), encoding="utf-8")
    return config


# -- exports back ----------------------------------------------------------------------------
def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error):
        return []


def is_studio_export(path: Path) -> bool:
    """A Label Studio export: JSON tasks with ``annotations``, or JSON-MIN / CSV rows with
    Label Studio's ``annotation_id`` or ``annotator`` beside our ``tuneforge_id``."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = _read_json(path)
        return isinstance(data, list) and any(
            isinstance(t, dict) and ("annotations" in t or "annotation_id" in t) for t in data
        )
    if suffix == ".csv":
        header = set(_csv_header(path))
        return "annotation_id" in header or {"annotator", ID_KEY} <= header
    return False


def read_studio_export(path: Path, queue: Queue) -> list[ExternalLabel]:
    """The labels of a Label Studio export in any of its JSON, JSON-MIN or CSV forms."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _from_min_rows(path, list(csv.DictReader(handle)), queue)
    data = _read_json(path)
    if not isinstance(data, list):
        raise DataError(f"{path} is not a Label Studio JSON export (a list of tasks).")
    if any(isinstance(t, dict) and "annotations" in t for t in data):
        return _from_tasks(path, data, queue)
    return _from_min_rows(path, data, queue)


def _choice(value: object) -> str | None:
    """A choice from a result value or a JSON-MIN cell: "a", {"choices": ["a"]}, ["a"]."""
    if isinstance(value, dict):
        value = value.get("choices")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.startswith("{") or text.startswith("["):  # CSV cells hold JSON for lists
            try:
                return _choice(json.loads(text))
            except json.JSONDecodeError:
                return text
        return text
    return None


def _annotator(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id") or "label-studio")
    return f"label-studio-user-{who}" if who is not None else "label-studio"


def _from_tasks(path: Path, tasks: list, queue: Queue) -> list[ExternalLabel]:
    out = []
    key = content_key(queue)
    for n, task in enumerate(tasks, start=1):
        data = task.get("data") or {}
        where = f"{path}: task {task.get('id', n)}"
        for annotation in task.get("annotations") or []:
            if annotation.get("was_cancelled"):
                continue
            results = [r for r in annotation.get("result") or [] if r.get("type") == "choices"]
            label = _choice(results[0].get("value")) if results else None
            if label is None:
                continue
            out.append(
                ExternalLabel(
                    label=label,
                    where=where,
                    item_id=parse_item_id(data.get(ID_KEY), where),
                    content=data.get(key) if queue.task != "image" else None,
                    annotator=_annotator(annotation),
                    at=parse_time(
                        annotation.get("updated_at") or annotation.get("created_at"), where
                    ),
                    queue=data.get(QUEUE_KEY),
                )
            )
    return out


def _from_min_rows(path: Path, rows: list, queue: Queue) -> list[ExternalLabel]:
    out = []
    key = content_key(queue)
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DataError(f"{path}: entry {n} is not an object.")
        label = _choice(row.get(FROM_NAME))
        if label is None:
            continue
        where = f"{path}: row {n}"
        out.append(
            ExternalLabel(
                label=label,
                where=where,
                item_id=parse_item_id(row.get(ID_KEY), where),
                content=row.get(key) if queue.task != "image" else None,
                annotator=str(row.get("annotator") or "label-studio"),
                at=parse_time(row.get("updated_at") or row.get("created_at"), where),
                queue=row.get(QUEUE_KEY) or None,
            )
        )
    return out
