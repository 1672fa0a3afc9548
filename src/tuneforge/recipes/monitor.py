"""monitor: window statistics of a served model's prediction log, drift against its reference
profile, alert rules with cool-down, and an HTML page of the monitored series."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunError
from ..monitor.drift import Profile, drift
from ..monitor.predlog import read_predictions
from ..monitor.rules import AlertState, Rule
from ..monitor.sinks import deliver
from ..store import (
    RunDir,
    RunStore,
    default_store_url,
    is_valid_name,
    monitor_state_path,
    open_store,
    resolve_model,
)
from ..store.refs import served_name


def monitored_model(ref: str, runs_dir: Path) -> tuple[str, Profile | None]:
    """The name predictions are logged under, and the run's reference profile if it has one."""
    run, _ = resolve_model(ref, runs_dir)
    name, _ = served_name(ref, run)
    return name, reference_profile(run)


def reference_profile(run: RunDir) -> Profile | None:
    """The run's reference profile (its held-out predictions), if it has one."""
    data = run.read_json(run.profile_path.name)
    return Profile.from_dict(data) if data else None


def window_stats(
    store: RunStore, model: str, reference: Profile | None, start: dt.datetime, end: dt.datetime
) -> dict:
    """Statistics of the predictions logged in [start, end). A window without predictions has
    a count of 0 and no value (None) for everything measured on predictions — shares,
    latencies, drift — so an outage never reads as 0 ms and 0 % low confidence."""
    preds = read_predictions(store, model, start, end)
    labels = reference.labels if reference else tuple(sorted({p.label for p in preds}))
    stats = {
        "model": model,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "count": len(preds),
        "label_shares": dict.fromkeys(labels),
        "mean_confidence": None,
        "low_confidence_share": None,
        "unknown_share": None,
        "p50_latency_ms": None,
        "p95_latency_ms": None,
        "p99_latency_ms": None,
    }
    if not preds:
        return stats
    current = Profile.from_predictions(
        labels,
        [p.label for p in preds],
        [p.confidence for p in preds],
        [p.input_length for p in preds],
    )
    latencies = np.array([p.latency_ms for p in preds])
    stats.update(
        label_shares=current.label_shares(),
        mean_confidence=float(np.mean([p.confidence for p in preds])),
        low_confidence_share=float(np.mean([p.confidence < 0.5 for p in preds])),
        p50_latency_ms=float(np.percentile(latencies, 50)),
        p95_latency_ms=float(np.percentile(latencies, 95)),
        p99_latency_ms=float(np.percentile(latencies, 99)),
    )
    if reference is not None:
        # Abstentions (serve --abstain) are logged with the unknown label: no label of the model.
        known = set(reference.labels)
        stats["unknown_share"] = float(np.mean([p.label not in known for p in preds]))
        report = drift(reference, current)
        stats.update(
            psi=report.psi,
            chi2_p=report.chi2_p,
            confidence_ks=report.confidence_ks,
            length_ks=report.length_ks,
        )
    return stats


def make_alert(rule: Rule, value: float | None, stats: dict, now: dt.datetime) -> dict:
    """The alert record every sink receives."""
    return {
        "rule": rule.name,
        "metric": rule.metric,
        "label": rule.label,
        "value": value,
        "op": rule.op,
        "threshold": rule.threshold,
        "model": stats["model"],
        "count": stats["count"],
        "window_start": stats["window_start"],
        "window_end": stats["window_end"],
        "at": now.isoformat(),
    }


def evaluate_rules(
    store: RunStore,
    model: str,
    reference: Profile | None,
    rules: list[Rule],
    sinks: list[dict],
    state: AlertState,
    now: dt.datetime,
) -> list[dict]:
    """Alert on every rule whose condition holds over its window and is not cooling down.

    A rule is marked fired only once every sink took its alert; until then each evaluation
    sends it again to the sinks that have not (``delivered`` is False on such an alert, and
    ``sink_failures`` says why)."""
    alerts = []
    for rule in rules:
        stats = window_stats(store, model, reference, now - rule.window, now)
        fires, value = rule.fires(stats)
        if not fires:
            state.settled(rule)
            continue
        if state.cooling(rule, now):
            continue
        alert = make_alert(rule, value, stats, now)
        had = state.delivered_to(rule)
        taken, failures = deliver(alert, sinks, skip=had)
        alert["sink_failures"] = failures
        alert["delivered"] = not failures
        if failures:
            state.pending(rule, had | set(taken), now)
        else:
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
            what = "alert fired" if alert["delivered"] else "alert not delivered to every sink"
            log(f"{what}: {alert['rule']} ({alert['metric']}={alert['value']:.4g})")
        time.sleep(interval_s)


