"""Label Studio both ways: a queue's items as Label Studio tasks (the model's suggestion as a
pre-annotation) with the labeling config their project needs, and Label Studio's JSON,
JSON-MIN and CSV exports read back as labels with annotator and time.

Each task carries ``tuneforge_id`` and ``tuneforge_queue`` in its data, so labels come back to
the exact item, and an export of another queue's project is recognised and refused.

Checked against Label Studio 1.23 (tests/label/test_studio_real.py): its exports name an
annotator by user id only (``completed_by: 3`` in JSON, ``annotator: 3`` in JSON-MIN and CSV),
so every form reads back as the same ``label-studio-user-3``; older versions' JSON carried a
user object, whose e-mail is used. A single choice is a plain string in JSON-MIN and CSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from ..errors import DataError
from .formats import ExternalLabel, content_key, parse_item_id, parse_time
from .queue import Item, Queue, Suggestion

FROM_NAME = "label"  # the <Choices> control of the labeling config
ID_KEY, QUEUE_KEY = "tuneforge_id", "tuneforge_queue"
LOCAL_FILES_URL = "/data/local-files/?d="  # Label Studio's URL for files under its document root


def _task(queue: Queue):
    from ..tasks import TASKS

    return TASKS[queue.task]


def labeling_config(queue: Queue) -> str:
    """The project's labeling config: the text (or image) and one choice per label."""
    key = content_key(queue)
    tag = _task(queue).label_studio_tag
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
    files URL, with the path relative to its document root), or the path itself. The path is
    URL-quoted after a URL: a space, ``&`` or ``#`` in a file name would cut it short."""
    if image_url is None:
        return path
    return f"{image_url}{quote(path.lstrip('/'), safe='/')}"


def studio_task(
    queue: Queue, item: Item, suggestion: Suggestion | None, image_url: str | None = None
) -> dict:
    """One task: the item's content and ids, and the suggestion as a prediction."""
    key = content_key(queue)
    files = _task(queue).items_are_files
    content = image_reference(item.content, image_url) if files else item.content
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


@dataclass(frozen=True)
class Controls:
    """Where a project's labeling config puts the choice and what it is about: the
    ``<Choices>`` name (``from_name``), the object it labels (``to_name``) and the task data
    field that object shows (``data_key``)."""

    from_name: str = FROM_NAME
    to_name: str = "text"
    data_key: str = "text"


def studio_controls(label_config: object, default_key: str = "text") -> Controls:
    """The controls of a labeling config (a tuneforge one, or one set up by hand with a
    ``<Choices>`` on a ``<Text>`` / ``<Image>``); ours when it is missing or unreadable."""
    fallback = Controls(FROM_NAME, default_key, default_key)
    if not isinstance(label_config, str) or not label_config.strip():
        return fallback
    try:
        root = ElementTree.fromstring(label_config)
    except ElementTree.ParseError:
        return fallback
    choices = [c for c in root.iter("Choices") if c.get("name")]
    ours = [c for c in choices if c.get("name") == FROM_NAME] or choices
    if not ours:
        return fallback
    from_name, to_name = ours[0].get("name"), ours[0].get("toName") or default_key
    shown = next((e for e in root.iter() if e.get("name") == to_name and e is not ours[0]), None)
    value = shown.get("value", "") if shown is not None else ""
    return Controls(from_name, to_name, value[1:] if value.startswith("$") else default_key)


def choice_prediction(controls: Controls, label: str, score: float, model_version: str) -> dict:
    """One task's pre-annotation as Label Studio's ML backend answers /predict with it."""
    return {
        "result": [
            {
                "from_name": controls.from_name,
                "to_name": controls.to_name,
                "type": "choices",
                "value": {"choices": [label]},
                "score": round(score, 6),
            }
        ],
        "score": round(score, 6),
        "model_version": model_version,
    }


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
class _NotJSON(ValueError):
    pass


