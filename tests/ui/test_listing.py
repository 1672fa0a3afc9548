"""The runs table's server-side filter, sort and pages: they cover every run, while one page
of rows reaches the browser."""

from __future__ import annotations

import datetime as dt

from tuneforge.recipes.runs import RunSummary
from tuneforge.ui.listing import Query, paginate, select, sort_runs

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _run(i: int, **kw) -> RunSummary:
    fields = dict(
        id=f"run-{i:04d}",
        name=f"run-{i:04d}",
        state="succeeded",
        task="text",
        data="tickets.csv",
        method="full",
        model="minilm",
        accuracy=i / 1000,
        macro_f1=i / 1000,
        created_at=T0 + dt.timedelta(minutes=i),
        duration_s=float(i),
        run_dir=f"/runs/run-{i:04d}",
    )
    return RunSummary(**{**fields, **kw})


def test_runs_without_a_value_sort_last_in_both_directions():
    """A running run has no accuracy yet: it goes to the end whichever way the column sorts."""
    runs = [_run(1), _run(2, accuracy=None, state="running"), _run(3)]
    for descending in (True, False):
        assert sort_runs(runs, "accuracy", descending)[-1].id == "run-0002"
    assert [r.id for r in sort_runs(runs, "accuracy", True)][:2] == ["run-0003", "run-0001"]


def test_filter_and_sort_cover_every_run_and_a_page_holds_one_page():
    """Of 1,000 runs, the text filter finds matches on any page, the sort orders all of them,
    and the page holds ``size`` rows with its numbers right."""
    runs = [_run(i, method="lora" if i % 10 == 0 else "full") for i in range(1000)]
    page = select(runs, Query(text="LoRA", sort="accuracy", descending=True), 25)
    assert page.total == 100 and page.count == 4 and len(page.rows) == 25
    assert page.rows[0].id == "run-0990" and page.first == 1
    last = select(runs, Query(sort="accuracy", descending=False, page=40), 25)
    assert last.rows[-1].id == "run-0999" and last.first == 976
    failed = select(runs, Query(state="failed"), 25)
    assert failed.total == 0 and failed.rows == [] and failed.first == 0


def test_a_hand_edited_url_gets_a_page_not_an_error():
    """Unknown columns, bad or huge page numbers fall back to what exists."""
    query = Query.parse(" x ", "", "no-such-column", "sideways", "abc")
    assert (query.text, query.sort, query.descending, query.page) == ("x", "created", True, 1)
    assert paginate([_run(1)], 99, 50).number == 1
