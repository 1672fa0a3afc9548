"""The HTTP server: predictions, limits answered with 4xx, auth, health and metrics."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.errors import ConfigError
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, check_binding, create_app

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    from tuneforge.types import LabelMap

    return TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )


def _client(predictor, **settings):
    app = create_app(predictor, ServeSettings(**settings), {"name": "m", "version": "v1"})
    return TestClient(app)


def test_predict_returns_label_score_and_top_k(predictor):
    """Each input gets the predictor's label, its probability and k alternatives."""
    with _client(predictor) as client:
        r = client.post("/v1/predict", json={"inputs": ["good", "bad day"], "top_k": 2})
        assert r.status_code == 200
        preds = r.json()["predictions"]
        expected = predictor.predict_proba(["good", "bad day"])
        assert [p["label"] for p in preds] == [predictor.labels[i] for i in expected.argmax(1)]
        assert preds[0]["score"] == pytest.approx(float(expected[0].max()), abs=1e-5)
        assert len(preds[0]["top_k"]) == 2
        assert client.get("/v1/model").json()["labels"] == ["neg", "neu", "pos"]
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(
    "body,status",
    [
        (b'{"inputs": []}', 422),
        (b'{"inputs": "not a list"}', 422),
        (b'{"inputs": [1, 2]}', 422),
        (b'{"inputs": ["a"], "extra": 1}', 422),
        (b'{"inputs": ["a"], "top_k": 0}', 422),
        (b'{"inputs": ["a"], "top_k": 999}', 422),
        (b'{"inputs": ["a"', 400),
        (b'\xff\xfe{"inputs": ["a"]}', 400),
        (b"[]", 422),
        (b"null", 422),
        (b"", 400),
        # Each of these used to escape as a 500: a lone surrogate reached the tokenizer, deep
        # nesting raised RecursionError, a 5000-digit integer and NaN raised ValueError.
        (b'{"inputs": ["\\ud800"]}', 422),
        (b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400),
        (b'{"inputs": ["a"], "top_k": ' + b"9" * 5000 + b"}", 400),
        (b'{"inputs": ["a"], "top_k": NaN}', 400),
        (b'{"inputs": ["a"], "top_k": Infinity}', 400),
        (b'{"inputs": ["a"], "top_k": 1.5}', 422),
    ],
)
def test_bad_requests_get_4xx(predictor, body, status):
    """Malformed, mistyped and out-of-range requests are answered with a 4xx and a reason."""
    with _client(predictor) as client:
        r = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
        assert r.status_code == status
        assert "error" in r.json()


def test_oversize_bodies_are_refused_before_they_are_read(predictor):
    """A declared Content-Length over the limit is refused from the header alone, and a body
    streamed without one is refused once it passes the limit, so neither is buffered whole."""
    with _client(predictor, max_body_bytes=1000) as client:
        declared = client.post(
            "/v1/predict",
            content=b'{"inputs": ["a"]}',
            headers={"content-type": "application/json", "content-length": str(10**12)},
        )
        assert declared.status_code == 413
        assert "1000 bytes" in declared.json()["error"]

        def chunks():
            for _ in range(100):
                yield b" " * 100

        streamed = client.post("/v1/predict", content=chunks())
        assert streamed.status_code == 413
        # The server is still serving.
        assert client.post("/v1/predict", json={"inputs": ["a"]}).status_code == 200


def test_size_limits(predictor):
    """Bodies, input counts and input lengths over the limits get 413; truncate mode truncates."""
    with _client(predictor, max_body_bytes=200, max_inputs=3, max_chars=10) as client:
        assert client.post("/v1/predict", json={"inputs": ["x" * 300]}).status_code == 413
        assert client.post("/v1/predict", json={"inputs": ["a"] * 4}).status_code == 413
        assert client.post("/v1/predict", json={"inputs": ["a" * 11]}).status_code == 413
    with _client(predictor, max_chars=10, overlong="truncate") as client:
        r = client.post("/v1/predict", json={"inputs": ["ok", "a" * 50]})
        assert r.status_code == 200 and r.json()["truncated"] == [1]


def test_auth_is_required_when_configured(predictor):
    """With a token, /v1 and /metrics need it; health stays open; missing, wrong or
    non-bearer credentials get 401."""
    with _client(predictor, token=TOKEN) as client:
        assert client.post("/v1/predict", json={"inputs": ["a"]}).status_code == 401
        bad = {"Authorization": "Bearer wrong-token-xxxxxxxx"}
        assert client.post("/v1/predict", json={"inputs": ["a"]}, headers=bad).status_code == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/v1/predict", json={"inputs": ["a"]}, headers=good).status_code == 200
        basic = {"Authorization": f"Basic {TOKEN}"}
        assert client.post("/v1/predict", json={"inputs": ["a"]}, headers=basic).status_code == 401
        assert client.get("/v1/model").status_code == 401
        assert client.get("/v1/model", headers=good).status_code == 200
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=good).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_binding_beyond_loopback_needs_a_token():
    """The server refuses 0.0.0.0 without a token, allows loopback."""
    with pytest.raises(ConfigError, match="without authentication"):
        check_binding(ServeSettings(host="0.0.0.0"))
    check_binding(ServeSettings(host="127.0.0.1"))
    check_binding(ServeSettings(host="0.0.0.0", token=TOKEN))


