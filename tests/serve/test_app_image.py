"""The HTTP server with an image model: base64 JSON and multipart uploads, per-image limits and
bad images answered with 4xx naming the input, micro-batching, metrics and the prediction log."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tuneforge.models.cnn import save_cnn
from tuneforge.predict import ImagePredictor, load_predictor
from tuneforge.serve import ServeSettings, create_app

from ..tiny_images import LABELS, bar_images, png_bomb, png_bytes, train_tiny_cnn


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> ImagePredictor:
    model_dir = tmp_path_factory.mktemp("image-serve") / "model"
    save_cnn(train_tiny_cnn(bar_images(40)), model_dir)
    return load_predictor(model_dir)


@pytest.fixture(scope="module")
def pngs() -> list[bytes]:
    """Four test images as PNG files: horizontal, vertical, horizontal, vertical."""
    return [png_bytes(e.pixels) for e in bar_images(4, seed=3)]


def _client(predictor, monitor=None, **settings) -> TestClient:
    app = create_app(predictor, ServeSettings(**settings), {"name": "bars"}, monitor=monitor)
    return TestClient(app)


def _b64(data: bytes) -> dict:
    return {"image_base64": base64.b64encode(data).decode("ascii")}


def _files(blobs: list[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"img{i}.png", b, "image/png")) for i, b in enumerate(blobs)]


def test_base64_json_and_multipart_give_the_model_predictions(predictor, pngs):
    """The same images sent as base64 JSON (with or without a data: URL prefix) and as a
    multipart upload get the labels and scores the predictor gives their pixels; /v1/model
    says the task is image and the input shape."""
    expected = predictor.predict_proba(pngs)
    with _client(predictor) as client:
        info = client.get("/v1/model").json()
        assert info["task"] == "image" and info["image_shape"] == [8, 8, 1]
        assert info["labels"] == list(LABELS)

        inputs = [_b64(b) for b in pngs]
        inputs[1] = {"image_base64": "data:image/png;base64," + inputs[1]["image_base64"]}
        by_json = client.post("/v1/predict", json={"inputs": inputs, "top_k": 2})
        assert by_json.status_code == 200, by_json.text
        by_form = client.post("/v1/predict", files=_files(pngs), data={"top_k": "2"})
        assert by_form.status_code == 200, by_form.text
    for response in (by_json, by_form):
        preds = response.json()["predictions"]
        assert [p["label"] for p in preds] == ["horizontal", "vertical"] * 2
        assert [p["label"] for p in preds] == [LABELS[i] for i in expected.argmax(1)]
        for p, row in zip(preds, expected):
            assert p["score"] == pytest.approx(float(row.max()), abs=1e-5)
            assert len(p["top_k"]) == 2


def test_images_of_another_size_or_colour_are_conformed(predictor, pngs):
    """A larger RGB JPEG is resized and converted to the model's 8×8 greyscale input."""
    import io

    from PIL import Image

    pixels = bar_images(1, seed=3)[0].pixels[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").resize((32, 32)).convert("RGB").save(buffer, format="JPEG")
    with _client(predictor) as client:
        r = client.post("/v1/predict", files=_files([buffer.getvalue()]))
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] == "horizontal"


def _json(*inputs, **extra) -> dict:
    return {"json": {"inputs": list(inputs), **extra}}


def _form(blobs: list[bytes], **fields) -> dict:
    return {"files": _files(blobs), "data": fields}


def _raw(body: bytes, content_type: str) -> dict:
    return {"content": body, "headers": {"content-type": content_type}}


