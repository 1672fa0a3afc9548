"""RunStore over SQLAlchemy: round trips, resume, refusals that change nothing, concurrency."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import event

from tuneforge.errors import RunError
from tuneforge.store import RunStore, StoredRun, default_store_url
from tuneforge.store.db import flatten


@pytest.fixture
def store(store_url) -> RunStore:
    """Every test in this module runs against SQLite and against PostgreSQL."""
    return RunStore(store_url)


def _snapshot(store: RunStore, run_id: str) -> tuple:
    return store.get(run_id), store.params(run_id), store.metrics(run_id)


def test_start_log_finish_round_trip(store, tmp_path):
    """A run's record, flattened params, metrics and final state come back as stored."""
    if store.url.startswith("sqlite"):
        assert (tmp_path / "sub" / "tf.db").is_file()  # parent folder created on demand
    run = store.start(
        "r1",
        "first",
        "/runs/r1",
        {"train": {"lr": 1e-4, "epochs": None}, "name": "first"},
        model="tiny",
        git_sha="abc123",
        data_fingerprint="f00d",
        seed=2**32 - 1,  # the largest seed NumPy takes: past a 32-bit column
    )
    assert run == StoredRun("r1", store)
    run.log_metrics(step=10, epoch=0.5, split="train", metrics={"loss": 1.5, "lr": 1e-4})
    run.log_metrics(
        step=10, epoch=0.5, split="val", metrics={"accuracy": 0.5, "note": "x", "best": True}
    )
    store.log_metrics("r1", step=20, epoch=1.0, split="val", metrics={"accuracy": 0.75})
    run.finish("succeeded")

    record = store.get("r1")
    assert (record.name, record.state, record.run_dir, record.model) == (
        "first",
        "succeeded",
        "/runs/r1",
        "tiny",
    )
    assert (record.git_sha, record.data_fingerprint, record.seed, record.error) == (
        "abc123",
        "f00d",
        2**32 - 1,
        None,
    )
    for stamp in (record.created_at, record.updated_at, record.finished_at):
        assert stamp.tzinfo is not None and stamp.utcoffset() == dt.timedelta(0)
    # The test PostgreSQL server's session zone is +05:30: a zone lost on the way shifts these.
    now = dt.datetime.now(dt.timezone.utc)
    assert now - dt.timedelta(minutes=1) < record.created_at <= record.finished_at <= now
    assert store.params("r1") == {"train.lr": "0.0001", "train.epochs": "", "name": "first"}
    assert [(m.step, m.key, m.value) for m in store.metrics("r1", "val")] == [
        (10, "accuracy", 0.5),
        (20, "accuracy", 0.75),
    ]
    assert {m.split for m in store.metrics("r1")} == {"train", "val"}
    assert store.latest_metrics("r1", "val") == {"accuracy": 0.75}
    assert store.latest_metrics("r1", "test") == {}
    assert store.get("missing") is None


def test_list_runs_is_newest_first_and_limited(store):
    """list_runs returns the most recently started runs first, at most ``limit``."""
    for run_id in ("a", "b", "c"):
        store.start(run_id, run_id, f"/d/{run_id}", {})
    assert [r.id for r in store.list_runs()] == ["c", "b", "a"]
    assert [r.id for r in store.list_runs(limit=2)] == ["c", "b"]


def test_second_start_of_a_succeeded_run_fails_and_changes_nothing(store):
    """Starting an existing succeeded id fails, with or without resume, and leaves its rows."""
    store.start("r1", "r1", "/d", {"a": 1}, seed=1)
    store.log_metrics("r1", step=1, epoch=1, split="val", metrics={"accuracy": 0.9})
    store.finish("r1", "succeeded")
    before = _snapshot(store, "r1")
    with pytest.raises(RunError, match="already in the store \\(succeeded\\)"):
        store.start("r1", "r1", "/other", {"a": 2}, seed=2)
    with pytest.raises(RunError, match="cannot be resumed"):
        store.start("r1", "r1", "/other", {"a": 2}, seed=2, resume=True)
    assert _snapshot(store, "r1") == before


def test_resume_requires_the_flag(store):
    """An unfinished run is only reopened when resume=True is passed."""
    store.start("r1", "r1", "/d", {})
    store.finish("r1", "interrupted")
    with pytest.raises(RunError, match="--resume"):
        store.start("r1", "r1", "/d", {})
    assert store.get("r1").state == "interrupted"


def test_resume_reopens_and_keeps_metrics_until_the_checkpoint(store):
    """A failed run resumes as running, keeps its metrics and drops only replayed steps."""
    store.start("r1", "r1", "/d", {"train": {"lr": 0.1}})
    for step in (5, 10, 15):
        store.log_metrics("r1", step=step, epoch=step / 10, split="train", metrics={"loss": step})
    store.finish("r1", "failed", error="boom")
    failed = store.get("r1")
    assert (failed.state, failed.error) == ("failed", "boom")

    store.start("r1", "r1", "/d", {"train": {"lr": 0.1}}, resume=True)
    resumed = store.get("r1")
    assert (resumed.state, resumed.error, resumed.finished_at) == ("running", None, None)
    assert resumed.created_at == failed.created_at
    assert len(store.metrics("r1")) == 3

    assert store.delete_metrics_after("r1", 10) == 1
    store.log_metrics("r1", step=15, epoch=1.5, split="train", metrics={"loss": 0.5})
    assert [(m.step, m.value) for m in store.metrics("r1")] == [(5, 5.0), (10, 10.0), (15, 0.5)]
    assert store.params("r1") == {"train.lr": "0.1"}


