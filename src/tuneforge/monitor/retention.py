"""Retention of logged inputs: past a window, the input text of a logged prediction is blanked.

The row stays — its hash, length, label, confidence and latency are what monitoring, drift and
alerts read, and none of them is personal — only ``input_text`` becomes NULL. Pruning runs in
batches of :data:`PRUNE_BATCH` rows, one short transaction each, so a server writing its log
into the same store waits for one batch at most. What each prune cleared is kept per model in
``<runs_dir>/monitor/<model>-retention.json`` (the dashboard shows it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select, update

from ..errors import ConfigError
from ..store.db import RunStore
from ..store.rundir import atomic_write_text, retention_state_path
from .predlog import PredictionRow

PRUNE_BATCH = 5_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_retention(text: str) -> dt.timedelta:
    """'30d', '12h', '2w', '90m' or '45s' → timedelta. A unit is required and the window must
    be above 0: '30' (seconds? days?) and '0d' (delete every input at once) are refused."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"'{text}' is not a retention window.",
            hint="Give a number above 0 with a unit: 30d, 12h, 2w, 90m or 45s.",
        )
    return dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def window_text(window: dt.timedelta) -> str:
    """A window in the largest unit that divides it (30d, 12h, 90m, 45s)."""
    seconds = window.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def prune_inputs(
    store: RunStore,
    older_than: dt.timedelta,
    *,
    model: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Blank the input text of predictions logged before ``now - older_than`` (of ``model``
    only, if given); the number of inputs cleared."""
    p = PredictionRow
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - older_than
    where = [p.at < cutoff, p.input_text.is_not(None)]
    if model is not None:
        where.append(p.model == model)
    cleared = 0
    while True:
        batch = select(p.id).where(*where).limit(PRUNE_BATCH)
        with store.engine.begin() as conn:
            n = conn.execute(update(p).where(p.id.in_(batch)).values(input_text=None)).rowcount
        cleared += n
        if n < PRUNE_BATCH:
            return cleared


def logged_counts(store: RunStore) -> dict[str, int]:
    """Predictions in the log per model name."""
    p = PredictionRow
    query = select(p.model, func.count(p.id)).group_by(p.model).order_by(p.model)
    with store.engine.connect() as conn:
        return {name: int(n) for name, n in conn.execute(query)}


@dataclass(frozen=True)
class PruneRecord:
    """What the latest prune of a model's logged inputs did, and the window it applied."""

    window: str
    pruned_at: str
    cleared: int
    cleared_total: int
    by: str  # serve | monitor prune


def read_prune_record(runs_dir: Path, model: str) -> PruneRecord | None:
    """The model's latest prune, or None (never pruned, or a file cut short)."""
    path = retention_state_path(runs_dir, model)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PruneRecord(**{k: data[k] for k in PruneRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_prune(
    runs_dir: Path, model: str, window: dt.timedelta, cleared: int, now: dt.datetime, by: str
) -> PruneRecord:
    """Keep what a prune of ``model`` did (adding to the inputs cleared before)."""
    before = read_prune_record(runs_dir, model)
    record = PruneRecord(
        window=window_text(window),
        pruned_at=now.isoformat(timespec="seconds"),
        cleared=cleared,
        cleared_total=cleared + (before.cleared_total if before else 0),
        by=by,
    )
    path = retention_state_path(runs_dir, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(asdict(record), ensure_ascii=False))
    return record


class Retention:
    """A served model's retention: prune its logged inputs at start and every ``every_s``
    seconds (a tenth of the window, between a minute and an hour) from the log's writer
    thread."""

    def __init__(self, runs_dir: Path, window: dt.timedelta, every_s: float | None = None):
        self.runs_dir, self.window = Path(runs_dir), window
        self.every_s = every_s or min(3600.0, max(60.0, window.total_seconds() / 10))
        self.last_run: float | None = None

    def due(self, clock: float) -> bool:
        return self.last_run is None or clock - self.last_run >= self.every_s

    def prune(self, store: RunStore, model: str, clock: float) -> int:
        """Prune now and keep the record; ``clock`` is a monotonic time, for :meth:`due`."""
        now = dt.datetime.now(dt.timezone.utc)
        cleared = prune_inputs(store, self.window, model=model, now=now)
        self.last_run = clock
        record_prune(self.runs_dir, model, self.window, cleared, now, "serve")
        return cleared
