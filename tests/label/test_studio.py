"""Label Studio formats without a server: the labeling config, tasks with pre-annotations,
and the readers of the JSON, JSON-MIN and CSV exports (shaped as Label Studio 1.23 writes
them; tests/label/test_studio_real.py checks the same against the real thing)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from tuneforge.errors import DataError
from tuneforge.label.queue import Item, Queue, Suggestion
from tuneforge.label.studio import (
    LOCAL_FILES_URL,
    image_reference,
    is_studio_export,
    labeling_config,
    read_studio_export,
    studio_annotator,
    studio_task,
)
from tuneforge.recipes.label import read_labels

LABELS = ('say "hi"', "a < b & c", "it's")
QUEUE = Queue(1, "tickets", "text", LABELS, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
IMAGES = Queue(2, "shapes", "image", ("blob", "bar"), QUEUE.created_at)
AT = "2026-12-01T23:38:24.064670Z"


def annotation(label: str, user: int, **extra) -> dict:
    """One annotation as Label Studio 1.23's JSON export writes it."""
    result = [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]
    return {
        "id": user * 10,
        "completed_by": user,
        "result": result,
        "was_cancelled": False,
        "created_at": "2026-12-01T23:00:00.000000Z",
        "updated_at": AT,
        **extra,
    }


def task(item_id: int, text: str, annotations: list[dict], queue: str = "tickets") -> dict:
    data = {"text": text, "tuneforge_id": item_id, "tuneforge_queue": queue}
    return {"id": item_id + 100, "data": data, "annotations": annotations, "predictions": [1]}


def min_row(item_id: int, text: str, label: str, user: int) -> dict:
    """A JSON-MIN (and CSV) row: the task's data, the choice under the control's name."""
    return {
        "text": text,
        "tuneforge_id": item_id,
        "tuneforge_queue": "tickets",
        "id": item_id + 100,
        "label": label,
        "annotator": user,
        "annotation_id": user * 10,
        "created_at": "2026-12-01T23:00:00.000000Z",
        "updated_at": AT,
        "lead_time": None,
    }


def write_csv_rows(path, rows: list[dict]):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=sorted(rows[0]), quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    return path


def test_the_labeling_config_escapes_label_names():
    """Quotes, < and & in a label survive as the exact choice value (the XML stays valid)."""
    root = ET.fromstring(labeling_config(QUEUE))
    assert [c.get("value") for c in root.iter("Choice")] == list(LABELS)
    assert root.find("Text").get("value") == "$text"
    assert root.find("Choices").get("toName") == "text"
    image = ET.fromstring(labeling_config(IMAGES))
    assert image.find("Image").get("name") == "image"
    assert image.find("Choices").get("toName") == "image"


def test_a_task_carries_its_ids_and_the_suggestion_as_a_pre_annotation():
    """Labels come back by tuneforge_id/queue; the suggestion is a choices prediction with
    the model as its version and the confidence as its score."""
    item = Item(7, "my invoice", "f.csv:1", "queued", "fp")
    bare = studio_task(QUEUE, item, None)
    assert bare == {"data": {"text": "my invoice", "tuneforge_id": 7, "tuneforge_queue": "tickets"}}
    [prediction] = studio_task(QUEUE, item, Suggestion(7, "run-3", LABELS[1], 0.8, 0.1, "margin"))[
        "predictions"
    ]
    assert (prediction["model_version"], prediction["score"]) == ("run-3", 0.8)
    [result] = prediction["result"]
    assert result == {
        "from_name": "label",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [LABELS[1]]},
        "score": 0.8,
    }


def test_image_tasks_point_at_a_quoted_local_files_url():
    """A path after a URL is quoted (a space or & would cut it short); without a URL it is
    the path itself."""
    assert image_reference("/data/a b&c.png", LOCAL_FILES_URL) == (
        "/data/local-files/?d=data/a%20b%26c.png"
    )
    assert image_reference("/data/a.png", None) == "/data/a.png"
    item = Item(3, "/img/x.png", "dir", "queued", "fp")
    assert studio_task(IMAGES, item, None, LOCAL_FILES_URL)["data"]["image"] == (
        "/data/local-files/?d=img/x.png"
    )