def test_failure_inside_start_rolls_everything_back(store):
    """If writing the params fails, the run row inserted just before is not left behind."""

    def fail_on_params(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO TF_PARAMS"):
            raise RuntimeError("disk full")

    event.listen(store.engine, "before_cursor_execute", fail_on_params)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            store.start("r1", "r1", "/d", {"a": 1})
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_on_params)
    assert store.get("r1") is None and store.params("r1") == {} and store.list_runs() == []


def test_writes_for_unknown_runs_are_refused(store):
    """Metrics or a finish for a run that was never started are errors, not orphan rows."""
    with pytest.raises(RunError, match="not in the store"):
        store.log_metrics("ghost", step=1, epoch=0, split="val", metrics={"accuracy": 1.0})
    with pytest.raises(RunError, match="not in the store"):
        store.finish("ghost", "failed")
    assert store.metrics("ghost") == []
    store.start("r1", "r1", "/d", {})
    with pytest.raises(ValueError, match="finish state"):
        store.finish("r1", "done")
    assert store.get("r1").state == "running"


def _write_metrics(url: str, worker: int, n: int, go) -> None:
    go.wait(30)
    store = RunStore(url)
    for i in range(n):
        store.log_metrics(
            "shared", step=worker * 1000 + i, epoch=0.0, split="train", metrics={"loss": i}
        )


def test_concurrent_processes_lose_no_metrics(store_url):
    """Several processes logging to one store at once all land every row."""
    url = store_url
    RunStore(url).start("shared", "shared", "/d", {})
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    workers, n = 3, 60
    procs = [ctx.Process(target=_write_metrics, args=(url, w, n, go)) for w in range(workers)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * workers
    steps = sorted(m.step for m in RunStore(url).metrics("shared"))
    assert steps == sorted(w * 1000 + i for w in range(workers) for i in range(n))


def test_store_url_comes_from_env_or_runs_dir(tmp_path, monkeypatch):
    """TUNEFORGE_STORE_URL wins; otherwise an absolute SQLite path inside the runs directory."""
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    url = default_store_url(Path("runs"))
    assert url == f"sqlite:///{tmp_path.resolve() / 'runs' / 'tuneforge.db'}"
    monkeypatch.setenv("TUNEFORGE_STORE_URL", "postgresql://u@h/db")
    assert default_store_url(Path("runs")) == "postgresql://u@h/db"


def test_bad_store_urls_are_user_errors(monkeypatch):
    """A malformed URL or a missing driver raises RunError saying what to fix, password hidden."""
    with pytest.raises(RunError, match="not a database URL"):
        RunStore("not a url")
    with pytest.raises(RunError, match="names no database"):
        RunStore("nosuchdb://u@h/db")

    def no_driver(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr(sqlalchemy, "create_engine", no_driver)
    expected = "needs the driver 'psycopg'.*pip install 'tuneforge.postgres.'"
    with pytest.raises(RunError, match=expected) as err:
        RunStore("postgresql://user:s3cret@db.example/tf")
    assert "s3cret" not in str(err.value)


def test_postgres_urls_without_a_driver_get_psycopg(postgres_server):
    """postgresql:// and postgres:// both open with psycopg 3 (SQLAlchemy's default for the bare
    scheme is psycopg2, which the `postgres` extra does not install)."""
    url = postgres_server.new_database()
    for scheme in ("postgresql://", "postgres://"):
        store = RunStore(scheme + url.split("://", 1)[1])
        assert store.engine.url.drivername == "postgresql+psycopg"
        store.start(scheme.rstrip(":/"), "x", "/d", {})
    assert sorted(r.id for r in RunStore(url).list_runs()) == ["postgres", "postgresql"]


def test_flatten_dotted_keys():
    """Nested configs become dotted keys with string values (None as empty)."""
    assert flatten({"a": {"b": 1, "c": {"d": None}}, "e": True}) == {
        "a.b": "1",
        "a.c.d": "",
        "e": "True",
    }


def test_bulk_reads_give_each_runs_last_values_in_one_query(store):
    """latest_metrics_by_run and params_by_run answer for every run at once, with the value
    logged last winning, as latest_metrics and params answer for one."""
    for run_id in ("a", "b"):
        run = store.start(run_id, run_id, f"/runs/{run_id}", {"method": {"name": run_id}})
        for step, acc in ((1, 0.5), (2, 0.75)):
            run.log_metrics(step=step, epoch=step, split="val", metrics={"accuracy": acc})
    store.log_metrics("b", step=3, epoch=3, split="test", metrics={"accuracy": 0.9, "loss": 1})
    by_run = store.latest_metrics_by_run("val", ["accuracy"])
    assert by_run == {"a": {"accuracy": 0.75}, "b": {"accuracy": 0.75}}
    assert store.latest_metrics_by_run("test", ["accuracy"]) == {"b": {"accuracy": 0.9}}
    assert store.params_by_run(["method.name"]) == {
        "a": {"method.name": "a"},
        "b": {"method.name": "b"},
    }
    assert [r.id for r in store.list_runs(limit=None)] == ["b", "a"]
