"""Label Studio interop against a real Label Studio (tests/label_studio_server.py): a queue
out as tasks with pre-annotations and the labeling config, annotated through Label Studio's
REST API by two users, and its JSON, JSON-MIN and CSV exports read back.

Plain HTTP on the documented API (no SDK), as a user's script would do it:
POST /api/projects, POST /api/projects/{id}/import, GET /api/tasks, GET /api/predictions,
POST /api/users/, POST /api/tasks/{id}/annotations/, POST /api/storages/localfiles,
GET /api/projects/{id}/export?exportType=JSON|JSON_MIN|CSV.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tuneforge.errors import DataError
from tuneforge.label.queue import Suggestion
from tuneforge.label.studio import LOCAL_FILES_URL
from tuneforge.recipes.label import (
    export_queue,
    import_items,
    label_store,
    read_labels,
    receive_labels,
)

from ..conftest import write_csv

LABELS = ("billing", "shipping", 'say "hi" <&>')  # a label that needs escaping in the XML
TEXTS = [
    "my invoice shows a double charge",
    "where is my parcel, the courier never came",
    "the refund never arrived",
    "tracking says delivered but nothing here",
]
EXPORTS = {"JSON": "json", "JSON_MIN": "json", "CSV": "csv"}


def choices(label: str, to_name: str = "text") -> list[dict]:
    return [
        {"from_name": "label", "to_name": to_name, "type": "choices", "value": {"choices": [label]}}
    ]


def new_project(ls, title: str, config: str) -> int:
    answer = ls.post("/api/projects", json={"title": title, "label_config": config})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def import_tasks(ls, project: int, tasks: list[dict]) -> dict:
    answer = ls.post(f"/api/projects/{project}/import", json=tasks)
    assert answer.status_code == 201, answer.text
    return answer.json()


def studio_tasks(ls, project: int) -> list[dict]:
    answer = ls.get("/api/tasks", params={"project": project, "page_size": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["tasks"]


def annotate(ls, task_id: int, result: list[dict], **extra) -> dict:
    answer = ls.post(f"/api/tasks/{task_id}/annotations/", json={"result": result, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def export(ls, project: int, kind: str, folder: Path) -> Path:
    answer = ls.get(f"/api/projects/{project}/export", params={"exportType": kind})
    assert answer.status_code == 200, answer.text
    path = folder / f"export-{kind.lower()}.{EXPORTS[kind]}"
    path.write_bytes(answer.content)
    return path


def second_user(ls) -> int:
    """Another annotator in the admin's organisation (one per session is enough)."""
    found = [u for u in ls.get("/api/users/").json() if u["email"] == "second@tuneforge.test"]
    if found:
        return found[0]["id"]
    answer = ls.post("/api/users/", json={"email": "second@tuneforge.test", "username": "second"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.fixture
def ls(label_studio_server):
    with label_studio_server.client() as client:
        yield client


@pytest.fixture
def text_queue(runs_dir, tmp_path):
    """A text queue of four items, a model's suggestion for two of them."""
    source = write_csv(tmp_path / "texts.csv", [{"text": t} for t in TEXTS], fields=("text",))
    result = import_items(str(source), "tickets", runs_dir, labels=LABELS)
    store = label_store(runs_dir)
    items = store.items(result.queue)
    store.add_suggestions(
        [
            Suggestion(items[0].id, "run-7", "billing", 0.91, 0.2, "margin"),
            Suggestion(items[1].id, "run-7", "shipping", 0.64, 0.5, "margin"),
        ]
    )
    return result.queue, items


def test_a_queue_round_trips_through_label_studio_in_every_export_form(
    ls, text_queue, runs_dir, tmp_path
):
    """Tasks and config load into Label Studio with the suggestions as pre-annotations; labels
    given there by two users come back from JSON, JSON-MIN and CSV alike, on the right items,
    with the same annotator names and Label Studio's times; a cancelled annotation is not a
    label."""
    queue, items = text_queue
    assert export_queue("tickets", runs_dir, tmp_path / "tasks.json", "label-studio") == 4
    config = (tmp_path / "tasks.xml").read_text(encoding="utf-8")
    project = new_project(ls, "tickets", config)
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert import_tasks(ls, project, tasks)["prediction_count"] == 2

    by_item = {t["data"]["tuneforge_id"]: t for t in studio_tasks(ls, project)}
    assert set(by_item) == {i.id for i in items}
    predicted = ls.get("/api/predictions", params={"task": by_item[items[0].id]["id"]}).json()
    assert [(p["model_version"], p["score"]) for p in predicted] == [("run-7", 0.91)]
    assert predicted[0]["result"][0]["value"] == {"choices": ["billing"]}

    other = second_user(ls)
    given = [
        annotate(ls, by_item[items[0].id]["id"], choices("billing")),
        annotate(ls, by_item[items[0].id]["id"], choices("shipping"), completed_by=other),
        annotate(ls, by_item[items[1].id]["id"], choices(LABELS[2])),
    ]
    annotate(ls, by_item[items[2].id]["id"], [], was_cancelled=True)
    expected = {
        (items[0].id, "billing", f"label-studio-user-{given[0]['completed_by']}"),
        (items[0].id, "shipping", f"label-studio-user-{other}"),
        (items[1].id, LABELS[2], f"label-studio-user-{given[2]['completed_by']}"),
    }
    times = {
        (a["completed_by"], a["result"][0]["value"]["choices"][0]): a["updated_at"] for a in given
    }

    for n, kind in enumerate(EXPORTS):
        path = export(ls, project, kind, tmp_path)
        read = read_labels(path, queue)
        assert {(x.item_id, x.label, x.annotator) for x in read} == expected, kind
        assert all(x.queue == "tickets" for x in read), kind
        counts = receive_labels(path, "tickets", runs_dir).counts
        assert (counts.added, counts.unchanged) == ((3, 0) if n == 0 else (0, 3)), kind

    stored = label_store(runs_dir).annotations(queue)
    assert {(a.item_id, a.label, a.annotator) for a in stored} == expected
    assert {a.origin for a in stored} == {"label-studio"}
    for a in stored:
        user = int(a.annotator.rsplit("-", 1)[1])
        when = dt.datetime.fromisoformat(times[(user, a.label)].replace("Z", "+00:00"))
        assert a.at == when


def test_an_export_of_another_queue_or_project_is_refused(ls, text_queue, runs_dir, tmp_path):
    """Labels exported from another queue's project, or from a project tuneforge did not set
    up, are refused with a message that says so; nothing lands."""
    queue, items = text_queue
    export_queue("tickets", runs_dir, tmp_path / "tasks.json", "label-studio")
    project = new_project(ls, "tickets-2", (tmp_path / "tasks.xml").read_text(encoding="utf-8"))
    import_tasks(ls, project, json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8")))
    first = studio_tasks(ls, project)[0]
    annotate(ls, first["id"], choices("billing"))
    ours = export(ls, project, "JSON", tmp_path)
    write_csv(tmp_path / "more.csv", [{"text": "a different queue's text"}], fields=("text",))
    import_items(str(tmp_path / "more.csv"), "other-queue", runs_dir, labels=LABELS)
    with pytest.raises(DataError, match="queue tickets, not 'other-queue'"):
        receive_labels(ours, "other-queue", runs_dir)

    foreign = new_project(
        ls,
        "sentiment",
        '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
        '<Choice value="positive"/><Choice value="negative"/></Choices></View>',
    )
    import_tasks(ls, foreign, [{"data": {"text": TEXTS[0]}}])
    result = [{**choices("positive")[0], "from_name": "sentiment"}]
    annotate(ls, studio_tasks(ls, foreign)[0]["id"], result)
    for kind in EXPORTS:
        path = export(ls, foreign, kind, tmp_path)
        with pytest.raises(DataError, match="another project") as raised:
            receive_labels(path, "tickets", runs_dir)
        assert str(path) in str(raised.value)
    assert label_store(runs_dir).annotations(queue) == []


def test_an_image_queue_loads_into_label_studio_by_local_files_url(ls, runs_dir, tmp_path):
    """An image queue's config and tasks import into Label Studio; the task's local-files URL
    (quoted: the file name has a space) serves the very image, and its label comes back."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "shapes"
    folder.mkdir()
    for n in range(2):
        pixels = np.full((8, 8), 40 * (n + 1), dtype=np.uint8)
        Image.fromarray(pixels, "L").save(folder / f"shape {n}.png")
    queue = import_items(str(folder), "shapes", runs_dir, labels=("blob", "bar")).queue
    assert queue.task == "image"
    export_queue(
        "shapes", runs_dir, tmp_path / "img.json", "label-studio", image_url=LOCAL_FILES_URL
    )
    project = new_project(ls, "shapes", (tmp_path / "img.xml").read_text(encoding="utf-8"))
    storage = ls.post(
        "/api/storages/localfiles",
        json={"project": project, "path": str(folder), "title": "shapes", "use_blob_urls": True},
    )
    assert storage.status_code == 201, storage.text
    import_tasks(ls, project, json.loads((tmp_path / "img.json").read_text(encoding="utf-8")))

    task = studio_tasks(ls, project)[0]
    item = label_store(runs_dir).items_by_id(queue, [task["data"]["tuneforge_id"]])
    path = Path(next(iter(item.values())).content)
    image = ls.get(task["data"]["image"])
    assert image.status_code == 200, task["data"]["image"]
    assert image.content == path.read_bytes()

    annotate(ls, task["id"], choices("bar", to_name="image"))
    counts = receive_labels(export(ls, project, "JSON", tmp_path), "shapes", runs_dir).counts
    assert counts.added == 1
    [stored] = label_store(runs_dir).annotations(queue)
    assert (stored.item_id, stored.label) == (task["data"]["tuneforge_id"], "bar")