def test_every_export_form_reads_back_the_same_labels(tmp_path):
    """JSON, JSON-MIN and CSV of one project give the same labels, items, annotators (one
    name per user id in every form) and times; a cancelled annotation is no label."""
    tasks = [
        task(1, "first", [annotation(LABELS[0], 1), annotation(LABELS[1], 2)]),
        task(2, "second", [annotation(LABELS[2], 1)]),
        task(3, "third", [annotation("", 1, result=[], was_cancelled=True)]),
    ]
    rows = [
        min_row(1, "first", LABELS[0], 1),
        min_row(1, "first", LABELS[1], 2),
        min_row(2, "second", LABELS[2], 1),
    ]
    paths = [tmp_path / "full.json", tmp_path / "min.json", tmp_path / "rows.csv"]
    paths[0].write_text(json.dumps(tasks), encoding="utf-8")
    paths[1].write_text(json.dumps(rows), encoding="utf-8")
    write_csv_rows(paths[2], rows)
    expected = {
        (1, LABELS[0], "label-studio-user-1"),
        (1, LABELS[1], "label-studio-user-2"),
        (2, LABELS[2], "label-studio-user-1"),
    }
    when = dt.datetime(2026, 12, 1, 23, 38, 24, 64670, tzinfo=dt.timezone.utc)
    for path in paths:
        assert is_studio_export(path), path.name
        read = read_studio_export(path, QUEUE)
        assert {(x.item_id, x.label, x.annotator) for x in read} == expected, path.name
        assert {x.at for x in read} == {when}, path.name
        assert {x.queue for x in read} == {"tickets"}, path.name
        assert {x.content for x in read} == {"first", "second"}, path.name


def test_annotators_have_one_name_per_user():
    """An id as number or text is one user; an old export's user object gives its e-mail."""
    assert studio_annotator(3) == studio_annotator("3") == "label-studio-user-3"
    assert studio_annotator({"id": 3, "email": "ann@example.com"}) == "ann@example.com"
    assert studio_annotator({"id": 3}) == "label-studio-user-3"
    assert studio_annotator("ann@example.com") == "ann@example.com"
    assert studio_annotator(None) == "label-studio"


def test_a_broken_json_export_is_an_error_naming_the_file(tmp_path):
    """A cut-off download is a DataError with the file and where the JSON broke, not a CSV
    reader's complaint about columns."""
    path = tmp_path / "export.json"
    path.write_text('[{"id": 1, "annotations": [', encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON") as raised:
        read_labels(path, QUEUE)
    assert str(path) in str(raised.value) and "line 1" in str(raised.value)


def test_an_export_of_another_project_is_refused(tmp_path):
    """Annotations of other controls (another project's labeling config) are refused with a
    message saying so, in JSON and in JSON-MIN / CSV form."""
    other = annotation("positive", 1)
    other["result"][0]["from_name"] = "sentiment"
    full = tmp_path / "full.json"
    full.write_text(json.dumps([task(1, "first", [other])]), encoding="utf-8")
    with pytest.raises(DataError, match="answer sentiment.*another project"):
        read_studio_export(full, QUEUE)
    row = min_row(1, "first", "positive", 1)
    row["sentiment"] = row.pop("label")
    for path in (tmp_path / "min.json", tmp_path / "rows.csv"):
        if path.suffix == ".csv":
            write_csv_rows(path, [row])
        else:
            path.write_text(json.dumps([row]), encoding="utf-8")
        with pytest.raises(DataError, match="no 'label' column.*another project"):
            read_studio_export(path, QUEUE)


def test_tasks_without_annotations_are_refused(tmp_path):
    """The tasks file tuneforge wrote, sent back unlabelled, says what to do instead."""
    path = tmp_path / "tasks.json"
    item = Item(7, "text", "f.csv:1", "queued", "fp")
    path.write_text(json.dumps([studio_task(QUEUE, item, None)]), encoding="utf-8")
    with pytest.raises(DataError, match="without annotations"):
        read_labels(path, QUEUE)
