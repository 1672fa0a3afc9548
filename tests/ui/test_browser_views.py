"""The monitoring, playground and studies pages in a real browser (Debian's Chromium under
Playwright): every page loads with no console error and no failed request, the charts draw
with data, the playground predicts and attributes, script text stays inert. A screenshot of
each page is kept for a person to look at."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ..conftest import shape_image
from .conftest import PWNED, RUN_A, RUN_B, STUDY, Served, _free_port

MONITOR_CHARTS = ("traffic-chart", "shares-chart", "confidence-chart", "latency-chart")


@pytest.fixture(scope="module")
def views_server(ui_runs, monitored):
    """The fixture runs with logged traffic and the rules file."""
    from tuneforge.ui import UISettings

    settings = UISettings(runs_dir=ui_runs, port=_free_port(), rules_file=monitored)
    with Served(settings) as served:
        yield served


@pytest.fixture(scope="module")
def study_server(study_runs):
    from tuneforge.ui import UISettings

    with Served(UISettings(runs_dir=study_runs, port=_free_port())) as served:
        yield served


@pytest.fixture(scope="module")
def image_server(image_runs):
    from tuneforge.ui import UISettings

    with Served(UISettings(runs_dir=image_runs, port=_free_port(), read_only=True)) as served:
        yield served


PAGES = {
    "monitoring": "/monitoring",
    "monitor-model": f"/monitoring/{RUN_A}",
    "monitor-model-1h": f"/monitoring/{RUN_A}?window=1h",
    "monitor-model-7d": f"/monitoring/{RUN_A}?window=7d",
    "monitor-hostile": f"/monitoring/{RUN_B}",
    "playground": "/playground",
}
STUDY_PAGES = {
    "studies": "/studies",
    "study": f"/studies/{STUDY}",
    "trial-run": f"/runs/{STUDY}-t0",
}


def _ready(page, canvas_id: str) -> int:
    page.wait_for_selector(f"#{canvas_id}[data-ready='1']", timeout=10_000)
    return int(page.get_attribute(f"#{canvas_id}", "data-datasets"))


@pytest.mark.parametrize("name", list(PAGES))
def test_every_new_page_loads_cleanly(views_server, watched, artifacts, name):
    """Each monitoring and playground page answers 200 and loads its assets and chart data
    with no console error, CSP violation, uncaught exception or failed request."""
    watched.open(views_server.url + PAGES[name])
    if name.startswith("monitor-"):
        _ready(watched.page, "drift-chart")
    watched.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert watched.problems == []


@pytest.mark.parametrize("name", list(STUDY_PAGES))
def test_every_study_page_loads_cleanly(study_server, watched, artifacts, name):
    """The studies list, a study (with its two charts) and a trial's run page load clean."""
    watched.open(study_server.url + STUDY_PAGES[name])
    if name == "study":
        assert _ready(watched.page, "history-chart") == 2  # trials and best so far
        assert _ready(watched.page, "importance-chart") == 1
    if name == "trial-run":
        watched.page.click("#study-link")
        watched.page.wait_for_load_state("networkidle")
        assert watched.page.url.endswith(f"/studies/{STUDY}")
        watched.page.go_back()
        watched.page.wait_for_load_state("networkidle")
    watched.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert watched.problems == []


def test_monitoring_charts_draw_the_logged_traffic(views_server, watched):
    """Every chart draws; the traffic chart's bars hold the logged counts, with empty hours
    of the outage as zero bars and gaps (null) in the other charts; the shares chart has a
    stack per label, the latency chart three percentiles, the drift chart PSI and chi-square."""
    page = watched.page
    watched.open(f"{views_server.url}/monitoring/{RUN_A}")
    counts = {}
    for canvas in (*MONITOR_CHARTS, "drift-chart"):
        counts[canvas] = _ready(page, canvas)
    assert counts["shares-chart"] == 3 and counts["latency-chart"] == 3
    assert counts["drift-chart"] == 3
    traffic = page.evaluate(
        "Chart.getChart(document.getElementById('traffic-chart')).data.datasets[0].data"
    )
    assert sum(traffic) > 100 and 0 in traffic
    p95 = page.evaluate(
        "Chart.getChart(document.getElementById('latency-chart')).data.datasets[1].data"
    )
    assert None in p95 and any(v for v in p95 if v)
    assert "cooling down" in page.inner_text("#rules-table")
    assert watched.problems == []


def test_the_playground_predicts_a_typed_text(views_server, watched, artifacts):
    """Typing a text and pressing Predict shows the top labels with bars and the text's words
    coloured by their attribution."""
    page = watched.page
    watched.open(f"{views_server.url}/playground?model={RUN_A}")
    page.fill("#text-input", "my parcel delivery is late")
    page.select_option("#method-select", "occlusion")
    page.click("#predict-button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#top-labels tbody tr").count() == 3
    assert page.locator("#attributions span").count() == 5
    assert page.input_value("#text-input") == "my parcel delivery is late"
    page.screenshot(path=str(artifacts / "playground-text.png"), full_page=True)
    assert watched.problems == []


def test_script_text_stays_inert_in_the_new_pages(views_server, watched):
    """A <script> typed into the playground, and logged as an input and a label, is shown as
    text and never runs."""
    page = watched.page
    watched.open(f"{views_server.url}/playground?model={RUN_B}")
    page.fill("#text-input", PWNED)
    page.click("#predict-button")
    page.wait_for_load_state("networkidle")
    assert PWNED in page.inner_text("#attributions")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    watched.open(f"{views_server.url}/monitoring/{RUN_B}")
    _ready(page, "shares-chart")
    assert PWNED in page.inner_text("#doubtful-table")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.problems == []


def test_an_image_dropped_in_the_playground_gets_a_heat_map(image_server, watched, artifacts):
    """Under --read-only too, choosing an image posts it and shows the top labels and the
    heat-map overlay."""
    page = watched.page
    watched.open(f"{image_server.url}/playground?model=shapes%40staging")
    buf = io.BytesIO()
    Image.fromarray(shape_image("vertical", np.random.default_rng(4)), "L").save(buf, "PNG")
    page.set_input_files(
        "#image-input", {"name": "bar.png", "mimeType": "image/png", "buffer": buf.getvalue()}
    )
    page.wait_for_selector("#overlay-box:not([hidden])", timeout=20_000)
    assert page.locator("#top-labels tbody tr").count() == 3
    assert page.evaluate("document.getElementById('overlay').naturalWidth") > 100
    page.screenshot(path=str(artifacts / "playground-image.png"), full_page=True)
    assert watched.problems == []


def test_the_search_page_finds_the_nearest_answered_question(
    views_server, indexed, watched, artifacts
):
    """Typing a question and pressing Search lists the nearest stored questions, best first,
    with their answers; the stored <script> stays text."""
    page = watched.page
    watched.open(f"{views_server.url}/search")
    page.fill("#query-input", "where is my parcel")
    page.fill("#k-input", "3")
    page.click("#search-button")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#hits tbody tr")
    assert rows.count() == 3
    assert "Track it under Orders." in rows.first.inner_text()
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(artifacts / "search.png"), full_page=True)
    assert watched.problems == []
