"""The dashboard's guard, through the app itself: CSRF on every state-changing request,
read-only, the token login, loopback names only without a token, the security headers, and
user text escaped in the HTML."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tuneforge.ui import UISettings, create_app

from .conftest import PWNED, RUN_B

TOKEN = "correct-horse-battery-staple"
LOCAL = "http://127.0.0.1:8080"


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    return tmp_path / "runs"


def test_a_post_without_the_csrf_token_is_refused(runs):
    """A state-changing request without the session's CSRF token, or with another, is a 403;
    with it, it reaches the route."""
    client = _client(runs, token=TOKEN)
    token = _csrf(client.get("/login").text)
    assert client.post("/login", data={"token": TOKEN}).status_code == 403
    assert client.post("/login", data={"token": TOKEN, "csrf_token": "x" * 43}).status_code == 403
    answer = client.post("/login", headers={"X-CSRF-Token": "nope"}, data={"token": TOKEN})
    assert answer.status_code == 403
    ok = client.post("/login", data={"token": TOKEN, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303


def test_a_cross_site_post_is_refused_even_with_the_token(runs):
    """A request a browser marks as cross-site (or from another Origin) never changes state."""
    client = _client(runs)
    token = _csrf(client.get("/runs").text)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        answer = client.post("/logout", headers={"X-CSRF-Token": token, **headers})
        assert answer.status_code == 403


def test_read_only_refuses_every_state_change_but_logging_in(runs):
    """Under --read-only a POST with a valid CSRF token is still a 403 (an app that may act
    answers the same request 404: there is no such route), and logging out still works."""
    for read_only, status in ((True, 403), (False, 404)):
        client = _client(runs, read_only=read_only)
        token = _csrf(client.get("/runs").text)
        answer = client.post("/runs/x/promote", headers={"X-CSRF-Token": token})
        assert answer.status_code == status
    client = _client(runs, read_only=True)
    token = _csrf(client.get("/runs").text)
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 200


def test_action_forms_are_hidden_under_read_only(runs):
    """The one way templates draw an action (``action_form``) draws nothing under read-only,
    and a form with the CSRF token otherwise."""
    for read_only in (False, True):
        client = _client(runs, read_only=read_only)
        env = client.app.state.templates.env
        macro = env.get_template("_macros.html").make_module(
            {"read_only": read_only, "csrf": "tok"}
        )
        html = str(macro.action_form("/x", "Promote", {"run": "a"}, confirm="Sure?"))
        assert ("data-action" in html) is not read_only
        assert ('value="tok"' in html) is not read_only


def test_with_a_token_every_page_needs_a_login(runs):
    """With a token, pages redirect to the login form and the API answers 401; a wrong token
    is refused (401), the right one opens the pages, and logging out closes them again."""
    client = _client(runs, token=TOKEN)
    page = client.get("/runs?q=a", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/runs%3Fq%3Da"
    assert client.get("/api/runs/a/curves").status_code == 401
    assert client.get("/static/ui.css").status_code == 200  # the login page needs its style
    token = _csrf(client.get("/login").text)
    wrong = client.post("/login", data={"token": "wrong" * 4, "csrf_token": token})
    assert wrong.status_code == 401 and "not the token" in wrong.text
    good = client.post(
        "/login", data={"token": TOKEN, "csrf_token": token, "next": "//evil.example/"}
    )
    assert good.status_code == 200 and good.url.path == "/runs"  # "next" stays on this site
    token = _csrf(good.text)  # a new session, a new CSRF token
    assert client.post("/logout", data={"csrf_token": token}).url.path == "/login"
    assert client.get("/runs", follow_redirects=False).status_code == 303


def test_without_a_token_only_loopback_names_are_answered(runs):
    """A page reached through another name (DNS rebinding onto 127.0.0.1) is refused; with a
    token, any name may reach the login form."""
    client = _client(runs)
    assert client.get("/runs").status_code == 200
    assert client.get("/runs", headers={"Host": "localhost:8080"}).status_code == 200
    assert client.get("/runs", headers={"Host": "[::1]:8080"}).status_code == 200
    assert client.get("/runs", headers={"Host": "attacker.example"}).status_code == 400
    guarded = _client(runs, token=TOKEN)
    assert guarded.get("/login", headers={"Host": "dash.example"}).status_code == 200


def test_every_answer_carries_the_security_headers(runs):
    """Pages, errors and static files forbid inline scripts and framing; pages are not
    cached (a page seen before logging out must not come back from the cache)."""
    client = _client(runs)
    for url in ("/runs", "/runs/none", "/static/ui.js"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/runs").headers["cache-control"] == "no-store"


def test_user_text_is_escaped_in_the_html(ui_runs):
    """A label holding a script tag reaches the HTML escaped, on every page that names it."""
    client = _client(ui_runs)
    for url in (f"/runs/{RUN_B}", f"/compare?run=tiny-a&run={RUN_B}", "/runs?q=tiny"):
        html = client.get(url).text
        assert PWNED not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in client.get(f"/runs/{RUN_B}").text


def test_unknown_runs_and_bad_names_are_404s_and_bad_cells_400s(ui_runs):
    """Run ids outside the name rule are never looked up; a cell off the matrix is a 404 and
    a cell that is not a number a 400, as JSON."""
    client = _client(ui_runs)
    assert client.get("/runs/no-such-run").status_code == 404
    assert client.get("/runs/..%2F..%2Fetc").status_code == 404
    assert client.get(f"/api/runs/{RUN_B}/cell?true=9&pred=0").status_code == 404
    answer = client.get(f"/api/runs/{RUN_B}/cell?true=x&pred=0")
    assert answer.status_code == 400 and "true" in answer.json()["error"]
