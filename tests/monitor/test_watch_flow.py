"""The financial-news watch on a tiny model: serve, replay a stream with a bearish shift, and the
webhook receives exactly one alert, after the shift and not before."""

from __future__ import annotations

import datetime as dt
import random

from fastapi.testclient import TestClient

from tuneforge.monitor.predlog import PredictionLog
from tuneforge.monitor.rules import AlertState, load_rules
from tuneforge.predict import load_predictor
from tuneforge.recipes.monitor import evaluate_rules, monitored_model
from tuneforge.serve import create_app
from tuneforge.store import open_store

from ..conftest import train_tiny_run

WORDS = {
    "bearish": ["plunge", "downgrade", "loss", "slump"],
    "bullish": ["surge", "upgrade", "rally", "beat"],
    "neutral": ["announces", "schedules", "files", "reports"],
}


def _headline(rng: random.Random, label: str, i: int) -> str:
    w = WORDS[label]
    return f"{rng.choice(w)} shares {rng.choice(w)} {i}"


def test_alert_fires_once_after_the_bearish_shift(tiny_model_dir, tmp_path, webhook):
    """Mixed traffic raises nothing; bearish traffic raises one alert; cool-down holds."""
    rng = random.Random(0)
    rows = [
        {"text": _headline(rng, label, i), "label": label} for label in WORDS for i in range(40)
    ]
    rng.shuffle(rows)
    runs_dir = train_tiny_run(tmp_path, tiny_model_dir, "news", rows)
    url, received = webhook
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n  - {name: bearish-surge, metric: label_share, label: bearish, op: '>',"
        " threshold: 0.5, window: 1h, cooldown: 1h, min_count: 20}\n"
        f"sinks:\n  - {{type: webhook, url: '{url}'}}\n"
    )
    rules, sinks = load_rules(rules_file)
    store = open_store(runs_dir)
    name, reference = monitored_model("news", runs_dir)
    state = AlertState(runs_dir / "monitor" / "news-alerts.json")
    log = PredictionLog(store, name, "news", flush_every_s=0.05)
    model_dir = runs_dir / "news" / "artifacts" / "model"
    app = create_app(load_predictor(model_dir), None, {"name": name}, monitor=log)

    def replay(labels):
        with TestClient(app) as client:  # leaving the block flushes the log
            for i, label in enumerate(labels):
                r = client.post("/v1/predict", json={"inputs": [_headline(rng, label, i)]})
                assert r.status_code == 200

    def evaluate():
        return evaluate_rules(
            store, name, reference, rules, sinks, state, dt.datetime.now(dt.timezone.utc)
        )

    replay(["bearish", "bullish", "neutral"] * 10)
    assert evaluate() == [] and received == []
    replay(["bearish"] * 30)
    fired = evaluate()
    assert len(fired) == 1 and fired[0]["value"] > 0.5
    assert evaluate() == []  # cool-down: no duplicate
    assert len(received) == 1 and received[0]["rule"] == "bearish-surge"
