"""The Open Inference Protocol (KServe v2) beside /v1: the protocol's request and response
shapes for text and image models, its error object, and the same micro-batcher, prediction
log, metrics and token as /v1/predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.models.cnn import save_cnn
from tuneforge.predict import TorchPredictor, load_predictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.serve.tensors import InferResponse, ModelMetadata
from tuneforge.types import LabelMap

from ..tiny_images import LABELS, bar_images, train_tiny_cnn

TOKEN = "v2-token-0123456789abcdef"
INFER = "/v2/models/m/infer"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )


@pytest.fixture(scope="module")
def image_predictor(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("v2-image") / "model"
    save_cnn(train_tiny_cnn(bar_images(40)), model_dir)
    return load_predictor(model_dir)


def _client(predictor, monitor=None, **settings) -> TestClient:
    info = {"name": "m", "version": "v1"}
    return TestClient(create_app(predictor, ServeSettings(**settings), info, monitor=monitor))


def _outputs(body: dict) -> dict:
    """The response's output tensors by name, once the body is checked against the schema
    the OpenAPI document declares."""
    InferResponse.model_validate(body)
    return {o["name"]: o for o in body["outputs"]}


def test_text_inference_answers_the_protocols_response(predictor):
    """The protocol's request (id, one BYTES input, the outputs asked for) gets its response:
    the model's name and version, the id echoed, ``label`` as BYTES [N] and ``probabilities``
    as FP32 [N, n_labels] in row-major order, equal to the predictor's."""
    texts = ["good", "bad day"]
    expected = predictor.predict_proba(texts)
    request = {
        "id": "42",
        "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": texts}],
        "outputs": [{"name": "label"}, {"name": "probabilities"}],
    }
    with _client(predictor) as client:
        r = client.post(INFER, json=request)
        nested = client.post(
            INFER,
            json={"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES",
                              "data": [["good"], ["bad day"]]}]},
        )  # fmt: skip
        only_label = client.post(INFER, json={**request, "outputs": [{"name": "label"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("m", "v1", "42")
    out = _outputs(body)
    assert out["label"] == {
        "name": "label",
        "datatype": "BYTES",
        "shape": [2],
        "data": [predictor.labels[i] for i in expected.argmax(1)],
    }
    probs = out["probabilities"]
    assert (probs["datatype"], probs["shape"]) == ("FP32", [2, 3])
    assert probs["data"] == pytest.approx(expected.ravel().tolist(), abs=1e-5)
    assert nested.status_code == 200 and "id" not in nested.json()
    assert _outputs(nested.json()) == out
    assert [o["name"] for o in only_label.json()["outputs"]] == ["label"]


def test_health_and_metadata_endpoints(predictor):
    """Server liveness, readiness and metadata, the model's metadata (one BYTES input, the
    two outputs) and readiness; another model's name gets 404 with the error object."""
    with _client(predictor) as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        server = client.get("/v2").json()
        assert server["name"] == "tuneforge" and server["extensions"] == []
        meta = client.get("/v2/models/m").json()
        assert ModelMetadata.model_validate(meta).name == "m"
        assert meta["versions"] == ["v1"]
        assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
        assert meta["outputs"] == [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        ]
        assert client.get("/v2/models/m/ready").json() == {"name": "m", "ready": True}
        for path in ("/v2/models/other", "/v2/models/other/ready"):
            missing = client.get(path)
            assert missing.status_code == 404 and set(missing.json()) == {"error"}
        missing = client.post("/v2/models/other/infer", json={"inputs": []})
        assert missing.status_code == 404 and "'m'" in missing.json()["error"]


def _tensor(data, shape=None, datatype="BYTES", name="text") -> dict:
    return {"name": name, "shape": shape or [len(data)], "datatype": datatype, "data": data}


@pytest.mark.parametrize(
    "body,status,says",
    [
        (b'{"inputs": [', 400, "JSON"),
        ({"id": 42, "inputs": [_tensor(["a"])]}, 400, "id"),
        ({"inputs": []}, 400, "inputs"),
        ({"inputs": [_tensor(["a"]), _tensor(["b"])]}, 400, "one input"),
        ({"inputs": [{"name": "text", "datatype": "BYTES", "data": ["a"]}]}, 400, "shape"),
        ({"inputs": [_tensor([1.5], datatype="FP32")]}, 400, "BYTES"),
        ({"inputs": [_tensor(["a", "b"], shape=[3])]}, 400, "elements"),
        ({"inputs": [_tensor(["a", "b"], shape=[1, 2])]}, 400, "[N, 1]"),
        ({"inputs": [_tensor(["a"], shape=[-1])]}, 400, "positive"),
        ({"inputs": [_tensor(["a", 7])]}, 400, "string"),
        ({"inputs": [_tensor(["a"])], "outputs": [{"name": "logits"}]}, 400, "logits"),
        ({"inputs": [_tensor(["a"] * 5)]}, 413, "limit"),
        ({"inputs": [_tensor(["x" * 50])]}, 413, "limit"),
        ({"inputs": [_tensor(["\ud800"])]}, 422, "surrogate"),
    ],
)
def test_bad_infer_requests_get_4xx_with_the_error_object(predictor, body, status, says):
    """Malformed requests, wrong datatypes and shapes, unknown outputs and inputs over the
    limits are answered with a 4xx and the protocol's ``{"error": "..."}`` naming the
    problem."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with _client(predictor, max_inputs=4, max_chars=20) as client:
        r = client.post(INFER, content=content, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and says in r.json()["error"], r.json()


def test_binary_tensor_data_is_refused_with_a_reason(predictor):
    """A request using the binary tensor data extension gets a 400 that says to send JSON."""
    with _client(predictor) as client:
        r = client.post(
            INFER,
            content=b'{"inputs": []}' + b"\0" * 8,
            headers={"inference-header-content-length": "14"},
        )
    assert r.status_code == 400 and "JSON" in r.json()["error"]


def test_v2_goes_through_the_batcher_log_metrics_and_token(predictor, tmp_path):
    """An infer request is predicted through the micro-batcher, logged like /v1/predict, counted
    under its endpoint template and by label, and needs the token; the v2 health probes do
    not."""
    from tuneforge.monitor.predlog import PredictionLog, read_predictions
    from tuneforge.store import RunStore

    store = RunStore(f"sqlite:///{tmp_path / 'tf.db'}")
    log = PredictionLog(store, "m", "v1", flush_every_s=0.05)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    request = {"inputs": [_tensor(["parcel lost", "refund please"])]}
    with _client(predictor, monitor=log, token=TOKEN) as client:
        assert client.post(INFER, json=request).status_code == 401
        assert client.get("/v2/models/m", headers={}).status_code == 401
        assert client.get("/v2/health/ready").status_code == 200
        r = client.post(INFER, json=request, headers=auth)
        assert r.status_code == 200, r.text
        text = client.get("/metrics", headers=auth).text
    labels = _outputs(r.json())["label"]["data"]
    logged = read_predictions(store, "m")
    assert [p.input_length for p in logged] == [len("parcel lost"), len("refund please")]
    assert [p.label for p in logged] == labels
    assert 'endpoint="/v2/models/{name}/infer",status="200"} 1.0' in text
    assert "tuneforge_batch_size_count 2.0" in text  # the warm-up batch, then this request's
    assert (
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("tuneforge_predictions_total{")
        )
        == 2
    )


def test_image_inference_takes_uint8_tensors(image_predictor):
    """An image model takes UINT8 [N, H, W, C] and [N, H, W] pixels, nested or flat, and
    answers what the predictor gives the same pixels; its metadata names the input shape."""
    images = np.stack([e.pixels for e in bar_images(4, seed=3)])  # 4×8×8×1
    expected = image_predictor.predict_proba(list(images))
    with _client(image_predictor) as client:
        meta = client.get("/v2/models/m").json()
        with_channels = client.post(
            INFER,
            json={"inputs": [_tensor(images.tolist(), list(images.shape), "UINT8", "image")]},
        )
        flat = client.post(
            INFER,
            json={"inputs": [_tensor(images.ravel().tolist(), [4, 8, 8], "UINT8", "image")]},
        )
    assert meta["inputs"] == [{"name": "image", "datatype": "UINT8", "shape": [-1, 8, 8, 1]}]
    for r in (with_channels, flat):
        assert r.status_code == 200, r.text
        out = _outputs(r.json())
        assert out["label"]["data"] == ["horizontal", "vertical"] * 2
        assert out["label"]["data"] == [LABELS[i] for i in expected.argmax(1)]
        assert out["probabilities"]["shape"] == [4, 2]
        assert out["probabilities"]["data"] == pytest.approx(expected.ravel().tolist(), abs=1e-5)


@pytest.mark.parametrize(
    "tensor,status,says",
    [
        (_tensor(["a"]), 400, "UINT8"),
        (_tensor([0] * 64, [1, 4, 4, 4], "UINT8"), 400, "C must be 1 or 3"),
        (_tensor([256] * 64, [1, 8, 8], "UINT8"), 400, "0..255"),
        (_tensor([0.5] * 64, [1, 8, 8], "UINT8"), 400, "0..255"),
        (_tensor([0] * 63, [1, 8, 8], "UINT8"), 400, "elements"),
        (_tensor([0] * 10, [1, 100, 100], "UINT8"), 413, "pixels"),
        (_tensor([0] * 10, [9, 1, 1], "UINT8"), 413, "limit"),
    ],
)
def test_bad_image_tensors_get_4xx(image_predictor, tensor, status, says):
    """Wrong datatypes, channel counts, values outside 0..255, element counts that do not
    match the shape, and images or batches over the limits get a 4xx naming the problem."""
    with _client(image_predictor, max_image_pixels=1000, max_inputs=8) as client:
        r = client.post(INFER, json={"inputs": [tensor]})
    assert r.status_code == status, r.text
    assert says in r.json()["error"]
