"""``tuneforge serve --label-studio`` as the ML backend of a real Label Studio project
(tests/label_studio_server.py), with the server's token: Label Studio connects to it, gets
pre-annotations from the served model, and its annotation webhooks land in the queue.

Label Studio's REST API as a user would drive it: POST /api/projects, POST /api/ml (Basic
auth, the token as password), POST /api/projects/{id}/import, POST /api/dm/actions
?id=retrieve_tasks_predictions, GET /api/predictions, POST /api/webhooks/ (payload on, our
Bearer token in its headers), POST /api/tasks/{id}/annotations/, PATCH /api/annotations/{id}/.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tuneforge.label.queue import LabelStore
from tuneforge.store import open_store

from ..conftest import KEYWORDS
from .servers import free_port, start_server

TOKEN = "label-studio-contract-token-0123"
QUEUE = "ls-contract"


@pytest.fixture(scope="module")
def backend(served_run):
    """The tiny run served with the Label Studio contract, events into queue QUEUE."""
    port = free_port()
    flags = ["--no-log", "--label-studio", "--label-queue", QUEUE]
    proc = start_server(served_run, port, *flags, token=TOKEN)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def labeling_config() -> str:
    choices = "".join(f'<Choice value="{label}"/>' for label in KEYWORDS)
    return (
        '<View><Text name="text" value="$text"/>'
        f'<Choices name="label" toName="text" choice="single">{choices}</Choices></View>'
    )


def eventually(check, seconds: float = 20.0):
    """``check()``'s first truthy value, tried until ``seconds`` pass (webhooks may lag)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_label_studio_gets_predictions_and_sends_annotations_back(
    label_studio_server, backend, served_run
):
    """Connected as an ML backend, the server passes Label Studio's health and setup checks,
    pre-annotates a task with the model's choice, and each annotation created or updated in
    Label Studio is stored in the queue (the text added as an item) under its annotator."""
    with label_studio_server.client() as ls:
        made = ls.post("/api/projects", json={"title": "live", "label_config": labeling_config()})
        assert made.status_code == 201, made.text
        project = made.json()["id"]
        ml = ls.post(
            "/api/ml",
            json={
                "project": project,
                "url": backend,
                "title": "tuneforge",
                "auth_method": "BASIC_AUTH",
                "basic_auth_user": "label-studio",
                "basic_auth_pass": TOKEN,
            },
        )
        assert ml.status_code == 201, ml.text
        assert ml.json()["state"] == "CO", ml.json()  # connected
        text = "refund please, the invoice charge is wrong"
        imported = ls.post(f"/api/projects/{project}/import", json=[{"data": {"text": text}}])
        assert imported.status_code == 201, imported.text
        [task] = ls.get("/api/tasks", params={"project": project}).json()["tasks"]

        action = ls.post(
            "/api/dm/actions",
            params={"id": "retrieve_tasks_predictions", "project": project},
            json={"selectedItems": {"all": True, "excluded": []}},
        )
        assert action.status_code == 200, action.text
        [prediction] = ls.get("/api/predictions", params={"task": task["id"]}).json()
        [choice] = prediction["result"]
        assert choice["from_name"] == "label" and choice["type"] == "choices"
        assert choice["value"]["choices"][0] in KEYWORDS
        assert 0 < prediction["score"] <= 1
        version = httpx.get(f"{backend}/health").json()["model_version"]
        assert prediction["model_version"] == version

        hook = ls.post(
            "/api/webhooks/",
            json={
                "project": project,
                "url": f"{backend}/webhook",
                "send_payload": True,
                "send_for_all_actions": False,
                "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
                "headers": {"Authorization": f"Bearer {TOKEN}"},
            },
        )
        assert hook.status_code == 201, hook.text
        result = [dict(choice, value={"choices": ["billing"]})]
        result[0].pop("score", None)
        annotation = ls.post(f"/api/tasks/{task['id']}/annotations/", json={"result": result})
        assert annotation.status_code == 201, annotation.text
        user = annotation.json()["completed_by"]

        store = LabelStore(open_store(served_run))
        queue = store.queue(QUEUE)

        def labels():
            return [(a.label, a.annotator) for a in store.annotations(queue)]

        assert eventually(labels) == [("billing", f"label-studio-user-{user}")]
        assert [i.content for i in store.items(queue)] == [text]

        result[0]["value"] = {"choices": ["account"]}
        patched = ls.patch(f"/api/annotations/{annotation.json()['id']}/", json={"result": result})
        assert patched.status_code == 200, patched.text
        assert eventually(lambda: labels() == [("account", f"label-studio-user-{user}")])
