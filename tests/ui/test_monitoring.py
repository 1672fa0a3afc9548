"""The monitoring pages through the app: the models of the prediction log, each model's charts
data per bucket (gaps for empty buckets, drift against the run's reference profile), the alert
rules with their state and history, and logged script text escaped."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tuneforge.ui import UISettings, create_app
from tuneforge.ui.monitoring import bucket_end

from .conftest import RUN_A, RUN_B

LOCAL = "http://127.0.0.1:8080"


def _client(runs, **settings) -> TestClient:
    return TestClient(create_app(UISettings(runs_dir=runs, **settings)), base_url=LOCAL)


def test_the_list_names_every_logged_model(ui_runs, monitored):
    """/monitoring lists the models with predictions in the log, with their counts."""
    page = _client(ui_runs).get("/monitoring")
    assert page.status_code == 200
    assert f'href="/monitoring/{RUN_A}"' in page.text and f'href="/monitoring/{RUN_B}"' in page.text


def test_the_chart_data_has_one_point_per_bucket_with_gaps(ui_runs, monitored):
    """24h: 24 hourly buckets; the outage hours have a count of 0 and no statistics (None,
    never 0); the rest have shares summing to 1, latencies in order and PSI against tiny-a's
    reference profile, higher in the drifted last hours."""
    d = _client(ui_runs).get(f"/api/monitoring/{RUN_A}?window=24h").json()
    assert len(d["count"]) == len(d["ticks"]) == 24
    empty = [i for i, c in enumerate(d["count"]) if c == 0]
    assert len(empty) >= 2
    for key in ("mean_confidence", "p50_latency_ms", "psi", "unknown_share"):
        assert all(d[key][i] is None for i in empty)
    full = [i for i, c in enumerate(d["count"]) if c]
    assert all(d["unknown_share"][i] == 0.0 for i in full)  # this server never abstained
    for i in full:
        assert abs(sum(d["shares"][k][i] for k in d["labels"]) - 1) < 1e-9
        assert d["p50_latency_ms"][i] <= d["p95_latency_ms"][i] <= d["p99_latency_ms"][i]
    assert set(d["reference_shares"]) == {"billing", "shipping", "account"}
    assert d["psi"][full[-1]] > d["psi"][full[0]]
    assert len(_client(ui_runs).get(f"/api/monitoring/{RUN_A}?window=1h").json()["count"]) == 12


def test_a_bad_window_or_model_is_a_4xx(ui_runs, monitored):
    """An unknown window is a 400 naming the choices; an unlogged model a 404."""
    client = _client(ui_runs)
    answer = client.get(f"/api/monitoring/{RUN_A}?window=2y")
    assert answer.status_code == 400 and "1h, 24h, 7d" in answer.json()["error"]
    assert client.get("/monitoring/nobody").status_code == 404
    assert client.get("/api/monitoring/nobody").status_code == 404


def test_rules_show_their_state_and_history(ui_runs, monitored):
    """With --rules, each rule shows its value now and state: the surge holds but fired an hour
    ago within its 2h cool-down; the alert of the json sink is in the history. Without, the page
    says how to add them; abstentions are said to be not logged yet."""
    page = _client(ui_runs, rules_file=monitored).get(f"/monitoring/{RUN_A}")
    assert page.status_code == 200
    row = page.text.split("<td>shipping-surge</td>", 1)[1].split("</tr>", 1)[0]
    assert "cooling down" in row
    assert "<td>slow</td>" in page.text and "history-table" in page.text
    bare = _client(ui_runs).get(f"/monitoring/{RUN_A}").text
    assert 'id="no-rules"' in bare and 'id="abstentions"' in bare


def test_logged_script_text_is_escaped(ui_runs, monitored):
    """Labels and logged inputs holding a script tag are shown as text."""
    page = _client(ui_runs).get(f"/monitoring/{RUN_B}")
    assert page.status_code == 200
    assert "<script>window" not in page.text
    assert page.text.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 2


def test_buckets_end_on_an_edge():
    """The last bucket ends at the next edge after now, so reloads keep the same buckets."""
    now = dt.datetime(2024, 5, 1, 10, 7, 30, tzinfo=dt.timezone.utc)
    end = bucket_end(now, dt.timedelta(hours=1), 12)
    assert end == dt.datetime(2024, 5, 1, 10, 10, tzinfo=dt.timezone.utc)


def test_a_broken_rules_file_stops_the_dashboard_before_it_starts(ui_runs, tmp_path, capsys):
    """`tuneforge ui --rules FILE` reads the rules first: a rule on an unknown metric is a
    configuration error naming the rule (exit 2), not a page that fails later."""
    from tuneforge.cli import main

    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - {name: odd, metric: vibes, threshold: 1}\n", encoding="utf-8")
    assert main(["ui", "--rules", str(bad), "--runs-dir", str(ui_runs)]) == 2
    assert "rule 1 (odd)" in capsys.readouterr().err


def _private_log(runs) -> None:
    """Model 'private': an input with an email logged (redacted, as serve stores it) now, and
    one 40 days old, then a prune with a 30-day window."""
    from tuneforge.recipes.monitor import run_prune
    from tuneforge.store import open_store

    from .conftest import _log_predictions

    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        (now - dt.timedelta(days=40), "old note from bob@example.org", "billing", 0.3, 3.0),
        (now - dt.timedelta(minutes=5), "mail me at jane@example.com", "billing", 0.31, 3.0),
    ]
    _log_predictions(open_store(runs), "private", rows, log_inputs=True)
    run_prune(runs, "30d")


def test_the_model_page_shows_stored_inputs_and_retention(tmp_path):
    """Logged inputs appear as stored (the email as [EMAIL]); the page names the retention
    window, what the latest prune cleared, and how many predictions still hold an input."""
    runs = tmp_path / "runs"
    _private_log(runs)
    page = _client(runs).get("/monitoring/private")
    assert page.status_code == 200
    assert "mail me at [EMAIL]" in page.text and "@example" not in page.text
    assert '<b id="retention-window">30d</b>' in page.text
    assert '<b id="pruned-count">1</b>' in page.text
    assert "1 of 2 predictions hold their input" in page.text


def test_a_model_never_pruned_says_how_to_set_retention(tmp_path):
    """Without a prune record the page says inputs are kept and how to limit that."""
    from tuneforge.store import open_store

    from .conftest import _log_predictions

    runs = tmp_path / "runs"
    now = dt.datetime.now(dt.timezone.utc)
    _log_predictions(open_store(runs), "kept", [(now, "text", "billing", 0.9, 1.0)])
    page = _client(runs).get("/monitoring/kept").text
    assert "No retention window" in page and "monitor prune --older-than" in page
