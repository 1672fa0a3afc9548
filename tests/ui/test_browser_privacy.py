"""The monitoring page in a real browser (Debian's Chromium under Playwright) shows logged
inputs as the store keeps them — personal data as placeholders — and the retention window
with what the latest prune cleared."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import Served, _free_port, _log_predictions


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    """A runs folder whose only logged model, 'private', has an email in a recent input and
    an input 40 days old, pruned with a 30-day window."""
    from tuneforge.recipes.monitor import run_prune
    from tuneforge.store import open_store
    from tuneforge.ui import UISettings

    runs = tmp_path_factory.mktemp("private") / "runs"
    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        (now - dt.timedelta(days=40), "old note from bob@example.org", "billing", 0.3, 3.0),
        (now - dt.timedelta(minutes=5), "mail me at jane@example.com", "billing", 0.31, 3.0),
    ]
    _log_predictions(open_store(runs), "private", rows, log_inputs=True)
    run_prune(runs, "30d")
    with Served(UISettings(runs_dir=runs, port=_free_port())) as served:
        yield served


def test_a_logged_email_appears_as_a_placeholder(private_server, watched, artifacts):
    """The doubtful input shows [EMAIL], never the address; the retention note names the
    window and the count cleared; the page loads without a console error."""
    page = watched.page
    watched.open(f"{private_server.url}/monitoring/private")
    assert "mail me at [EMAIL]" in page.inner_text("#doubtful-table")
    assert "@example" not in page.content()
    assert page.inner_text("#retention-window") == "30d"
    assert page.inner_text("#pruned-count") == "1"
    page.screenshot(path=str(artifacts / "monitor-retention.png"), full_page=True)
    assert watched.problems == []