def _read_json(path: Path) -> object:
    """The file's JSON; :class:`_NotJSON` with the parser's line and column if it is not."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _NotJSON(f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise _NotJSON("not UTF-8 text") from None


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
        try:
            data = _read_json(path)
        except _NotJSON:
            return False
        return isinstance(data, list) and any(
            isinstance(t, dict) and ("annotations" in t or "annotation_id" in t) for t in data
        )
    if suffix == ".csv":
        header = set(_csv_header(path))
        return "annotation_id" in header or {"annotator", ID_KEY} <= header
    return False


_EXPORT_HINT = (
    "Export the Label Studio project made from 'tuneforge label export --format label-studio' "
    '(its labeling config has <Choices name="label">).'
)


def read_studio_export(path: Path, queue: Queue) -> list[ExternalLabel]:
    """The labels of a Label Studio export in any of its JSON, JSON-MIN or CSV forms. An
    export whose annotations answer other controls (another project's) is refused."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _from_min_rows(path, list(csv.DictReader(handle)), queue)
    try:
        data = _read_json(path)
    except _NotJSON as exc:
        raise DataError(
            f"{path} is not valid JSON ({exc}).", hint="Export the project from Label Studio again."
        ) from None
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise DataError(f"{path} is not a Label Studio export (a JSON list of tasks).")
    if any("annotations" in t for t in data):
        return _from_tasks(path, data, queue)
    if data and not any("annotation_id" in t or FROM_NAME in t for t in data):
        raise DataError(
            f"{path} holds Label Studio tasks without annotations.",
            hint="Label them in Label Studio, then export the project (JSON, JSON-MIN or CSV).",
        )
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


def studio_annotator(who: object) -> str:
    """One name per Label Studio user whichever export (or webhook) it comes from: a user id
    (``3``, ``"3"``) is ``label-studio-user-3``; a user object or an e-mail gives the e-mail."""
    if isinstance(who, dict):
        return str(who.get("email") or studio_annotator(who.get("id")))
    if isinstance(who, bool) or who in (None, ""):
        return "label-studio"
    text = str(who).strip()
    return f"label-studio-user-{text}" if text.isdigit() else text


def choice_results(annotation: dict, from_name: str = FROM_NAME) -> list[dict]:
    """The annotation's results of our ``<Choices name="label">`` (another project's controls
    are not guessed at: its export is refused instead), or of ``from_name``."""
    results = annotation.get("result")
    results = results if isinstance(results, list) else []
    return [
        r
        for r in results
        if isinstance(r, dict) and r.get("type") == "choices" and r.get("from_name") == from_name
    ]


def annotation_label(annotation: dict, from_name: str = FROM_NAME) -> str | None:
    """The single choice of a submitted annotation; None for a cancelled (skipped) one."""
    if annotation.get("was_cancelled"):
        return None
    results = choice_results(annotation, from_name)
    return _choice(results[0].get("value")) if results else None


def _controls(annotation: dict) -> set[str]:
    results = annotation.get("result")
    if annotation.get("was_cancelled") or not isinstance(results, list):
        return set()
    return {str(r.get("from_name")) for r in results if isinstance(r, dict)}


def _from_tasks(path: Path, tasks: list[dict], queue: Queue) -> list[ExternalLabel]:
    out, controls = [], set()
    key = content_key(queue)
    for n, task in enumerate(tasks, start=1):
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        where = f"{path}: task {task.get('id', n)}"
        annotations = task.get("annotations")
        for annotation in annotations if isinstance(annotations, list) else []:
            if not isinstance(annotation, dict):
                continue
            controls |= _controls(annotation)
            label = annotation_label(annotation)
            if label is None:
                continue
            out.append(
                ExternalLabel(
                    label=label,
                    where=where,
                    item_id=parse_item_id(data.get(ID_KEY), where),
                    content=data.get(key) if not _task(queue).items_are_files else None,
                    annotator=studio_annotator(annotation.get("completed_by")),
                    at=parse_time(
                        annotation.get("updated_at") or annotation.get("created_at"), where
                    ),
                    queue=data.get(QUEUE_KEY),
                )
            )
    if not out and controls:
        raise DataError(
            f"{path}: its annotations answer {', '.join(sorted(controls))}, not the "
            f"'{FROM_NAME}' choices of a tuneforge project: an export of another project?",
            hint=_EXPORT_HINT,
        )
    return out


def _from_min_rows(path: Path, rows: list, queue: Queue) -> list[ExternalLabel]:
    if rows and not any(FROM_NAME in r for r in rows if isinstance(r, dict)):
        columns = ", ".join(sorted(rows[0])) if isinstance(rows[0], dict) else "none"
        raise DataError(
            f"{path}: no '{FROM_NAME}' column (found {columns}): an export of another project?",
            hint=_EXPORT_HINT,
        )
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
                content=row.get(key) if not _task(queue).items_are_files else None,
                annotator=studio_annotator(row.get("annotator")),
                at=parse_time(row.get("updated_at") or row.get("created_at"), where),
                queue=row.get(QUEUE_KEY) or None,
            )
        )
    return out
