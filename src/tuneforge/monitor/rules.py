"""Alert rules from YAML, evaluated per window, with cool-down; sinks: log, JSON file, webhook.

rules:
  - {name: bearish-surge, metric: label_share, label: bearish, op: ">", threshold: 0.4,
     window: 30m, cooldown: 30m, min_count: 20}
  - {name: drift, metric: psi, op: ">", threshold: 0.2, window: 1h}
sinks:
  - {type: log}
  - {type: json, path: alerts.jsonl}
  - {type: webhook, url: "http://127.0.0.1:9000/alerts"}
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import re
import sys
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from ..errors import ConfigError

METRICS = (
    "label_share",
    "psi",
    "chi2_p",
    "confidence_ks",
    "length_ks",
    "low_confidence_share",
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
        if self.metric == "label_share":
            return stats.get("label_shares", {}).get(self.label, 0.0)
        return stats.get(self.metric)

    def fires(self, stats: dict) -> tuple[bool, float | None]:
        value = self.value(stats)
        if value is None or stats.get("count", 0) < self.min_count:
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
    for sink in sinks:
        if sink.get("type") not in ("log", "json", "webhook"):
            raise ConfigError(f"{path}: sink type must be log, json or webhook, got {sink}.")
    return rules, sinks


def deliver(alert: dict, sinks: list[dict]) -> list[str]:
    """Send ``alert`` to every sink; returns the failures (a broken sink must not stop others)."""
    failures = []
    for sink in sinks:
        try:
            if sink["type"] == "log":
                print(
                    f"ALERT {alert['rule']}: {alert['metric']}={alert['value']:.4g} "
                    f"{alert['op']} {alert['threshold']} ({alert['model']}, "
                    f"{alert['window_start']} .. {alert['window_end']})",
                    file=sys.stderr,
                )
            elif sink["type"] == "json":
                with open(sink["path"], "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(alert) + "\n")
            else:
                request = urllib.request.Request(
                    sink["url"],
                    data=json.dumps(alert).encode(),
                    method="POST",
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=float(sink.get("timeout", 5))):
                    pass
        except Exception as exc:  # reported back; other sinks still get the alert
            failures.append(f"{sink['type']}: {exc}")
    return failures


class AlertState:
    """When each rule last fired, kept in a JSON file: cool-down and de-duplication survive
    restarts of ``tuneforge monitor --watch``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: dict[str, str] = (
            json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        )

    def cooling(self, rule: Rule, now: dt.datetime) -> bool:
        last = self.last.get(rule.name)
        return last is not None and now - dt.datetime.fromisoformat(last) < rule.cooldown

    def fired(self, rule: Rule, now: dt.datetime) -> None:
        self.last[rule.name] = now.isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.last), encoding="utf-8")
