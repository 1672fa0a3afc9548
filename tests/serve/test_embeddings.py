"""POST /v1/embed and /v1/similar: off by default, unit vectors equal to the offline encoder's,
neighbours from an index of the same weights, the usual limits and auth, 4xx for bad bodies."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tuneforge.cli import main
from tuneforge.config import ModelConfig
from tuneforge.embed import open_encoder
from tuneforge.errors import ModelError
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

from ..conftest import write_csv

TOKEN = "embed-token-for-tests-0123"
ROWS = [
    {"id": "f1", "text": "how do I reset my password", "answer": "Use the login page link."},
    {"id": "f2", "text": "my card was charged twice", "answer": "Duplicates are refunded."},
    {"id": "f3", "text": "where is my parcel", "answer": "Track it under Orders."},
]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return TorchPredictor(load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("a", "b"))))


@pytest.fixture(scope="module")
def index_dir(tiny_model_dir, tmp_path_factory):
    """An index of three answered questions built with the predictor's own weights."""
    root = tmp_path_factory.mktemp("served-index")
    data = write_csv(root / "faq.csv", ROWS, ("id", "text", "answer"))
    argv = [
        "index",
        "build",
        str(data),
        "--model",
        str(tiny_model_dir),
        "--output",
        str(root / "i"),
    ]
    assert main([*argv, "--runs-dir", str(root / "runs"), "--no-progress"]) == 0
    return root / "i"


def _client(predictor, **settings):
    app = create_app(predictor, ServeSettings(**settings), {"name": "m", "version": "v1"})
    return TestClient(app)


def test_embedding_endpoints_are_off_unless_asked_for(predictor):
    """Without --embed or --index neither endpoint exists nor is documented."""
    with _client(predictor) as client:
        assert client.post("/v1/embed", json={"inputs": ["hi"]}).status_code == 404
        assert client.post("/v1/similar", json={"inputs": ["hi"]}).status_code == 404
        assert "/v1/embed" not in client.get("/openapi.json").json()["paths"]


def test_embed_answers_the_vectors_the_offline_encoder_gives(predictor, tiny_model_dir):
    """/v1/embed: one unit vector per input, equal to `tuneforge embed`'s for the same model."""
    texts = ["where is my parcel", "reset my password"]
    with _client(predictor, embed=True) as client:
        r = client.post("/v1/embed", json={"inputs": texts})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["dim"] == len(body["embeddings"][0]) and body["model"] == "m"
        assert "/v1/similar" not in client.get("/openapi.json").json()["paths"]
    served = np.array(body["embeddings"])
    offline = open_encoder(str(tiny_model_dir), tiny_model_dir).embed(texts)
    np.testing.assert_allclose(served, offline, atol=1e-5)


def test_similar_answers_the_nearest_items_with_their_fields(predictor, index_dir):
    """/v1/similar: per input, k neighbours best first with their stored answer."""
    with _client(predictor, index=str(index_dir)) as client:
        r = client.post(
            "/v1/similar", json={"inputs": ["where is my parcel", "card charged twice"], "k": 2}
        )
        assert r.status_code == 200, r.text
        first, second = r.json()["results"]
        assert first[0]["id"] == "f3" and first[0]["fields"]["answer"] == "Track it under Orders."
        assert len(first) == 2 and first[0]["score"] >= first[1]["score"]
        assert len(second) == 2
        assert "/v1/embed" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "path,body,status",
    [
        ("/v1/similar", {"inputs": ["x"], "k": 0}, 422),
        ("/v1/similar", {"inputs": ["x"], "k": 101}, 422),
        ("/v1/similar", {"inputs": ["x"], "top_k": 3}, 422),
        ("/v1/embed", {"inputs": []}, 422),
        ("/v1/embed", {"inputs": [3]}, 422),
        ("/v1/embed", {"inputs": [{"b64": "AAAA"}]}, 422),
        ("/v1/embed", {"inputs": ["x"] * 257}, 413),
        ("/v1/embed", {"inputs": ["x" * 5001]}, 413),
        ("/v1/embed", [1, 2], 422),
    ],
)
def test_bad_bodies_get_4xx(predictor, index_dir, path, body, status):
    """k out of range, unknown fields, non-texts, images, too many or too long inputs."""
    with _client(predictor, index=str(index_dir)) as client:
        assert client.post(path, json=body).status_code == status


def test_the_token_guards_both_endpoints(predictor, index_dir):
    """With a token, both endpoints answer 401 without it, 200 with it."""
    with _client(predictor, index=str(index_dir), token=TOKEN) as client:
        for path in ("/v1/embed", "/v1/similar"):
            assert client.post(path, json={"inputs": ["x"]}).status_code == 401
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert client.post(path, json={"inputs": ["x"]}, headers=auth).status_code == 200


def test_an_index_of_other_weights_stops_the_server_at_start(tiny_model_dir, index_dir, tmp_path):
    """A server whose model is not the index's refuses to start, naming both."""
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    weights = next(other.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    changed = TorchPredictor(load_model(ModelConfig(name=str(other)), LabelMap(("a", "b"))))
    with pytest.raises(ModelError, match="other weights"):
        create_app(changed, ServeSettings(index=str(index_dir)), {"name": "m2"})


def test_a_model_that_cannot_embed_is_refused_at_start(index_dir):
    """A predictor without an embedding (an image model, an ONNX file exported before the
    embedding output) is refused at start with what to do."""

    class OnnxLike:
        task = "text"
        labels = ("a", "b")

        def predict_proba(self, texts):
            return np.full((len(texts), 2), 0.5)

    with pytest.raises(ModelError, match="cannot embed.*export it again"):
        create_app(OnnxLike(), ServeSettings(embed=True), {"name": "onnx"})
