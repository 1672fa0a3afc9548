"""Label Studio's ML backend contract on the model server (``serve --label-studio``): health,
setup, pre-annotations from the served model, annotation events into a queue, and bad bodies
answered with 4xx. tests/serve/test_label_studio_real.py checks it against Label Studio."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.errors import ConfigError
from tuneforge.label.queue import LabelStore, NewItem, text_fingerprint
from tuneforge.label.studio_events import StudioIntake
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.store import open_store

LABELS = ("neg", "neu", "pos")
TOKEN = "label-studio-backend-token"
CONFIG = (
    '<View><Text name="review" value="$body"/>'
    '<Choices name="mood" toName="review"><Choice value="neg"/><Choice value="pos"/></Choices>'
    "</View>"
)


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    from tuneforge.types import LabelMap

    return TorchPredictor(load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(LABELS)))


@pytest.fixture
def store(runs_dir):
    return LabelStore(open_store(runs_dir))


def client(predictor, store=None, **settings):
    settings = ServeSettings(label_studio=True, **settings)
    intake = StudioIntake(store, "reviews", "text", LABELS) if store is not None else None
    app = create_app(predictor, settings, {"name": "m", "version": "run-9"}, label_intake=intake)
    return TestClient(app)


def event(text: str, label: str, user: int = 4, action: str = "ANNOTATION_CREATED", **data):
    """A webhook body as Label Studio 1.23 sends it (payload on)."""
    result = [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]
    annotation = {
        "id": 11,
        "task": 5,
        "completed_by": user,
        "result": result,
        "was_cancelled": False,
        "updated_at": "2026-12-01T10:00:00.5Z",
    }
    task = {"id": 5, "project": 2, "data": {"text": text, **data}}
    return {"action": action, "annotation": annotation, "task": task, "project": {"id": 2}}


def test_health_and_setup_answer_as_label_studio_expects(predictor):
    """/health says UP with a model class, /setup gives the model version; the ML backend
    routes exist only with --label-studio."""
    with client(predictor) as c:
        health = c.get("/health").json()
        assert health["status"] == "UP" and health["model_class"]
        setup = c.post("/setup", json={"project": "2.1700000000", "schema": CONFIG})
        assert setup.json() == {"model_version": "run-9"}
    plain = create_app(predictor, ServeSettings(), {"name": "m", "version": "run-9"})
    with TestClient(plain) as c:
        assert c.get("/health").status_code == 404
        assert c.post("/predict", json={"tasks": []}).status_code == 404


def test_predict_answers_one_choice_per_task_from_the_served_model(predictor):
    """Each task gets the model's top label as a choice of the config's own control, on the
    data field the config shows, with the model's probability as score."""
    texts = ["a great day", "a terrible day"]
    tasks = [{"id": i, "data": {"body": t}} for i, t in enumerate(texts)]
    expected = predictor.predict_proba(texts)
    with client(predictor) as c:
        answer = c.post("/predict", json={"tasks": tasks, "label_config": CONFIG, "project": "2"})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == 2
    for row, probs in zip(results, expected):
        [choice] = row["result"]
        assert (choice["from_name"], choice["to_name"], choice["type"]) == (
            "mood",
            "review",
            "choices",
        )
        assert choice["value"] == {"choices": [LABELS[int(probs.argmax())]]}
        assert row["score"] == pytest.approx(float(probs.max()), abs=1e-5)
        assert row["model_version"] == "run-9"


@pytest.mark.parametrize(
    "path,body,status",
    [
        ("/predict", b'{"tasks": [', 400),
        ("/predict", b"[]", 422),
        ("/predict", b'{"tasks": []}', 422),
        ("/predict", b'{"tasks": "x"}', 422),
        ("/predict", b'{"tasks": [{"data": {"other": "x"}}]}', 422),
        ("/predict", b'{"tasks": [{"data": {"text": 3}}]}', 422),
        ("/predict", b'{"tasks": [7]}', 422),
        ("/predict", b'{"tasks": [{"data": {"text": "a"}}], "label_config": "<View"}', 200),
        ("/setup", b'{"schema": 5}', 422),
        ("/setup", b'{"schema": "<View><Text name=\\"t\\" value=\\"$t\\"/></View>"}', 422),
        ("/webhook", b"{}", 422),
        ("/webhook", b'{"action": 3}', 422),
        ("/webhook", b'{"action": "ANNOTATION_CREATED"}', 422),
        ("/webhook", b'{"action": "ANNOTATION_CREATED", "task": {}, "annotation": []}', 422),
        ("/webhook", b'{"action": "START_TRAINING", "project": {}}', 200),
        ("/webhook", b"\xff", 400),
    ],
)
def test_bad_bodies_are_answered_with_4xx(predictor, store, path, body, status):
    """Malformed JSON, wrong shapes and missing fields are 4xx with a message, never 5xx; an
    unreadable labeling config falls back to tuneforge's own controls."""
    with client(predictor, store) as c:
        answer = c.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    if status >= 400:
        assert answer.json()["error"]


