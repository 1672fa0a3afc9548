"""The monitoring page: empty windows are gaps, not zeros; PSI has its own panel; reference
shares and rule thresholds are drawn and named; user text is escaped."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math

import numpy as np
import pytest

from tuneforge.monitor.drift import Profile
from tuneforge.monitor.page import monitor_figure, write_monitor_page
from tuneforge.monitor.predlog import PredictionLog
from tuneforge.monitor.rules import load_rules
from tuneforge.recipes.monitor import run_monitor, series, window_stats
from tuneforge.store import RunDir, RunStore, open_store
from tuneforge.types import Prediction

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
LABELS = ("bearish", "bullish", "neutral")
REFERENCE = Profile.from_predictions(
    LABELS, ["bullish", "neutral", "bearish", "neutral"] * 10, [0.9] * 40, [3] * 40
)
RULES_YAML = (
    "rules:\n"
    "  - {name: bearish-surge, metric: label_share, label: bearish, op: '>', threshold: 0.4}\n"
    "  - {name: label-drift, metric: psi, op: '>', threshold: 0.25}\n"
    "  - {name: slow, metric: p95_latency_ms, op: '>', threshold: 7.5}\n"
)


def _log(store: RunStore, model: str, by_minute: dict[int, list[str]]) -> None:
    """Log predictions at T0 + minute; latency grows with the minute, confidence drops."""
    log = PredictionLog(store, model, "v1")

    async def write():
        await log.start()
        for minute, labels in by_minute.items():
            score = 0.9 if minute < 40 else 0.4
            log.record(
                [f"t{i}" for i in range(len(labels))],
                [Prediction(x, score, [(x, score)]) for x in labels],
                2.0 + minute / 10,
                at=T0 + dt.timedelta(minutes=minute),
            )
        await log.stop()

    asyncio.run(write())


def _traffic_with_outage() -> dict[int, list[str]]:
    """Mixed traffic, nothing from minute 20 to 40, then a bearish stream."""
    stream = {m: ["bullish", "neutral", "bearish"] for m in range(0, 20)}
    stream.update({m: ["bearish", "bearish", "neutral"] for m in range(40, 60)})
    return stream


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path / 'tf.db'}")


def _rules(tmp_path, text: str = RULES_YAML):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return load_rules(path)[0]


def test_a_window_without_traffic_has_no_values_not_zeros(store):
    """An outage must not look healthy: a window with no predictions reports no latency, no
    low-confidence share and no label shares (None), never 0 ms and 0 %; its count stays a
    real 0."""
    _log(store, "news", _traffic_with_outage())
    points = series(store, "news", REFERENCE, T0, T0 + dt.timedelta(hours=1), buckets=6)
    empty = points[2]  # 20–30 min
    assert empty["count"] == 0
    for key in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "low_confidence_share"):
        assert empty[key] is None, key
    assert set(empty["label_shares"].values()) == {None}
    assert points[0]["p50_latency_ms"] > 0 and points[0]["low_confidence_share"] == 0.0
    json.dumps(empty, allow_nan=False)  # the CLI prints the statistics as strict JSON


def _lines(fig, title: str) -> dict[str, np.ndarray]:
    (ax,) = [a for a in fig.axes if a.get_title(loc="left") == title]
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float) for line in ax.lines}


def test_gaps_are_drawn_as_gaps_and_psi_has_its_own_panel(store, tmp_path):
    """Empty windows are NaN in every plotted line (no point, no line through them); PSI sits
    in its own labelled panel, apart from the shares; reference shares and each rule's
    threshold are lines named in the legend."""
    _log(store, "news", _traffic_with_outage())
    points = series(store, "news", REFERENCE, T0, T0 + dt.timedelta(hours=1), buckets=6)
    rules = _rules(tmp_path)
    fig = monitor_figure(points, REFERENCE, rules)
    latency = _lines(fig, "latency")
    assert math.isnan(latency["p95"][2]) and math.isnan(latency["p95"][3])
    assert latency["p95"][0] > 0
    confidence = _lines(fig, "low-confidence share")
    assert math.isnan(confidence["low-confidence share"][2])
    shares = _lines(fig, "label shares")
    assert math.isnan(shares["bearish"][2]) and "PSI" not in shares
    assert shares["bearish (reference)"][0] == pytest.approx(0.25)
    assert shares["bearish-surge: bearish > 0.4"][0] == pytest.approx(0.4)
    psi = _lines(fig, "label drift (PSI)")
    assert math.isnan(psi["PSI"][2]) and psi["PSI"][5] > 0
    assert psi["label-drift: psi > 0.25"][0] == pytest.approx(0.25)
    assert _lines(fig, "latency")["slow: p95_latency_ms > 7.5"][0] == pytest.approx(7.5)
    (ax_psi,) = [a for a in fig.axes if a.get_title(loc="left") == "label drift (PSI)"]
    assert ax_psi.get_ylabel() == "PSI"
    legend = {t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts}
    assert {"bearish-surge: bearish > 0.4", "label-drift: psi > 0.25", "no predictions"} <= legend


def test_page_has_the_report_styling_names_thresholds_and_escapes_user_text(store, tmp_path):
    """The page uses the run report's stylesheet, lists each rule with its threshold, marks
    empty windows, and escapes the model name (no markup injection, no live URL)."""
    from tuneforge.report.markup import CSS

    _log(store, "news", _traffic_with_outage())
    points = series(store, "news", REFERENCE, T0, T0 + dt.timedelta(hours=1), buckets=6)
    rules = _rules(tmp_path)
    model = "<script>alert(1)</script> http://x"
    page = write_monitor_page(
        tmp_path / "m.html", model, points, reference=REFERENCE, rules=rules
    ).read_text()
    assert CSS.strip() in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "http://" not in page
    assert "bearish-surge" in page and "bearish &gt; 0.4" in page
    assert "label-drift" in page and "psi &gt; 0.25" in page
    assert "no predictions" in page
    assert "data:image/png;base64," in page


def test_run_monitor_draws_the_rules_it_loads(tmp_path):
    """``run_monitor`` with a rules file hands the loaded rules to the page, so the page shows
    the thresholds that are evaluated."""
    runs = tmp_path / "runs"
    run = RunDir(runs / "news")
    run.path.mkdir(parents=True)
    run.status_path.write_text(json.dumps({"run_id": "news", "state": "succeeded"}))
    run.profile_path.write_text(json.dumps(REFERENCE.to_dict()))
    run.model_dir.mkdir(parents=True)
    (run.model_dir / "config.json").write_text("{}")  # monitoring reads no weights
    _log(open_store(runs), "news", _traffic_with_outage())
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        RULES_YAML + f"sinks:\n  - {{type: json, path: '{tmp_path / 'a.json'}'}}\n"
    )
    html = tmp_path / "page.html"
    run_monitor(
        "news",
        runs,
        window="1h",
        at=(T0 + dt.timedelta(hours=1)).isoformat(),
        html=str(html),
        rules_file=str(rules_file),
        log=lambda m: None,
    )
    page = html.read_text()
    assert "bearish-surge" in page and "p95_latency_ms &gt; 7.5" in page


def test_rules_on_an_empty_window(store, tmp_path):
    """In a window without predictions a rule on anything measured on predictions never fires,
    with or without a reference profile and whatever its min_count; a rule on the count
    itself does fire, so ``count < N`` catches an outage."""
    _log(store, "news", _traffic_with_outage())
    start, end = T0 + dt.timedelta(minutes=20), T0 + dt.timedelta(minutes=40)
    rules = _rules(
        tmp_path,
        "rules:\n"
        "  - {name: no-bearish, metric: label_share, label: bearish, op: '<', threshold: 0.1,"
        " min_count: 0}\n"
        "  - {name: fast, metric: p95_latency_ms, op: '<', threshold: 1, min_count: 0}\n"
        "  - {name: quiet, metric: count, op: '<', threshold: 5}\n",
    )
    for reference in (REFERENCE, None):
        stats = window_stats(store, "news", reference, start, end)
        assert [r.name for r in rules if r.fires(stats)[0]] == ["quiet"]
