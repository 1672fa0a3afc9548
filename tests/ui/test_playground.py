"""The playground through the app: the models it offers, a typed text predicted and its words
attributed, an uploaded image predicted with its heat map, the model cache, and the guard
(CSRF always, predictions allowed under read-only, references never paths)."""

from __future__ import annotations

import io
import re

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from tuneforge.ui import UISettings, create_app
from tuneforge.ui.playground import ModelCache

from ..conftest import shape_image
from .conftest import PWNED, RUN_A, RUN_B

LOCAL = "http://127.0.0.1:8080"


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _png(label: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(shape_image(label, np.random.default_rng(3)), "L").save(buf, "PNG")
    return buf.getvalue()


def test_the_page_lists_runs_with_models_and_loads_the_first(ui_runs):
    """Both trained runs are offered; without a pick the first is loaded and its text form
    shown, with the attribution methods the runtime offers."""
    page = _client(ui_runs).get("/playground")
    assert page.status_code == 200
    assert f'value="{RUN_A}"' in page.text and f'value="{RUN_B}"' in page.text
    assert 'id="text-form"' in page.text
    assert 'value="occlusion"' in page.text and 'value="ig"' in page.text


def test_a_typed_text_gets_labels_and_attributions(ui_runs):
    """Posting a text returns the page with the top labels (confidences summing to at most 1)
    and every word of the text coloured with its score."""
    client = _client(ui_runs)
    token = _csrf(client.get("/playground").text)
    form = {"csrf_token": token, "model": RUN_A, "text": "refund my invoice", "method": "occlusion"}
    answer = client.post("/playground", data=form)
    assert answer.status_code == 200
    labels = re.findall(r"<tr><td>([^<]+)</td><td class=\"bar-cell\">", answer.text)
    assert set(labels) <= {"billing", "shipping", "account"} and labels
    attributions = re.search(r'id="attributions">(.*?)</p>', answer.text, re.S).group(1)
    assert attributions.count("<span") == 3  # refund, my, invoice
    assert "title='+" in attributions or "title='-" in attributions


def test_script_text_comes_back_escaped(ui_runs):
    """A <script> typed into the playground is shown as text in the textarea and the words."""
    client = _client(ui_runs)
    token = _csrf(client.get("/playground").text)
    form = {"csrf_token": token, "model": RUN_B, "text": PWNED, "method": "occlusion"}
    answer = client.post("/playground", data=form)
    assert answer.status_code == 200
    assert "<script>window" not in answer.text
    assert "&lt;script&gt;" in answer.text


def test_bad_input_is_a_4xx_naming_the_problem(ui_runs):
    """An empty text and a text over the limit are 400 pages that say why; a model that is not
    listed (a path, say) is a 404 and is never loaded."""
    client = _client(ui_runs)
    token = _csrf(client.get("/playground").text)
    form = {"csrf_token": token, "model": RUN_A}
    empty = client.post("/playground", data={**form, "text": " "})
    assert empty.status_code == 400 and "Type a text" in empty.text
    long = client.post("/playground", data={**form, "text": "a" * 3000})
    assert long.status_code == 400 and "up to 2000" in long.text
    path = client.post(
        "/playground", data={"csrf_token": token, "model": str(ui_runs / RUN_A), "text": "x"}
    )
    assert path.status_code == 404
    assert client.get("/playground?model=/etc").status_code == 404


def test_predictions_need_csrf_but_work_read_only(ui_runs):
    """Without the CSRF token a prediction is refused (403); under --read-only, with it, the
    prediction is made (it stores nothing)."""
    client = _client(ui_runs, read_only=True)
    form = {"model": RUN_A, "text": "parcel tracking", "method": "occlusion"}
    assert client.post("/playground", data=form).status_code == 403
    token = _csrf(client.get("/playground").text)
    answer = client.post("/playground", data={**form, "csrf_token": token})
    assert answer.status_code == 200 and 'id="attributions"' in answer.text


def test_an_uploaded_image_gets_labels_and_a_heat_map(image_runs):
    """The image model (as shapes@staging and as its run) shows an upload box; a PNG posted
    with the CSRF header comes back with its top labels and an overlay PNG data URI."""
    client = _client(image_runs)
    page = client.get("/playground")
    assert 'value="shapes@staging"' in page.text and 'value="shapes-1"' in page.text
    assert 'id="image-box"' in page.text and 'id="text-form"' not in page.text
    token = _csrf(page.text)
    files = {"files": ("bar.png", _png("horizontal"), "image/png")}
    url = "/api/playground/image?model=shapes%40staging&method=occlusion"
    assert client.post(url, files=files).status_code == 403  # no CSRF header
    answer = client.post(url, files=files, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert {r["label"] for r in data["top"]} <= {"blob", "horizontal", "vertical"}
    assert data["overlay"].startswith("data:image/png;base64,")
    assert data["label"] == data["top"][0]["label"]


def test_a_bad_upload_is_a_4xx(image_runs, ui_runs):
    """Bytes that are no image are a 422 naming the upload; an image sent to a text model is
    a 422 too."""
    client = _client(image_runs)
    token = _csrf(client.get("/playground").text)
    headers = {"X-CSRF-Token": token}
    files = {"files": ("x.png", b"not an image", "image/png")}
    answer = client.post("/api/playground/image?model=shapes-1", files=files, headers=headers)
    assert answer.status_code == 422 and "x.png" in answer.json()["error"]
    text_client = _client(ui_runs)
    token = _csrf(text_client.get("/playground").text)
    files = {"files": ("bar.png", _png("vertical"), "image/png")}
    answer = text_client.post(
        f"/api/playground/image?model={RUN_A}", files=files, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code == 422 and "not images" in answer.json()["error"]


def test_the_cache_keeps_the_last_two_models(ui_runs, image_runs):
    """A third model pushes out the least recently used one; using a model again keeps it."""
    cache = ModelCache(ui_runs, size=2)
    a, b = cache.get(RUN_A), cache.get(RUN_B)
    assert cache.get(RUN_A) is a
    c = cache.get(str(image_runs / "shapes-1"))
    keys = [str(m.run.saved_model_dir()) for m in (a, b, c)]
    assert cache.loaded() == [keys[0], keys[2]]
    assert cache.get(RUN_B) is not b  # loaded again
