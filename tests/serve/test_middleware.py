"""Around every route: client disconnects counted apart from errors, one Authorization header
per request, the token rule for /v1, /v2 and /metrics."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

TOKEN = "middleware-token-0123456789"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )


def _request_that_hangs_up(path: str = "/v1/predict") -> tuple[dict, object]:
    """The ASGI scope and receive of a POST whose client sends part of its body, then leaves."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [
        {"type": "http.request", "body": b'{"inputs": ["a', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict:
        return messages.pop(0)

    return scope, receive


def test_a_client_leaving_mid_body_is_no_server_error(predictor, caplog):
    """A client that hangs up while sending its body gets no 500: nothing is logged above
    debug, the request counters hold no 5xx, and the disconnect has its own counter."""
    app = create_app(predictor, ServeSettings(), {"name": "m", "version": "v1"})
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    with TestClient(app) as client:
        scope, receive = _request_that_hangs_up()
        with caplog.at_level(logging.DEBUG):
            client.portal.call(app, scope, receive, send)
        text = client.get("/metrics").text
    assert not [m for m in sent if m.get("status", 0) >= 500], sent
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG], caplog.records
    assert any("disconnect" in r.getMessage() for r in caplog.records)
    assert 'status="500"' not in text
    assert 'tuneforge_client_disconnects_total{endpoint="/v1/predict"} 1.0' in text


@pytest.mark.parametrize(
    "order", [("wrong", "right"), ("right", "wrong"), ("right", "right")], ids=str
)
def test_two_authorization_headers_are_refused(predictor, order):
    """A request with two Authorization headers is answered 400, whichever comes last: the
    server does not pick one of two credentials."""
    values = {"right": f"Bearer {TOKEN}", "wrong": "Bearer not-the-token-at-all"}
    headers = [("authorization", values[o]) for o in order]
    app = create_app(predictor, ServeSettings(token=TOKEN), {"name": "m", "version": "v1"})
    with TestClient(app) as client:
        r = client.post("/v1/predict", json={"inputs": ["a"]}, headers=headers)
        assert r.status_code == 400
        assert "Authorization" in r.json()["error"]
        one = {"Authorization": values["right"]}
        assert client.post("/v1/predict", json={"inputs": ["a"]}, headers=one).status_code == 200