@pytest.mark.parametrize(
    "field,value",
    [("header_timeout_s", 0), ("body_timeout_s", -1), ("keep_alive_s", 0), ("max_connections", 0)],
)
def test_connection_settings_must_be_positive(field, value):
    """A zero or negative read deadline, keep-alive or connection cap is a ConfigError naming
    the setting, not a server that cuts every client off or serves none."""
    with pytest.raises(ConfigError, match=field):
        ServeSettings(**{field: value})


def test_metrics_count_requests_batches_and_labels(predictor):
    """Prometheus output has requests by status, latency, batch sizes and labels."""
    with _client(predictor) as client:
        client.post("/v1/predict", json={"inputs": ["a", "b"]})
        client.post("/v1/predict", json={"inputs": []})
        text = client.get("/metrics").text
    assert 'tuneforge_requests_total{endpoint="/v1/predict",status="200"} 1.0' in text
    assert 'tuneforge_requests_total{endpoint="/v1/predict",status="422"} 1.0' in text
    for name in (
        "tuneforge_request_latency_seconds_bucket",
        "tuneforge_batch_size_bucket",
        "tuneforge_queue_depth",
        "tuneforge_predictions_total",
    ):
        assert name in text


def test_metrics_name_each_endpoint_and_pool_every_other_path(predictor):
    """Each endpoint of the API is counted under its own path, or its path template for the
    per-model /v2 paths (/v2/models/{name}/...); the docs, their assets and unknown paths
    share one ``other`` label, so clients probing URLs cannot grow the metrics."""
    infer = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}
    with _client(predictor) as client:
        endpoints = set(client.get("/openapi.json").json()["paths"])
        gets = ["/healthz", "/readyz", "/docs", "/docs-assets/swagger-ui.css", "/no/such/path"]
        gets += ["/v1/model", "/v2", "/v2/health/live", "/v2/health/ready"]
        for path in gets + ["/v2/models/m", "/v2/models/m/ready", "/v2/models/elsewhere"]:
            client.get(path)
        client.post("/v1/predict", json={"inputs": ["a"]})
        client.post("/v2/models/m/infer", json=infer)
        text = client.get("/metrics").text
    v2 = {"/v2/models/{name}", "/v2/models/{name}/ready", "/v2/models/{name}/infer"}
    v2 |= {"/v2", "/v2/health/live", "/v2/health/ready"}
    assert endpoints == {"/v1/predict", "/v1/model", "/healthz", "/readyz", "/metrics"} | v2
    counted = {
        line.split('endpoint="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("tuneforge_requests_total{")
    }
    assert counted == (endpoints - {"/metrics"}) | {"other"}
    assert 'endpoint="/v2/models/{name}",status="404"} 1.0' in text


def test_metrics_show_predictions_the_log_had_to_drop(predictor, tmp_path):
    """When the prediction log's bounded queue overflows, /metrics says how many rows it
    dropped, so an operator sees lost monitoring data instead of a silently growing server."""
    from tuneforge.monitor.predlog import PredictionLog
    from tuneforge.store import RunStore

    log = PredictionLog(RunStore(f"sqlite:///{tmp_path / 'tf.db'}"), "m", "v1", max_queue=1)
    log.flush_every_s = 3600  # nothing is written during the test: the queue stays full
    app = create_app(predictor, ServeSettings(), {"name": "m", "version": "v1"}, monitor=log)
    with TestClient(app) as client:
        assert client.post("/v1/predict", json={"inputs": ["a", "b", "c"]}).status_code == 200
        text = client.get("/metrics").text
    assert "tuneforge_prediction_log_dropped 2.0" in text


def test_served_probabilities_are_calibrated_and_the_model_says_its_temperature(tiny_model_dir):
    """The server answers with the predictor's calibrated probabilities (softmax of logits / T)
    and /v1/model states the temperature and whether it was fitted."""
    import numpy as np

    from tuneforge.predict import calibrated_softmax
    from tuneforge.types import LabelMap

    cm = load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    for temperature, fitted in ((None, False), (3.0, True)):
        predictor = TorchPredictor(cm, temperature=temperature)
        with _client(predictor) as client:
            info = client.get("/v1/model").json()
            assert info["temperature"] == (temperature or 1.0)
            assert info["calibrated"] is fitted
            r = client.post("/v1/predict", json={"inputs": ["good"], "top_k": 3})
        expected = calibrated_softmax(predictor.predict_logits(["good"]), temperature or 1.0)
        scores = {p["label"]: p["score"] for p in r.json()["predictions"][0]["top_k"]}
        got = np.array([scores[label] for label in predictor.labels])
        np.testing.assert_allclose(got, expected[0], atol=1e-5)
