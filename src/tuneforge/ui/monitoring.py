"""What the monitoring pages show, from the prediction log through the monitor recipe: which
models have predictions, their statistics per time bucket (``recipes.monitor.series``, one
``window_stats`` per bucket, so the dashboard and ``tuneforge monitor`` never disagree), the
run's reference profile, and the alert rules with their state and history.

Reading only: the alert state file is read, never written (``tuneforge monitor`` owns it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import TuneforgeError
from ..monitor.drift import Profile
from ..monitor.page import PSI_NOTABLE, duration_text, rule_condition, tick_labels
from ..monitor.predlog import PredictionRow, read_logged
from ..monitor.retention import read_prune_record
from ..monitor.rules import AlertState, Rule, load_rules
from ..recipes.monitor import monitored_model, series, window_stats
from ..store import STAGES, Registry, RunStore, is_valid_name, monitor_state_path

# Window choice → (length, buckets): 5-minute, hourly and 6-hourly buckets.
WINDOWS = {
    "1h": (dt.timedelta(hours=1), 12),
    "24h": (dt.timedelta(hours=24), 24),
    "7d": (dt.timedelta(days=7), 28),
}
DEFAULT_WINDOW = "24h"
HISTORY_LIMIT = 20  # alerts shown per model, newest first
DOUBTFUL_LIMIT = 10  # low-confidence logged inputs shown
INPUT_CHARS = 200


@dataclass(frozen=True)
class LoggedModel:
    name: str
    count: int
    last: dt.datetime | None


def logged_models(store: RunStore) -> list[LoggedModel]:
    """Every model name with predictions in the log, with its count and latest prediction."""
    p = PredictionRow
    query = select(p.model, func.count(p.id), func.max(p.at)).group_by(p.model).order_by(p.model)
    with Session(store.engine) as session:
        rows = session.execute(query).all()
    return [LoggedModel(name, count, _utc(last)) for name, count, last in rows]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def reference(name: str, runs_dir: Path, store: RunStore) -> tuple[Profile | None, str]:
    """The reference profile for a logged name and where it came from: the run of that id, or
    the registered model's production (else staging) version; None and why when there is none."""
    refs = [name]
    if name in Registry(store).names():
        refs = [f"{name}@{stage}" for stage in reversed(STAGES)]
    for ref in refs:
        try:
            _, profile = monitored_model(ref, runs_dir)
        except TuneforgeError:
            continue
        if profile is not None:
            return profile, f"the reference profile of {ref}"
        return None, f"{ref} has no reference profile (profile.json): no drift is computed"
    return None, f"no run or registered model is called {name}: no drift is computed"


def bucket_end(now: dt.datetime, length: dt.timedelta, buckets: int) -> dt.datetime:
    """``now`` rounded up to a bucket edge, so reloading the page keeps the same buckets."""
    size = (length / buckets).total_seconds()
    stamp = now.timestamp()
    return dt.datetime.fromtimestamp(-(-stamp // size) * size, dt.timezone.utc)


def chart_data(
    store: RunStore, name: str, profile: Profile | None, window: str, now: dt.datetime
) -> dict:
    """The charts' points: one statistics record per bucket of ``window`` ending now (empty
    buckets have a count of 0 and None for the rest: gaps, never zeros)."""
    length, buckets = WINDOWS[window]
    end = bucket_end(now, length, buckets)
    points = series(store, name, profile, end - length, end, buckets)
    labels = (
        list(profile.labels) if profile else sorted({k for p in points for k in p["label_shares"]})
    )
    keys = ("count", "mean_confidence", "low_confidence_share", "unknown_share", "psi", "chi2_p")
    keys += ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")
    return {
        "model": name,
        "window": window,
        "ticks": tick_labels(points),
        "starts": [p["window_start"] for p in points],
        **{k: [p.get(k) for p in points] for k in keys},
        "labels": labels,
        "shares": {
            label: [p["label_shares"].get(label, 0.0) if p["count"] else None for p in points]
            for label in labels
        },
        "reference_shares": profile.label_shares() if profile else None,
        "psi_notable": PSI_NOTABLE,
    }


def read_rules(path: Path | None) -> tuple[list[Rule], list[dict], str | None]:
    """The rules and sinks of ``--rules``, or why they cannot be read (shown on the page)."""
    if path is None:
        return [], [], None
    try:
        rules, sinks = load_rules(path)
    except TuneforgeError as exc:
        return [], [], exc.message
    return rules, sinks, None


def rule_states(
    store: RunStore,
    name: str,
    profile: Profile | None,
    rules: list[Rule],
    runs_dir: Path,
    now: dt.datetime,
) -> list[dict]:
    """Each rule now: its value over its own window, whether its condition holds, and what the
    alert state file says (last fired and cooling down, or waiting for a sink)."""
    try:
        state: AlertState | None = AlertState(monitor_state_path(runs_dir, name))
    except (TuneforgeError, ValueError):  # a name no state file can have, or a file cut short
        state = None
    out = []
    for rule in rules:
        stats = window_stats(store, name, profile, now - rule.window, now)
        holds, value = rule.fires(stats)
        entry = state.last.get(rule.name) if state else None
        last = entry if isinstance(entry, str) else None
        pending = entry.get("since") if isinstance(entry, dict) else None
        status = "ok"
        if holds:
            cooling = state is not None and state.cooling(rule, now)
            status = "holds · cooling down" if cooling else "holds now"
        out.append(
            {
                "name": rule.name,
                "condition": rule_condition(rule),
                "window": duration_text(rule.window),
                "cooldown": duration_text(rule.cooldown),
                "value": value,
                "count": stats["count"],
                "status": status,
                "last_fired": last,
                "pending_since": pending,
                "delivered": entry.get("delivered", []) if isinstance(entry, dict) else [],
            }
        )
    return out


def alert_history(sinks: list[dict], name: str, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The model's latest alerts from the rules' JSON-file sinks (the one sink that keeps a
    history), newest first."""
    alerts: list[dict] = []
    for sink in sinks:
        path = Path(str(sink.get("path", ""))) if sink.get("type") == "json" else None
        if path is None or not path.is_file():
            continue
        kept: deque[dict] = deque(maxlen=limit)
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    alert = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash
                if isinstance(alert, dict) and alert.get("model") == name:
                    kept.append(alert)
        alerts.extend(kept)
    return sorted(alerts, key=lambda a: str(a.get("at", "")), reverse=True)[:limit]


def doubtful_inputs(store: RunStore, name: str, since: dt.datetime, until: dt.datetime) -> list:
    """The latest low-confidence predictions whose input was logged (``serve --log-inputs``)."""
    logged = read_logged(store, name, since, until)
    rows = [r for r in logged if r.confidence < 0.5 and r.text is not None]
    rows = rows[-DOUBTFUL_LIMIT:][::-1]
    return [
        {
            "at": r.at,
            "label": r.label,
            "confidence": r.confidence,
            "text": r.text if len(r.text) <= INPUT_CHARS else r.text[: INPUT_CHARS - 1] + "…",
        }
        for r in rows
    ]


def retention(store: RunStore, name: str, runs_dir: Path) -> dict:
    """How many of the model's predictions still hold their input, and the latest prune
    (``serve --retention`` or ``monitor prune``): its window, when, and what it cleared."""
    p = PredictionRow
    query = select(func.count(p.id)).where(p.model == name, p.input_text.is_not(None))
    with Session(store.engine) as session:
        stored = int(session.execute(query).scalar_one())
    record = read_prune_record(runs_dir, name) if is_valid_name(name) else None
    return {"stored_inputs": stored, "record": record}
