"""The recommendations page through the app and in a real browser: the recommend runs it
offers, a user or a history answered with items outside what they met, script text in item
titles escaped, bad input a 400 page saying why, and the guard (CSRF, read-only allowed, run
ids never paths)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.tiny_interactions import shop_events, shop_items, train_shop, write_shop
from tuneforge.ui import UISettings, create_app

from .conftest import Served, _free_port

LOCAL = "http://127.0.0.1:8080"
PWNED = "<script>window.__pwned = 1</script> tea"


@pytest.fixture(scope="module")
def shop_runs(tiny_model_dir, tmp_path_factory):
    """A runs folder with one recommend run whose first item's title holds a <script>."""
    root = tmp_path_factory.mktemp("ui-shop")
    items = shop_items()
    items[0] = {**items[0], "title": PWNED}
    write_shop(root / "shop", shop_events(), items)
    return train_shop(root, tiny_model_dir)


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _rows(html: str) -> list[str]:
    return re.findall(
        r"<tr>\s*<td class=\"num\">\d+</td>\s*<td class=\"num\">[^<]*</td>\s*<td>([^<]+)</td>", html
    )


def test_the_page_offers_the_recommend_runs(shop_runs):
    """The trained run is listed with its size and HR@10, and the form is there."""
    page = _client(shop_runs).get("/recommend")
    assert page.status_code == 200
    assert 'value="shop"' in page.text and "24 users, 12 items, HR@10" in page.text
    assert 'id="recommend-form"' in page.text


def test_a_user_and_a_history_get_items_they_have_not_met(shop_runs):
    """User u0's items come back without any they met; a history leaves its own items out;
    the <script> of an item title is shown as text."""
    client = _client(shop_runs)
    token = _csrf(client.get("/recommend").text)
    form = {"csrf_token": token, "run": "shop", "user": "u0", "history": "", "k": "4"}
    answer = client.post("/recommend", data=form)
    assert answer.status_code == 200
    ids = _rows(answer.text)
    seen = {e["item"] for e in shop_events() if e["user"] == "u0"}
    assert len(ids) == 4 and not set(ids) & seen
    form = {**form, "user": "", "history": "coffee-0, coffee-1", "k": "12"}
    answer = client.post("/recommend", data=form)
    ids = _rows(answer.text)
    assert len(ids) == 10 and "coffee-0" not in ids and "tea-0" in ids
    assert "<script>window" not in answer.text and "&lt;script&gt;" in answer.text


def test_bad_input_is_a_400_page_and_paths_are_never_opened(shop_runs):
    """Unknown user, unknown item, both or neither, k out of range: 400 saying why; a run not
    listed is 404; a POST without the CSRF token is refused."""
    client = _client(shop_runs)
    token = _csrf(client.get("/recommend").text)
    base = {"csrf_token": token, "run": "shop", "user": "", "history": "", "k": "5"}
    cases = [
        ({"user": "ghost"}, "unknown"),
        ({"history": "tea-0,nope"}, "Unknown items"),
        ({"user": "u0", "history": "tea-0"}, "one of the two"),
        ({}, "one of the two"),
        ({"user": "u0", "k": "500"}, "between 1 and 50"),
    ]
    for change, says in cases:
        answer = client.post("/recommend", data={**base, **change})
        assert answer.status_code == 400 and says in answer.text, change
    assert (
        client.post("/recommend", data={**base, "run": "../shop", "user": "u0"}).status_code == 404
    )
    assert client.post("/recommend", data={"run": "shop", "user": "u0"}).status_code == 403


def test_read_only_dashboards_still_recommend(shop_runs):
    """--read-only allows recommendations: they change nothing stored."""
    client = _client(shop_runs, read_only=True)
    token = _csrf(client.get("/recommend").text)
    form = {"csrf_token": token, "run": "shop", "user": "u1", "history": "", "k": "3"}
    assert client.post("/recommend", data=form).status_code == 200


def test_the_page_recommends_in_a_browser(shop_runs, browser, artifacts):
    """In Chromium: typing a user and pressing Recommend lists k items none of which they met,
    with no console error or failed request; the title's <script> never runs."""
    from .conftest import PageWatch

    with Served(UISettings(runs_dir=shop_runs, port=_free_port())) as served:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        watched = PageWatch(context.new_page())
        page = watched.page
        watched.open(f"{served.url}/recommend")
        page.fill("#user-input", "u1")
        page.fill("#k-input", "5")
        page.click("#recommend-button")
        page.wait_for_load_state("networkidle")
        rows = page.locator("#items tbody tr")
        assert rows.count() == 5
        seen = {e["item"] for e in shop_events() if e["user"] == "u1"}
        shown = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(5)}
        assert not shown & seen
        page.fill("#user-input", "")
        page.fill("#history-input", "coffee-2")
        page.click("#recommend-button")
        page.wait_for_load_state("networkidle")
        assert page.locator("#items tbody tr").count() == 5
        assert page.evaluate("window.__pwned") is None
        page.screenshot(path=str(artifacts / "recommend.png"), full_page=True)
        context.close()
    assert watched.problems == []
