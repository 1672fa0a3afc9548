"""The search page through the app: the indexes it offers, a typed text answered with its
nearest items and their fields, script text escaped, and the guard (CSRF always, searches
allowed under read-only, index names never paths)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tuneforge.ui import UISettings, create_app

from .conftest import INDEX, PWNED, RUN_A

LOCAL = "http://127.0.0.1:8080"


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_the_page_lists_the_indexes_of_the_runs_folder(indexed):
    """The index built into <runs>/indexes is offered with its size and model."""
    page = _client(indexed).get("/search")
    assert page.status_code == 200
    assert f'value="{INDEX}"' in page.text and f"3 items, model {RUN_A}" in page.text
    assert 'id="search-form"' in page.text


def test_a_typed_text_gets_its_nearest_items_with_their_fields(indexed):
    """A stored text finds itself first, with its answer; k rows come back."""
    client = _client(indexed)
    token = _csrf(client.get("/search").text)
    form = {"csrf_token": token, "index": INDEX, "query": "where is my parcel", "k": "2"}
    answer = client.post("/search", data=form)
    assert answer.status_code == 200
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>", answer.text)
    assert rows == ["1", "2"]
    first = answer.text[answer.text.index('id="hits"') :]
    assert first.index("Track it under Orders.") < first.index("</tr>", first.index("<tbody>") + 8)


def test_script_text_in_items_and_queries_stays_text(indexed):
    """A <script> stored in the index and typed as a query is shown escaped."""
    client = _client(indexed)
    token = _csrf(client.get("/search").text)
    form = {"csrf_token": token, "index": INDEX, "query": PWNED, "k": "3"}
    answer = client.post("/search", data=form)
    assert answer.status_code == 200
    assert "<script>window" not in answer.text and "&lt;script&gt;" in answer.text


def test_bad_searches_are_4xx_and_paths_are_never_opened(indexed):
    """An empty text and k out of range are 400 pages saying why; an index that is not listed
    (a path) is a 404; a POST without the CSRF token is refused."""
    client = _client(indexed)
    token = _csrf(client.get("/search").text)
    base = {"csrf_token": token, "index": INDEX}
    empty = client.post("/search", data={**base, "query": " ", "k": "3"})
    assert empty.status_code == 400 and "Type a text" in empty.text
    wide = client.post("/search", data={**base, "query": "parcel", "k": "500"})
    assert wide.status_code == 400 and "between 1 and 50" in wide.text
    path = client.post("/search", data={**base, "index": "../indexes/faq", "query": "parcel"})
    assert path.status_code == 404
    assert client.post("/search", data={"index": INDEX, "query": "parcel"}).status_code == 403


def test_read_only_dashboards_still_search(indexed):
    """--read-only allows searches: they change nothing stored."""
    client = _client(indexed, read_only=True)
    token = _csrf(client.get("/search").text)
    form = {"csrf_token": token, "index": INDEX, "query": "refund", "k": "1"}
    assert client.post("/search", data=form).status_code == 200
