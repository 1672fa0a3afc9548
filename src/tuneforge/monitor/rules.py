"""Alert rules from YAML, evaluated per window, with cool-down; sinks (monitor/sinks.py): log,
JSON file, webhook (retried with backoff).

rules:
  - {name: bearish-surge, metric: label_share, label: bearish, op: ">", threshold: 0.4,
     window: 30m, cooldown: 30m, min_count: 20}
  - {name: drift, metric: psi, op: ">", threshold: 0.2, window: 1h}
  - {name: out-of-scope, metric: unknown_share, op: ">", threshold: 0.1, window: 1h}
sinks:
  - {type: log}
  - {type: json, path: alerts.jsonl}
  - {type: webhook, url: "http://127.0.0.1:9000/alerts", attempts: 4, backoff: 1}
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import re
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..store.rundir import atomic_write_text
from .sinks import check_sink

METRICS = (
    "label_share",
    "psi",
    "chi2_p",
    "confidence_ks",
    "length_ks",
    "low_confidence_share",
    "unknown_share",
    "p50_latency_ms",
    "p95_latency_ms",
    "count",
)
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def parse_duration(text: str | int | float) -> dt.timedelta:
    """'30m', '1h', '45s', '2d' or seconds → timedelta."""
    if isinstance(text, (int, float)):
        return dt.timedelta(seconds=float(text))
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if not match:
        raise ConfigError(f"'{text}' is not a duration; use e.g. 45s, 30m, 1h, 2d.")
    unit = {"s": 1, "": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return dt.timedelta(seconds=float(match.group(1)) * unit)


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    threshold: float
    op: str = ">"
    label: str | None = None
    window: dt.timedelta = dt.timedelta(hours=1)
    cooldown: dt.timedelta = dt.timedelta(minutes=30)
    min_count: int = 1

    def value(self, stats: dict) -> float | None:
        """The metric in a window; None when the window has no such value (no predictions, no
        reference profile). A label the window did not see has share 0."""
        count = stats.get("count", 0)
        if self.metric == "count":
            return count
        if not count:
            return None
        if self.metric == "label_share":
            return stats.get("label_shares", {}).get(self.label, 0.0)
        return stats.get(self.metric)

    def fires(self, stats: dict) -> tuple[bool, float | None]:
        """``min_count`` guards rules on statistics of the predictions; a rule on the count
        itself judges the count, so ``count < N`` fires in an outage."""
        value = self.value(stats)
        if value is None:
            return False, value
        if self.metric != "count" and stats.get("count", 0) < self.min_count:
            return False, value
        return OPS[self.op](value, self.threshold), value


def load_rules(path: str | Path) -> tuple[list[Rule], list[dict]]:
    """Rules and sink specs from YAML; unknown keys, metrics or operators name the rule."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Rules file '{path}' does not exist.")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {f.name for f in fields(Rule)}
    rules = []
    for i, raw in enumerate(doc.get("rules") or []):
        where = f"{path}: rule {i + 1} ({raw.get('name', 'unnamed')})"
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}.")
        if raw.get("metric") not in METRICS:
            raise ConfigError(f"{where}: metric must be one of {', '.join(METRICS)}.")
        if raw.get("op", ">") not in OPS:
            raise ConfigError(f"{where}: op must be one of {', '.join(OPS)}.")
        if raw["metric"] == "label_share" and not raw.get("label"):
            raise ConfigError(f"{where}: metric label_share needs a label.")
        values = dict(raw)
        for key in ("window", "cooldown"):
            if key in values:
                values[key] = parse_duration(values[key])
        try:
            values["threshold"] = float(values["threshold"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}: threshold must be a number.") from None
        rules.append(Rule(**values))
    sinks = doc.get("sinks") or [{"type": "log"}]
    for i, sink in enumerate(sinks):
        check_sink(sink, f"{path}: sink {i + 1}")
    return rules, sinks


class AlertState:
    """Per rule, kept in a JSON file so cool-down and de-duplication survive restarts of
    ``tuneforge monitor --watch`` (and one-shot runs from cron): when it last fired — an ISO
    time — or, while some sink has not taken its alert yet, which sinks have (sink ids) and
    since when. A rule counts as fired only once every sink has its alert."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: dict[str, str | dict] = (
            json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        )

    def cooling(self, rule: Rule, now: dt.datetime) -> bool:
        last = self.last.get(rule.name)
        if not isinstance(last, str):
            return False
        return now - dt.datetime.fromisoformat(last) < rule.cooldown

    def delivered_to(self, rule: Rule) -> set[str]:
        """Sinks that already have the rule's pending alert."""
        entry = self.last.get(rule.name)
        return set(entry.get("delivered", ())) if isinstance(entry, dict) else set()

    def fired(self, rule: Rule, now: dt.datetime) -> None:
        self.last[rule.name] = now.isoformat()
        self.save()

    def pending(self, rule: Rule, delivered: set[str], now: dt.datetime) -> None:
        """Some sink failed: remember who has the alert; the rule has not fired yet."""
        entry = self.last.get(rule.name)
        since = entry.get("since") if isinstance(entry, dict) else None
        self.last[rule.name] = {"delivered": sorted(delivered), "since": since or now.isoformat()}
        self.save()

    def settled(self, rule: Rule) -> None:
        """The condition no longer holds: a pending alert is dropped (it would be stale)."""
        if isinstance(self.last.get(rule.name), dict):
            del self.last[rule.name]
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.last, ensure_ascii=False))
