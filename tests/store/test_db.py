"""RunStore over SQLAlchemy: round trips, resume, refusals that change nothing, concurrency."""

from __future__ import annotations

import threading

import pytest

from tuneforge.errors import RunError
from tuneforge.store import RunStore, default_store_url, flatten


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path / 'sub' / 'tf.db'}")


def test_start_log_finish_round_trip(store):
    """A run's params, metrics and final state come back as stored."""
    store.start(
        "r1",
        "r1",
        "/runs/r1",
        {"train": {"lr": 1e-4}, "name": None},
        seed=3,
        data_fingerprint="abc",
    )
    store.log_metrics(
        "r1",
        step=10,
        epoch=1.0,
        split="val",
        metrics={"accuracy": 0.5, "note": "x", "nan": float("nan")},
    )
    store.log_metrics("r1", step=20, epoch=2.0, split="val", metrics={"accuracy": 0.75})
    store.finish("r1", "succeeded")
    record = store.get("r1")
    assert record.state == "succeeded" and record.seed == 3 and record.finished_at is not None
    assert store.params("r1") == {"train.lr": "0.0001", "name": ""}
    assert [m.value for m in store.metrics("r1", "val")] == [0.5, 0.75]
    assert store.latest_metrics("r1", "val") == {"accuracy": 0.75}
    assert [r.id for r in store.list_runs()] == ["r1"]


def test_duplicate_start_is_refused_and_changes_nothing(store):
    """Starting an existing succeeded run fails; its rows stay as they were."""
    store.start("r1", "r1", "/d", {"a": 1})
    store.finish("r1", "succeeded")
    with pytest.raises(RunError, match="already in the store"):
        store.start("r1", "r1", "/d", {"a": 2})
    with pytest.raises(RunError):
        store.start("r1", "r1", "/d", {"a": 2}, resume=True)
    assert store.params("r1") == {"a": "1"} and store.get("r1").state == "succeeded"


def test_resume_reopens_an_unfinished_run_and_trims_replayed_metrics(store):
    """A failed run can be resumed; metrics after the checkpoint step are removed."""
    store.start("r1", "r1", "/d", {})
    store.log_metrics("r1", step=5, epoch=1, split="train", metrics={"loss": 1.0})
    store.log_metrics("r1", step=9, epoch=2, split="train", metrics={"loss": 0.5})
    store.finish("r1", "failed", error="boom")
    store.start("r1", "r1", "/d", {}, resume=True)
    store.delete_metrics_after("r1", 5)
    assert store.get("r1").state == "running" and store.get("r1").error is None
    assert [m.step for m in store.metrics("r1")] == [5]


def test_concurrent_writers_lose_nothing(tmp_path):
    """Threads with their own RunStore on one SQLite file all land their metrics."""
    url = f"sqlite:///{tmp_path / 'tf.db'}"
    RunStore(url).start("r", "r", "/d", {})

    def writer(k: int) -> None:
        s = RunStore(url)
        for i in range(25):
            s.log_metrics("r", step=k * 100 + i, epoch=0, split="train", metrics={"loss": i})

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(RunStore(url).metrics("r")) == 100


def test_store_url_comes_from_env_or_runs_dir(tmp_path, monkeypatch):
    """TUNEFORGE_STORE_URL wins; otherwise the SQLite file sits in the runs directory."""
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    assert default_store_url(tmp_path).endswith(f"{tmp_path}/tuneforge.db")
    monkeypatch.setenv("TUNEFORGE_STORE_URL", "postgresql://u@h/db")
    assert default_store_url(tmp_path) == "postgresql://u@h/db"


def test_flatten_dotted_keys():
    """Nested configs become dotted keys with string values."""
    assert flatten({"a": {"b": 1, "c": {"d": None}}, "e": True}) == {
        "a.b": "1",
        "a.c.d": "",
        "e": "True",
    }
