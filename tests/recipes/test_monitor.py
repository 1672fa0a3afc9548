"""monitor prune's recipe on SQLite and PostgreSQL: every model's old inputs, or one name's; an
empty store is an error on both."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tuneforge.errors import RunError
from tuneforge.monitor.predlog import PredictionLog, read_logged
from tuneforge.recipes.monitor import run_prune
from tuneforge.store import RunStore
from tuneforge.types import Prediction

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _log(store, model, texts_at) -> None:
    log = PredictionLog(store, model, "v1", log_inputs=True, flush_every_s=0.05)

    async def write():
        await log.start()
        for text, at in texts_at:
            log.record([text], [Prediction("a", 0.7, [("a", 0.7)])], 2.0, at=at)
        await log.stop()

    asyncio.run(write())


@pytest.fixture
def store(store_url, monkeypatch) -> RunStore:
    monkeypatch.setenv("TUNEFORGE_STORE_URL", store_url)
    return RunStore(store_url)


def test_prune_clears_every_model_or_one_name(store, tmp_path):
    """Without --name every model's old inputs go, counted per model; with it only that
    model's; the window and cut-off are given back."""
    for model in ("intents", "news"):
        _log(store, model, [("old", NOW - 40 * DAY), ("new", NOW - DAY)])
    only = run_prune(tmp_path, "30d", name="news", at=NOW.isoformat())
    assert only.cleared == {"news": 1} and only.window == "30d"
    assert only.cutoff == (NOW - 30 * DAY).isoformat(timespec="seconds")
    every = run_prune(tmp_path, "30d", at=NOW.isoformat())
    assert every.cleared == {"intents": 1, "news": 0} and every.total == 1
    texts = [r.text for r in read_logged(store, "intents", NOW - 90 * DAY, NOW)]
    assert texts == [None, "new"]


def test_an_empty_store_is_an_error(store, tmp_path):
    """A store without logged predictions says so (usually the wrong store), on both
    backends."""
    with pytest.raises(RunError, match="holds no logged predictions"):
        run_prune(tmp_path, "30d")
