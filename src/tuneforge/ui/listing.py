"""The runs table's filter, sort and pages, server-side and pure.

They run over every run the store knows, so a filter or a sort covers all of them while the
browser receives one page of rows: a thousand runs never sit in the page at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..recipes.runs import RunSummary

# Sortable columns: URL name → (header, how to read the value).
COLUMNS: dict[str, tuple[str, Any]] = {
    "id": ("run", lambda r: r.id),
    "state": ("state", lambda r: r.state),
    "task": ("task", lambda r: r.task),
    "data": ("data", lambda r: r.data),
    "method": ("method", lambda r: r.method),
    "accuracy": ("accuracy", lambda r: r.accuracy),
    "macro_f1": ("macro-F1", lambda r: r.macro_f1),
    "duration": ("duration", lambda r: r.duration_s),
    "created": ("started", lambda r: r.created_at),
}
NUMERIC = frozenset({"accuracy", "macro_f1", "duration"})
DEFAULT_SORT = "created"


@dataclass(frozen=True)
class Query:
    """What the runs page was asked for (from its URL), already made valid."""

    text: str = ""
    state: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True
    page: int = 1

    @classmethod
    def parse(cls, q: str, state: str, sort: str, order: str, page: str) -> Query:
        """Unknown columns and bad page numbers fall back to the defaults: a hand-edited URL
        gets a page, not an error."""
        try:
            number = max(1, int(page))
        except ValueError:
            number = 1
        return cls(
            text=q.strip()[:200],
            state=state.strip(),
            sort=sort if sort in COLUMNS else DEFAULT_SORT,
            descending=order != "asc",
            page=number,
        )


@dataclass(frozen=True)
class Page:
    rows: list[RunSummary]
    number: int
    count: int  # pages
    total: int  # matching runs
    first: int  # 1-based index of the first row shown (0 when none)


def matches(run: RunSummary, text: str, state: str) -> bool:
    """``text`` anywhere in the run's id, name, task, data, method or model (any case)."""
    if state and run.state != state:
        return False
    if not text:
        return True
    needle = text.lower()
    fields = (run.id, run.name, run.task, run.data, run.method, run.model)
    return any(needle in f.lower() for f in fields if f)


def sort_runs(runs: list[RunSummary], column: str, descending: bool) -> list[RunSummary]:
    """Sorted by ``column``; runs without a value (no metrics yet, still running) go last in
    either direction, ties keep the newest first."""
    read = COLUMNS[column][1]
    present, missing = [], []
    for r in runs:
        (missing if read(r) is None or read(r) == "" else present).append(r)
    present.sort(key=lambda r: _key(read(r)), reverse=descending)
    return present + missing


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def paginate(rows: list[RunSummary], number: int, size: int) -> Page:
    count = max(1, -(-len(rows) // size))
    number = min(number, count)
    start = (number - 1) * size
    shown = rows[start : start + size]
    return Page(shown, number, count, len(rows), start + 1 if shown else 0)


def select(runs: list[RunSummary], query: Query, size: int) -> Page:
    """Filter, sort, cut out one page."""
    kept = [r for r in runs if matches(r, query.text, query.state)]
    return paginate(sort_runs(kept, query.sort, query.descending), query.page, size)
