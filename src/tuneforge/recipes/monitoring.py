"""monitor: window statistics of a served model's prediction log, drift against its reference
profile, alert rules with cool-down, and an HTML page of the monitored series."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np

from ..monitor.drift import Profile, drift
from ..monitor.predlog import read_predictions
from ..monitor.rules import AlertState, Rule, deliver
from ..store import RunStore, default_store_url
from .use import resolve_model


def monitored_model(ref: str, runs_dir: Path) -> tuple[str, Profile | None]:
    """The name predictions are logged under, and the run's reference profile if it has one."""
    run, _ = resolve_model(ref, runs_dir)
    name = ref.split("@", 1)[0] if "@" in ref else run.run_id
    data = run.read_json("profile.json")
    return name, Profile.from_dict(data) if data else None


def window_stats(
    store: RunStore, model: str, reference: Profile | None, start: dt.datetime, end: dt.datetime
) -> dict:
    preds = read_predictions(store, model, start, end)
    labels = reference.labels if reference else tuple(sorted({p.label for p in preds}))
    current = Profile.from_predictions(
        labels,
        [p.label for p in preds],
        [p.confidence for p in preds],
        [p.input_length for p in preds],
    )
    latencies = np.array([p.latency_ms for p in preds]) if preds else np.array([0.0])
    stats = {
        "model": model,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "count": len(preds),
        "label_shares": current.label_shares(),
        "low_confidence_share": float(np.mean([p.confidence < 0.5 for p in preds]))
        if preds
        else 0.0,
        "p50_latency_ms": float(np.percentile(latencies, 50)),
        "p95_latency_ms": float(np.percentile(latencies, 95)),
        "p99_latency_ms": float(np.percentile(latencies, 99)),
    }
    if reference is not None and preds:
        report = drift(reference, current)
        stats.update(
            psi=report.psi,
            chi2_p=report.chi2_p,
            confidence_ks=report.confidence_ks,
            length_ks=report.length_ks,
        )
    return stats


def evaluate_rules(
    store: RunStore,
    model: str,
    reference: Profile | None,
    rules: list[Rule],
    sinks: list[dict],
    state: AlertState,
    now: dt.datetime,
) -> list[dict]:
    """Fire every rule whose condition holds over its window and is not cooling down."""
    alerts = []
    for rule in rules:
        stats = window_stats(store, model, reference, now - rule.window, now)
        fires, value = rule.fires(stats)
        if not fires or state.cooling(rule, now):
            continue
        alert = {
            "rule": rule.name,
            "metric": rule.metric,
            "label": rule.label,
            "value": value,
            "op": rule.op,
            "threshold": rule.threshold,
            "model": model,
            "count": stats["count"],
            "window_start": stats["window_start"],
            "window_end": stats["window_end"],
            "at": now.isoformat(),
        }
        alert["sink_failures"] = deliver(alert, sinks)
        state.fired(rule, now)
        alerts.append(alert)
    return alerts


def series(
    store: RunStore,
    model: str,
    reference: Profile | None,
    start: dt.datetime,
    end: dt.datetime,
    buckets: int = 12,
) -> list[dict]:
    edges = [start + (end - start) * i / buckets for i in range(buckets + 1)]
    return [window_stats(store, model, reference, a, b) for a, b in zip(edges, edges[1:])]


def watch(store, model, reference, rules, sinks, state, interval_s: float, log=print) -> None:
    """Evaluate the rules every ``interval_s`` seconds until interrupted."""
    while True:
        now = dt.datetime.now(dt.timezone.utc)
        for alert in evaluate_rules(store, model, reference, rules, sinks, state, now):
            log(f"alert fired: {alert['rule']} ({alert['metric']}={alert['value']:.4g})")
        time.sleep(interval_s)


def open_store(runs_dir: Path) -> RunStore:
    return RunStore(default_store_url(runs_dir))