def test_too_many_or_too_long_texts_are_refused(predictor):
    """The server's per-request limits hold for Label Studio's tasks as for /v1/predict."""
    with client(predictor, max_inputs=2, max_chars=10) as c:
        many = [{"data": {"text": "a"}}] * 3
        assert c.post("/predict", json={"tasks": many}).status_code == 413
        long = [{"data": {"text": "x" * 11}}]
        assert c.post("/predict", json={"tasks": long}).status_code == 413


def test_annotation_events_land_in_the_queue(predictor, store):
    """An annotation event for a task tuneforge exported lands on that item; one for a text
    the queue lacks adds the item first; an update replaces the annotator's label; a skipped
    task stores nothing."""
    queue = store.open_queue("reviews", "text", LABELS)
    store.add_items(queue, [NewItem("known text", text_fingerprint("known text"), "f.csv:1")])
    [known] = store.items(queue)
    with client(predictor, store) as c:
        first = c.post("/webhook", json=event("edited text", "pos", tuneforge_id=known.id))
        assert first.status_code == 200, first.text
        assert first.json()["items"] == [known.id] and first.json()["added"] == 1
        fresh = c.post("/webhook", json=event("a text only Label Studio had", "neg", user=5))
        assert fresh.json()["status"] == "stored"
        update = c.post("/webhook", json=event("known text", "neu", action="ANNOTATION_UPDATED"))
        assert update.json()["replaced"] == 1
        skipped = event("known text", "neg", user=6)
        skipped["annotation"].update(was_cancelled=True, result=[])
        assert c.post("/webhook", json=skipped).json()["status"] == "skipped"
    items = {i.content: i.id for i in store.items(queue)}
    assert set(items) == {"known text", "a text only Label Studio had"}
    stored = {(a.item_id, a.label, a.annotator) for a in store.annotations(queue)}
    assert stored == {
        (known.id, "neu", "label-studio-user-4"),
        (items["a text only Label Studio had"], "neg", "label-studio-user-5"),
    }
    assert {a.origin for a in store.annotations(queue)} == {"label-studio"}


def test_events_of_another_queue_match_by_text_and_unknown_labels_are_refused(predictor, store):
    """A tuneforge_id of another queue is not this queue's item (the text decides); a label
    outside the queue's label set is a 422 naming it, and nothing is stored."""
    with client(predictor, store) as c:
        other = c.post("/webhook", json=event("t", "pos", tuneforge_id=1, tuneforge_queue="x"))
        assert other.status_code == 200
        bad = c.post("/webhook", json=event("u", "angry"))
        assert bad.status_code == 422 and "'angry'" in bad.json()["error"]
    queue = store.queue("reviews")
    assert [i.content for i in store.items(queue)] == ["t"]
    assert len(store.annotations(queue)) == 1


def test_without_a_queue_events_are_refused_not_dropped(predictor):
    """A server without --label-queue says so to Label Studio (409) instead of dropping."""
    with client(predictor) as c:
        answer = c.post("/webhook", json=event("t", "pos"))
    assert answer.status_code == 409 and "--label-queue" in answer.json()["error"]


def test_with_a_token_the_backend_asks_for_it(predictor, store):
    """Bearer (webhook headers) or Basic auth with the token as password (Label Studio's ML
    backend setting) is let in; none or a wrong one is 401; /health stays open."""
    basic = base64.b64encode(f"labelstudio:{TOKEN}".encode()).decode()
    wrong = base64.b64encode(b"labelstudio:nope").decode()
    body = {"tasks": [{"data": {"text": "a"}}]}
    with client(predictor, store, token=TOKEN) as c:
        assert c.get("/health").status_code == 200
        assert c.post("/predict", json=body).status_code == 401
        assert (
            c.post("/predict", json=body, headers={"Authorization": f"Basic {wrong}"}).status_code
            == 401
        )
        assert (
            c.post("/predict", json=body, headers={"Authorization": f"Basic {basic}"}).status_code
            == 200
        )
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert c.post("/webhook", json=event("t", "pos"), headers=bearer).status_code == 200


def test_a_label_queue_needs_label_studio():
    """--label-queue without --label-studio is a usage error, not silently unused."""
    with pytest.raises(ConfigError, match="--label-studio"):
        ServeSettings(label_queue="reviews")