def parse_moment(at: str | None) -> dt.datetime:
    """``--at`` (an ISO time, UTC when it names no zone) or now."""
    now = dt.datetime.fromisoformat(at) if at else dt.datetime.now(dt.timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.timezone.utc)


def run_monitor(
    ref: str,
    runs_dir: Path,
    *,
    window: str = "1h",
    at: str | None = None,
    html: str | None = None,
    rules_file: str | None = None,
    watch_interval_s: float | None = None,
    show_stats=None,
    log=print,
) -> tuple[dict, list[dict]]:
    """Statistics of the last ``window`` (ending ``at``, default now), optionally the page
    ``html``, then the alert rules of ``rules_file`` — once, or every ``watch_interval_s``
    seconds until interrupted. ``show_stats`` sees the statistics as soon as they are known.
    The page draws the rules' thresholds. Returns the statistics and the alerts that fired
    (delivered to every sink; the others are logged and sent again on the next run)."""
    from ..monitor.page import write_monitor_page
    from ..monitor.rules import load_rules, parse_duration

    store = open_store(runs_dir)
    name, reference = monitored_model(ref, runs_dir)
    rules, sinks = load_rules(rules_file) if rules_file else ([], [])
    now = parse_moment(at)
    start = now - parse_duration(window)
    stats = window_stats(store, name, reference, start, now)
    if show_stats is not None:
        show_stats(stats)
    if html:
        points = series(store, name, reference, start, now)
        write_monitor_page(Path(html), name, points, reference=reference, rules=rules)
        log(f"written: {html}")
    if not rules_file:
        return stats, []
    state = AlertState(monitor_state_path(runs_dir, name))
    if watch_interval_s is not None:
        watch(store, name, reference, rules, sinks, state, watch_interval_s, log=log)
    alerts = evaluate_rules(store, name, reference, rules, sinks, state, now)
    for alert in alerts:
        if not alert["delivered"]:
            log(f"alert {alert['rule']} not delivered to every sink; the next run tries again")
    return stats, [a for a in alerts if a["delivered"]]


@dataclass(frozen=True)
class PruneResult:
    """What ``tuneforge monitor prune`` cleared: inputs per model name, before ``cutoff``."""

    store: str
    window: str
    cutoff: str
    cleared: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.cleared.values())


def existing_store(runs_dir: Path) -> RunStore:
    """The store of ``runs_dir``, never made anew: a SQLite file that is not there is an error
    (opening would create an empty one); an unreachable server is a RunError from the store."""
    if not os.environ.get("TUNEFORGE_STORE_URL"):
        path = Path(default_store_url(runs_dir).removeprefix("sqlite:///"))
        if not path.is_file():
            raise RunError(
                f"There is no store at {path}: no predictions have been logged there.",
                hint="Point --runs-dir (or TUNEFORGE_STORE_URL) at the store the server logs to.",
            )
    return open_store(runs_dir)


def run_prune(
    runs_dir: Path, older_than: str, *, name: str | None = None, at: str | None = None
) -> PruneResult:
    """Blank the inputs logged before ``at`` (default now) minus ``older_than`` ('30d'), of
    every model or of ``name``; hashes, labels, confidences and latencies stay. A store with
    no logged predictions, or without ``name``, is a RunError: pruning it would succeed at
    nothing, which usually means the wrong store."""
    from ..monitor.retention import (
        logged_counts,
        parse_retention,
        prune_inputs,
        record_prune,
        window_text,
    )

    window = parse_retention(older_than)
    now = parse_moment(at)
    store = existing_store(runs_dir)
    counts = logged_counts(store)
    if not counts:
        raise RunError(
            f"The store {store.url} holds no logged predictions: nothing to prune.",
            hint="'tuneforge serve' logs them (unless --no-log); check --runs-dir or "
            "TUNEFORGE_STORE_URL.",
        )
    if name is not None and name not in counts:
        raise RunError(
            f"No predictions are logged under '{name}' in {store.url}.",
            hint=f"Logged names: {', '.join(counts)}.",
        )
    cleared = {}
    for model in [name] if name is not None else list(counts):
        cleared[model] = prune_inputs(store, window, model=model, now=now)
        if is_valid_name(model):  # names from artifact folders may fit no file name
            record_prune(runs_dir, model, window, cleared[model], now, "monitor prune")
    cutoff = (now - window).isoformat(timespec="seconds")
    return PruneResult(store.url, window_text(window), cutoff, cleared)
