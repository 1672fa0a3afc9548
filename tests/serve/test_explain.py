"""POST /v1/explain: off by default, the same checks and auth as /v1/predict, 4xx for bad
requests, its own concurrency limit."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

TOKEN = "explain-token-for-tests"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )


def _client(predictor, **settings):
    app = create_app(predictor, ServeSettings(**settings), {"name": "m", "version": "v1"})
    return TestClient(app)


def test_explain_is_off_unless_asked_for(predictor):
    """Without --explain the endpoint does not exist (and is not in the OpenAPI document)."""
    with _client(predictor) as client:
        assert client.post("/v1/explain", json={"inputs": ["hi"]}).status_code == 404
        assert "/v1/explain" not in client.get("/openapi.json").json()["paths"]


def test_explain_gives_signed_word_scores_for_the_label_or_a_target(predictor):
    """Each text gets its predicted label and one signed score per word; `target` explains
    another label; `method` picks occlusion; both are documented."""
    with _client(predictor, explain=True) as client:
        r = client.post("/v1/explain", json={"inputs": ["my card was charged twice", "hello"]})
        assert r.status_code == 200, r.text
        first, second = r.json()["explanations"]
        assert [w["word"] for w in first["words"]] == "my card was charged twice".split()
        assert first["label"] in predictor.labels and first["method"] == "ig"
        assert len(second["words"]) == 1
        body = {"inputs": ["good day"], "target": "neu", "method": "occlusion"}
        r = client.post("/v1/explain", json=body)
        assert r.status_code == 200
        assert r.json()["explanations"][0]["label"] == "neu"
        assert r.json()["explanations"][0]["method"] == "occlusion"
        assert "/v1/explain" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "body,status",
    [
        ({"inputs": ["fine"], "target": "nope"}, 422),
        ({"inputs": ["fine"], "method": "magic"}, 422),
        ({"inputs": ["fine"], "target": 3}, 422),
        ({"inputs": [""]}, 422),
        ({"inputs": []}, 422),
        ({"inputs": ["x" * 6000]}, 413),
        ({"texts": ["fine"]}, 422),
    ],
)
def test_bad_explain_requests_are_4xx(predictor, body, status):
    """Unknown labels or methods, empty texts, over-long texts and wrong fields are answered
    with 4xx naming the problem, never 5xx."""
    with _client(predictor, explain=True) as client:
        r = client.post("/v1/explain", json=body)
        assert r.status_code == status, r.text
        assert r.json()["error"]


def test_explain_asks_for_the_token_like_predict(predictor):
    """With a token configured, /v1/explain refuses requests without it."""
    with _client(predictor, explain=True, token=TOKEN) as client:
        assert client.post("/v1/explain", json={"inputs": ["hi"]}).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/v1/explain", json={"inputs": ["hi"]}, headers=auth).status_code == 200


def test_explanations_beyond_the_concurrency_limit_wait_then_get_503(predictor, monkeypatch):
    """With one slot busy past the request timeout, a second explanation gets 503 while
    predictions are still answered."""
    from tuneforge.tasks.text import TextTask

    real = TextTask.explain

    def slow(self, *args, **kwargs):
        time.sleep(1.5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TextTask, "explain", slow)
    settings = {"explain": True, "explain_concurrency": 1, "request_timeout_s": 0.5}
    with _client(predictor, **settings) as client:
        first: dict = {}
        thread = threading.Thread(
            target=lambda: first.update(r=client.post("/v1/explain", json={"inputs": ["a b"]}))
        )
        thread.start()
        time.sleep(0.2)
        second = client.post("/v1/explain", json={"inputs": ["c d"]})
        assert second.status_code == 503
        assert client.post("/v1/predict", json={"inputs": ["ok"]}).status_code == 200
        thread.join()
        assert first["r"].status_code == 503  # past its own timeout too, answered, not hung
