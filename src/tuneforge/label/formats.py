"""Queue items out to people and their labels back in: plain CSV and JSONL for spreadsheets
and scripts (Label Studio's formats are in :mod:`tuneforge.label.studio`).

An exported row carries the item's ``id`` (the key the labels come back by), its content
(``text``, or ``image`` for an image's path), the model's suggestion and an empty ``label`` for
the person to fill. A file coming back needs a ``label`` column and either ``id`` or the
item's content (``text`` / ``image``); ``annotator`` and ``labelled_at`` are optional.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .queue import Item, Queue, Suggestion

FILE_FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class ExternalLabel:
    """One label read from a file: the item it belongs to (by ``item_id``, else by its
    ``content``), who gave it and when. ``where`` names its row for messages; ``queue`` is the
    queue the file says it came from, when it says (Label Studio tasks carry it)."""

    label: str
    where: str
    item_id: int | None = None
    content: str | None = None
    annotator: str | None = None
    at: dt.datetime | None = None
    queue: str | None = None


def content_key(queue: Queue) -> str:
    """The column holding an item's content: what the queue's task takes (``text``,
    ``image``)."""
    from ..tasks import TASKS

    return TASKS[queue.task].input_noun


def export_rows(
    queue: Queue, items: Sequence[Item], suggestions: dict[int, Suggestion]
) -> list[dict]:
    key = content_key(queue)
    rows = []
    for item in items:
        s = suggestions.get(item.id)
        rows.append(
            {
                "id": item.id,
                key: item.content,
                "suggestion": s.label if s else "",
                "confidence": round(s.confidence, 6) if s else "",
                "label": "",
            }
        )
    return rows


def write_rows(rows: list[dict], path: Path, fmt: str) -> None:
    """``rows`` as CSV (a header, then one line each) or JSONL (one object per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        path.write_text(text, encoding="utf-8")
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        fields = list(rows[0]) if rows else ["id", "text", "suggestion", "confidence", "label"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_rows(path: Path) -> list[dict]:
    """The records of a CSV or JSONL file (by extension; ``.json`` lines count as JSONL)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {n} is not JSON ({exc.msg}).") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}: line {n} is not a JSON object.")
            records.append(record)
        return records
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def parse_time(value: object, where: str) -> dt.datetime | None:
    """An ISO 8601 time (``Z`` allowed; naive counts as UTC), or None when empty."""
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{where}: '{value}' is not an ISO 8601 time.") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def parse_item_id(value: object, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise DataError(f"{where}: id '{value}' is not a whole number.") from None


def labels_from_rows(path: Path, records: list[dict], queue: Queue) -> list[ExternalLabel]:
    """Labels of a CSV/JSONL file; rows with an empty ``label`` are not labelled yet and are
    skipped. A file without ``label``, or without ``id`` and the content column, is refused."""
    key = content_key(queue)
    columns = set(records[0]) if records else set()
    if records and ("label" not in columns or not ({"id", key} & columns)):
        raise DataError(
            f"{path}: expected a 'label' column and an 'id' or '{key}' column, found "
            f"{', '.join(sorted(columns)) or 'none'}.",
            hint=f"Label the file 'tuneforge label export --queue {queue.name}' wrote.",
        )
    out = []
    for n, record in enumerate(records, start=1):
        label = str(record.get("label") or "").strip()
        if not label:
            continue
        where = f"{path}: row {n}"
        out.append(
            ExternalLabel(
                label=label,
                where=where,
                item_id=parse_item_id(record.get("id"), where),
                content=record.get(key) or None,
                annotator=str(record.get("annotator") or "").strip() or None,
                at=parse_time(record.get("labelled_at"), where),
            )
        )
    return out