def _bad_requests(pngs: list[bytes]) -> list[tuple[str, dict, int, str]]:
    """(case, request, status, a fragment of the error) with limits of 4 images, 1500 bytes
    and 4096 pixels per image."""
    ok = _b64(pngs[0])
    truncated = pngs[1][: len(pngs[1]) // 2]
    big = png_bytes(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))
    part = b'--xyz\r\nContent-Disposition: form-data; name="files"\r\n\r\nabc'
    return [
        ("not an image", _json(ok, _b64(b"plain text")), 422, "input 1 is not an image"),
        ("truncated", _json(ok, _b64(truncated)), 422, "input 1 cannot be decoded"),
        ("empty", _json(_b64(b"")), 422, "input 0 is empty"),
        ("bad base64", _json(ok, {"image_base64": "%%%"}), 422, "input 1: image_base64 is not"),
        ("oversize", _json(ok, _b64(big)), 413, "input 1 is over the limit of 1500 bytes"),
        ("oversize base64", _json({"image_base64": "A" * 4000}), 413, "input 0 is over"),
        ("bomb", _json(_b64(png_bomb())), 413, "input 0 declares more pixels"),
        ("small bomb", _json(_b64(png_bomb(5000, 5000))), 413, "input 0 is 5000x5000 pixels"),
        ("too many", _json(*[ok] * 5), 413, "5 inputs; the limit is 4"),
        ("text", _json("a text"), 422, "this model classifies images"),
        ("not a string", _json({"image_base64": 7}), 422, "invalid request"),
        ("extra key", _json(ok, x=1), 422, "invalid request"),
        ("top_k", _json(ok, top_k=99), 422, "top_k is 99"),
        ("form non-image", _form([pngs[0], b"GIF89a garbage"]), 422, "input 1 ('img1.png')"),
        ("form bomb", _form([png_bomb()]), 413, "input 0 ('img0.png') declares"),
        ("form too many", _form(pngs + pngs[:1]), 413, "over 4 images"),
        ("form oversize", _form([big]), 413, "input 0 ('img0.png') has"),
        ("form unknown field", _form(pngs[:1], x="1"), 422, "unknown form field(s) 'x'"),
        ("form no images", {"files": [("other", ("a.png", pngs[0]))]}, 422, "'other'"),
        ("form bad top_k", _form(pngs[:1], top_k="two"), 422, "top_k must be"),
        ("no boundary", _raw(b"--x\r\n", "multipart/form-data"), 400, "boundary"),
        ("unterminated", _raw(part, "multipart/form-data; boundary=xyz"), 400, "incomplete"),
    ]


def test_bad_images_and_requests_get_4xx_naming_the_input(predictor, pngs):
    """Non-images, truncated files, invalid base64, oversize files, decompression bombs (small
    PNGs declaring 400 and 25 megapixels), too many images, texts and malformed forms: each
    gets the stated 4xx with a message naming what is wrong (the input index where there is
    one), and the server keeps answering afterwards."""
    cases = _bad_requests(pngs)
    with _client(predictor, max_inputs=4, max_image_bytes=1500, max_image_pixels=4096) as client:
        for name, kwargs, status, fragment in cases:
            r = client.post("/v1/predict", **kwargs)
            assert r.status_code == status, (name, r.text)
            assert fragment in r.json()["error"], (name, r.text)
        assert client.post("/v1/predict", files=_files(pngs)).status_code == 200
        assert client.get("/readyz").status_code == 200
        metrics = client.get("/metrics").text
    assert 'tuneforge_requests_total{endpoint="/v1/predict",status="413"}' in metrics
    assert 'tuneforge_predictions_total{label="vertical"} 2.0' in metrics


def test_texts_and_images_sent_to_the_wrong_model_get_422(tiny_model_dir, pngs):
    """A text model answers base64 images and multipart uploads with a 422 that says it
    classifies texts, and still classifies texts."""
    from tuneforge.config import ModelConfig
    from tuneforge.models import load_model
    from tuneforge.predict import TorchPredictor
    from tuneforge.types import LabelMap

    text_model = TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "pos")))
    )
    with _client(text_model) as client:
        assert client.get("/v1/model").json()["task"] == "text"
        for kwargs in ({"json": {"inputs": [_b64(pngs[0])]}}, {"files": _files(pngs[:1])}):
            r = client.post("/v1/predict", **kwargs)
            assert r.status_code == 422 and "classifies texts" in r.json()["error"]
        assert client.post("/v1/predict", json={"inputs": ["fine"]}).status_code == 200


def test_concurrent_image_requests_share_model_batches(predictor):
    """The micro-batcher stacks single-image requests from concurrent callers into one model
    batch and hands each caller its own row."""
    from tuneforge.serve.batcher import MicroBatcher

    images = [e.pixels for e in bar_images(12, seed=4)]
    sizes: list[int] = []

    async def scenario():
        batcher = MicroBatcher(predictor.predict_proba, 8, 50, on_batch=sizes.append)
        await batcher.start()
        rows = await asyncio.gather(*(batcher.submit([x]) for x in images))
        await batcher.stop()
        return np.vstack([r[0] for r in rows])

    probs = asyncio.run(scenario())
    np.testing.assert_allclose(probs, predictor.predict_proba(images), atol=1e-6)
    assert max(sizes) > 1 and sum(sizes) == 12


