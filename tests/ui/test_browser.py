"""The dashboard in a real browser (Debian's Chromium under Playwright): every page loads with
no console error and no failed request, charts draw, clicks do what they say, hostile text
stays text. A screenshot of each page is kept for a person to look at."""

from __future__ import annotations

import pytest

from .conftest import PWNED, RUN_A, RUN_B

PAGES = {
    "runs": "/runs",
    "runs-filtered": f"/runs?q={RUN_B}&sort=accuracy&order=asc",
    "run": f"/runs/{RUN_A}",
    "run-hostile": f"/runs/{RUN_B}",
    "compare": f"/compare?run={RUN_A}&run={RUN_B}",
    "not-found": "/runs/no-such-run",
}


def _chart_datasets(page, canvas_id: str) -> int:
    page.wait_for_selector(f"#{canvas_id}[data-ready='1']", timeout=10_000)
    return page.evaluate(
        f"Chart.getChart(document.getElementById('{canvas_id}')).data.datasets.length"
    )


@pytest.mark.parametrize("name", [n for n in PAGES if n != "not-found"])
def test_every_page_loads_cleanly(ui_server, watched, artifacts, name):
    """Each page answers 200 and loads its assets and chart data with no console error, no
    CSP violation, no uncaught exception and no failed request; its screenshot is kept."""
    watched.open(ui_server.url + PAGES[name])
    watched.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert watched.problems == []


def test_an_unknown_run_is_a_404_page_naming_it(ui_server, watched, artifacts):
    """A run that does not exist gets a readable 404 page, not a stack trace."""
    response = watched.page.goto(ui_server.url + PAGES["not-found"])
    watched.page.screenshot(path=str(artifacts / "not-found.png"), full_page=True)
    assert response.status == 404
    assert "no-such-run" in watched.page.inner_text("main")


def test_the_run_page_draws_its_curves(ui_server, watched):
    """The loss chart overlays raw and smoothed training loss with validation loss; the scores
    chart shows accuracy, macro-F1 and the kept checkpoint."""
    watched.open(f"{ui_server.url}/runs/{RUN_A}")
    assert _chart_datasets(watched.page, "loss-chart") == 3
    assert _chart_datasets(watched.page, "scores-chart") == 3


def test_the_run_page_draws_its_reliability_diagram(ui_server, watched, artifacts):
    """The calibration section shows ECE, Brier score and NLL before and after the
    temperature, and the reliability diagram draws both sides against the diagonal."""
    page = watched.page
    watched.open(f"{ui_server.url}/runs/{RUN_A}")
    assert _chart_datasets(page, "reliability-chart") == 3
    labels = page.evaluate(
        "Chart.getChart(document.getElementById('reliability-chart')).data.datasets"
        ".map(d => d.label)"
    )
    assert labels[0] == "perfectly calibrated" and labels[1].startswith("before scaling")
    rows = page.locator("#calibration tbody tr td:first-child").all_inner_texts()
    assert any("Brier" in r for r in rows) and any("ECE" in r for r in rows)
    page.locator("#reliability-chart").screenshot(path=str(artifacts / "reliability.png"))
    assert watched.problems == []


def test_compare_overlays_two_runs_curves(ui_server, watched, artifacts):
    """Ticking two runs and pressing Compare shows both runs' curves on one chart, for every
    curve the picker offers, and their metrics side by side."""
    page = watched.page
    watched.open(ui_server.url + "/runs")
    button = page.locator("#compare-button")
    assert button.is_disabled()
    page.check(f"input[name=run][value={RUN_A}]")
    assert button.is_disabled()  # one run is no comparison
    page.check(f"input[name=run][value={RUN_B}]")
    button.click()
    page.wait_for_load_state("networkidle")
    assert "/compare?" in page.url
    assert _chart_datasets(page, "compare-chart") == 2
    labels = page.evaluate(
        "Chart.getChart(document.getElementById('compare-chart')).data.datasets.map(d => d.label)"
    )
    assert sorted(labels) == [RUN_A, RUN_B]
    page.select_option("#compare-metric", "train.loss")
    assert _chart_datasets(page, "compare-chart") == 2
    headers = page.locator("#metrics-table thead th").all_inner_texts()
    assert sorted(headers[1:]) == [RUN_A, RUN_B]
    page.screenshot(path=str(artifacts / "compare-train-loss.png"), full_page=True)
    assert watched.problems == []


def test_a_confusion_cell_shows_its_count_and_examples(ui_server, watched, artifacts):
    """Hovering a cell names its true and predicted label and count; clicking an off-diagonal
    cell with confusions lists that pair's examples beside the matrix."""
    page = watched.page
    watched.open(f"{ui_server.url}/runs/{RUN_B}")
    cells = page.locator("#confusion td.cell:not(.diagonal)")
    counts = [int(c) for c in cells.all_inner_texts()]
    assert any(counts), "tiny-b was trained to make mistakes"
    cell = cells.nth(next(i for i, c in enumerate(counts) if c))
    assert "→ predicted" in cell.get_attribute("title")
    cell.click()
    panel = page.locator("#cell-panel")
    panel.locator("h3").wait_for()
    assert "predicted" in panel.locator("h3").inner_text()
    assert panel.locator("li").count() >= 1
    page.screenshot(path=str(artifacts / "run-cell-clicked.png"), full_page=True)
    assert watched.problems == []


def test_script_text_is_shown_and_never_run(ui_server, watched):
    """A label and texts holding <script>window.__pwned=1</script> appear as text on the run,
    runs and compare pages, and the script never runs."""
    page = watched.page
    for url in (f"/runs/{RUN_B}", f"/compare?run={RUN_A}&run={RUN_B}", "/runs"):
        watched.open(ui_server.url + url)
        assert page.evaluate("typeof window.__pwned") == "undefined"
    watched.open(f"{ui_server.url}/runs/{RUN_B}")
    assert PWNED in page.inner_text("#per-class")
    row = page.locator("#confusion tbody tr").filter(has=page.locator(f"th[title='{PWNED}']"))
    row.locator("td.cell").first.click()  # the panel is filled by script, from JSON
    page.locator("#cell-panel h3").wait_for()
    assert PWNED in page.inner_text("#cell-panel h3")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.problems == []


def test_read_only_shows_the_badge_and_no_action(read_only_server, watched, artifacts):
    """Under --read-only every page says so and carries no action form."""
    for url in ("/runs", f"/runs/{RUN_B}"):
        watched.open(read_only_server.url + url)
        assert watched.page.locator("#read-only").is_visible()
        assert watched.page.locator("form[data-action]").count() == 0
    watched.page.screenshot(path=str(artifacts / "run-read-only.png"), full_page=True)
    assert watched.problems == []
