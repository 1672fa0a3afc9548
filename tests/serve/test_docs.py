"""/docs and /redoc work offline: the pages name only the server's own assets, and it serves
them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tuneforge.config import ModelConfig
from tuneforge.models import load_model
from tuneforge.predict import TorchPredictor
from tuneforge.serve import ServeSettings, create_app
from tuneforge.types import LabelMap

TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


@pytest.fixture(scope="module")
def client(tiny_model_dir):
    predictor = TorchPredictor(
        load_model(ModelConfig(name=str(tiny_model_dir)), LabelMap(("neg", "neu", "pos")))
    )
    app = create_app(predictor, ServeSettings(), {"name": "m", "version": "v1"})
    with TestClient(app) as client:
        yield client


def _references(html: str) -> list[str]:
    """Every URL a page loads: src and href attributes, and the spec URLs of both UIs."""
    found = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html)
    return found + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("page,script", [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_doc_pages_load_only_local_assets(client, page, script):
    """Each page's scripts, styles, icon and OpenAPI document are paths on this server (no
    CDN, no fonts from elsewhere), and each of them is served with its content type."""
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = _references(r.text)
    assert any(script in u and u.endswith(".js") for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = TYPES[url[url.rfind(".") :]]
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        if url.endswith(".js"):
            assert len(asset.content) > 100_000  # the bundle itself, not a stub
