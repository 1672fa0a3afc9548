"""POST /v1/recommend of a served recommend run: answers for users and histories, seen items
left out, every bad request a 4xx naming the problem, the token, the metrics, and p50."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.tiny_interactions import shop_events, train_shop
from tuneforge.recipes.serve import recommend_app
from tuneforge.serve import ServeSettings

TOKEN = "recommend-token-for-tests-01"


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    return train_shop(tmp_path_factory.mktemp("served-shop"), tiny_model_dir)


def _client(runs, **settings):
    return TestClient(recommend_app("shop", runs, ServeSettings(**settings)))


def test_a_user_gets_items_outside_their_history(runs):
    """The body names a user; the answer holds k items none of which they met, best first."""
    seen = {e["item"] for e in shop_events() if e["user"] == "u1"}
    with _client(runs) as client:
        answer = client.post("/v1/recommend", json={"user": "u1", "k": 3})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["version"] == "shop" and len(body["items"]) == 3
        assert not {i["id"] for i in body["items"]} & seen
        scores = [i["score"] for i in body["items"]]
        assert scores == sorted(scores, reverse=True)
        info = client.get("/v1/model").json()
        assert info["task"] == "recommend" and "hr@10" in info["metrics"]


def test_a_history_answers_for_a_new_user_and_can_include_seen_items(runs):
    """A history of item ids stands for a user the model never saw; exclude_seen false
    may return the history's own items."""
    with _client(runs) as client:
        body = client.post("/v1/recommend", json={"history": ["tea-0"], "k": 12}).json()
        assert "tea-0" not in {i["id"] for i in body["items"]} and len(body["items"]) == 11
        body = client.post(
            "/v1/recommend", json={"history": ["tea-0"], "k": 12, "exclude_seen": False}
        ).json()
        assert "tea-0" in {i["id"] for i in body["items"]}


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        ({"user": "nobody"}, 404, "unknown"),
        ({"history": ["ghost"]}, 422, "ghost"),
        ({"user": "u1", "history": ["tea-0"]}, 422, "invalid"),
        ({}, 422, "invalid"),
        ({"user": "u1", "k": 0}, 422, "invalid"),
        ({"user": "u1", "k": 1000}, 422, "limit"),
        ({"history": ["tea-0"] * 300}, 413, "limit"),
        ({"user": "u1", "colour": "red"}, 422, "invalid"),
    ],
)
def test_bad_requests_are_4xx_naming_the_problem(runs, payload, status, says):
    """Unknown users and items, both or neither given, k out of range, long histories and
    unknown fields are refused, never a 500."""
    with _client(runs) as client:
        answer = client.post("/v1/recommend", json=payload)
        assert answer.status_code == status and says in answer.json()["error"]
        bad = client.post("/v1/recommend", content=b"{not json", headers={"content-type": "x"})
        assert bad.status_code == 400


def test_the_token_guards_the_endpoint_and_requests_are_counted(runs):
    """401 without the token, 200 with it; /metrics counts the endpoint."""
    with _client(runs, token=TOKEN) as client:
        assert client.post("/v1/recommend", json={"user": "u1"}).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/v1/recommend", json={"user": "u1"}, headers=auth).status_code == 200
        assert "/v1/recommend" in client.get("/metrics", headers=auth).text


def test_a_recommendation_takes_well_under_five_milliseconds(runs):
    """The work behind /v1/recommend (history lookup, user tower, index search, seen items
    out) has a p50 far under the 5 ms goal, leaving it to HTTP; bench/recommend.py measures
    the endpoint itself through uvicorn on loopback."""
    app = recommend_app("shop", runs, ServeSettings())
    recommender = app.state.serving.recommender
    times = []
    for n in range(200):
        start = time.perf_counter()
        recommender.recommend(user=f"u{n % 24}", k=10)
        times.append(time.perf_counter() - start)
    assert float(np.median(times)) * 1000 <= 2.0