def test_prediction_log_keeps_a_hash_of_the_image_bytes(predictor, pngs, tmp_path):
    """Each served image is logged with the SHA-256 of the uploaded file and its pixel count
    (H×W, the length measure of an image run's reference profile); the text column stays
    empty even with log_inputs (no pixels or raw bytes in the store)."""
    import sqlite3

    from tuneforge.monitor.predlog import PredictionLog, read_predictions
    from tuneforge.store import RunStore

    db = tmp_path / "store.db"
    store = RunStore(f"sqlite:///{db}")
    log = PredictionLog(store, "bars", "v1", log_inputs=True, flush_every_s=0.05)
    large = png_bytes(bar_images(2, seed=3)[1].pixels, size=(16, 12))  # vertical, 12×16
    with _client(predictor, monitor=log) as client:
        assert client.post("/v1/predict", files=_files([pngs[0], large])).status_code == 200
    logged = read_predictions(store, "bars")
    assert [p.label for p in logged] == ["horizontal", "vertical"]
    assert [p.input_length for p in logged] == [8 * 8, 16 * 12]
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT input_hash, input_text FROM tf_predictions ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [(hashlib.sha256(b).hexdigest(), None) for b in (pngs[0], large)]


def test_serve_loads_an_image_run_and_its_onnx_variant(tmp_path, pngs):
    """What ``tuneforge serve RUN [--variant onnx-fp32]`` loads for an image run: the trained
    CNN or its ONNX export, reported as an image model, and both classify uploads alike."""
    from tuneforge.recipes.export import export_run
    from tuneforge.recipes.serve import load_served_model

    from ..tiny_images import write_image_run

    examples = bar_images(40)
    runs = tmp_path / "runs"
    write_image_run(runs, "bars-v1", train_tiny_cnn(examples), {"test": examples[:8]})
    export_run("bars-v1", runs, "onnx")
    answers = []
    for variant in (None, "onnx-fp32"):
        served, info = load_served_model("bars-v1", runs, variant)
        assert isinstance(served, ImagePredictor) and info["run_id"] == "bars-v1"
        with TestClient(create_app(served, ServeSettings(), info)) as client:
            assert client.get("/v1/model").json()["task"] == "image"
            r = client.post("/v1/predict", files=_files(pngs))
            assert r.status_code == 200
            answers.append(r.json()["predictions"])
    assert [p["label"] for p in answers[0]] == [p["label"] for p in answers[1]]
    for a, b in zip(*answers):
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)


def _mutated(rng, data: bytes) -> bytes:
    """``data`` with a few random bytes overwritten, and sometimes cut short."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out[: rng.randrange(1, len(out))] if rng.random() < 0.3 else out)


# Pillow warns about the damaged headers it reads; the answers are what is tested.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_corrupted_images_and_forms_never_get_a_5xx(predictor, pngs):
    """Seeded fuzzing: images in six formats with flipped bytes or cut short (as base64 and as
    uploads), and valid multipart bodies damaged the same way, are answered 200 or 4xx, never
    5xx (server errors are returned, not raised, so they would be counted)."""
    import io
    import random

    from PIL import Image

    rng = random.Random(0)
    encoded = []
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.fromarray(bar_images(1)[0].pixels[:, :, 0], "L").save(buffer, format=fmt)
        encoded.append(buffer.getvalue())
    statuses = []
    app = create_app(predictor, ServeSettings(max_inputs=8), {"name": "bars"})
    with TestClient(app, raise_server_exceptions=False) as client:
        form = client.build_request("POST", "/v1/predict", files=_files(pngs[:2]))
        body, ctype = form.read(), form.headers["content-type"]
        for i in range(240):
            image = _mutated(rng, rng.choice(encoded))
            if i % 3 == 0:
                r = client.post("/v1/predict", json=_json(_b64(image))["json"])
            elif i % 3 == 1:
                r = client.post("/v1/predict", files=_files([image]))
            else:
                r = client.post(
                    "/v1/predict", content=_mutated(rng, body), headers={"content-type": ctype}
                )
            statuses.append(r.status_code)
        assert client.post("/v1/predict", files=_files(pngs)).status_code == 200
    assert max(statuses) < 500
    assert {400, 422} <= set(statuses)  # the damage was seen, not only ignored
