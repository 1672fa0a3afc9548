"""Model registry: promote, resolve NAME@stage, rollback as a stack, concurrent promotes."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event

from tuneforge.errors import RunError
from tuneforge.store import Registry, RunStore


@pytest.fixture
def registry(store_url):
    """Every registry test runs against SQLite and against PostgreSQL."""
    return Registry(RunStore(store_url))


def test_promote_moves_the_stage_and_archives_the_previous_holder(registry):
    """A new production version archives the old one; staging is independent."""
    registry.promote("m", "run1", "model", "/a/1", "production")
    registry.promote("m", "run2", "onnx-fp32", "/a/2", "production")
    registry.promote("m", "run3", "model", "/a/3", "staging")
    assert registry.resolve("m", "production").version == 2
    assert registry.resolve("m", "staging").artifact == "/a/3"
    assert [v.stage for v in registry.versions("m")] == ["archived", "production", "staging"]
    now = dt.datetime.now(dt.timezone.utc)
    for v in registry.versions("m"):  # aware UTC from both backends, whatever the server's zone
        assert v.created_at.utcoffset() == dt.timedelta(0)
        assert now - dt.timedelta(minutes=1) < v.created_at <= now


def test_rollback_walks_back_and_refuses_past_the_first(registry):
    """Rollbacks pop promotions in order; past the first one nothing changes."""
    for i in (1, 2, 3):
        registry.promote("m", f"run{i}", "model", f"/a/{i}", "production")
    assert registry.rollback("m", "production").version == 2
    assert registry.rollback("m", "production").version == 1
    with pytest.raises(RunError, match="no earlier production version"):
        registry.rollback("m", "production")
    assert registry.resolve("m", "production").version == 1


def test_rollback_target_names_what_a_rollback_would_restore(registry):
    """The version a confirmation names is the one the rollback then restores, at every step;
    with no earlier version it is None."""
    for i in (1, 2, 3):
        registry.promote("m", f"run{i}", "model", f"/a/{i}", "production")
    for expected in (2, 1):
        assert registry.rollback_target("m", "production") == expected
        assert registry.rollback("m", "production").version == expected
    assert registry.rollback_target("m", "production") is None
    assert registry.rollback_target("m", "staging") is None


def test_unknown_name_or_stage_is_a_clear_error(registry):
    """Resolving an unknown model lists what is registered."""
    registry.promote("known", "r", "model", "/a", "staging")
    with pytest.raises(RunError, match="No production version of model 'ghost'.*known"):
        registry.resolve("ghost", "production")
    with pytest.raises(RunError, match="Unknown stage"):
        registry.promote("m", "r", "model", "/a", "prod")
    with pytest.raises(RunError, match="no production version"):
        registry.rollback("known", "production")
    # Refused alike on both backends (PostgreSQL enforces the column's length, SQLite would not).
    with pytest.raises(RunError, match="at most 128 characters"):
        registry.promote("x" * 129, "r", "model", "/a", "staging")
    for bad in ("../../outside", "a@b", " ", "two\nlines", "", ".hidden"):
        with pytest.raises(RunError, match="not allowed"):
            registry.promote(bad, "r", "model", "/a", "staging")
    assert registry.names() == ["known"]


def test_concurrent_promotes_keep_versions_unique(store_url):
    """Eight threads promoting at once get distinct versions and leave one production."""
    url = store_url
    Registry(RunStore(url))
    errors: list[Exception] = []

    def promote(i: int) -> None:
        try:
            Registry(RunStore(url)).promote("m", f"run{i}", "model", f"/a/{i}", "production")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    versions = Registry(RunStore(url)).versions("m")
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert [v.stage for v in versions].count("production") == 1


def test_a_rollback_racing_a_promote_leaves_one_holder(store_url):
    """A rollback that lands while a promote sits between reading the stage's holder and
    archiving it must not leave two production versions: the two writes are serialised."""
    Registry(RunStore(store_url)).promote("m", "run1", "model", "/a/1", "production")
    Registry(RunStore(store_url)).promote("m", "run2", "model", "/a/2", "production")
    promoter = Registry(RunStore(store_url))
    paused, rolled_back = threading.Event(), threading.Event()

    def pause_before_archiving(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE TF_MODEL_VERSIONS"):
            if not paused.is_set():
                paused.set()
                # Serialised writes keep the rollback waiting for us: go on after a moment.
                rolled_back.wait(1.0)

    event.listen(promoter.engine, "before_cursor_execute", pause_before_archiving)
    errors: list[Exception] = []

    def promote() -> None:
        try:
            promoter.promote("m", "run3", "model", "/a/3", "production")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    thread = threading.Thread(target=promote)
    thread.start()
    assert paused.wait(30)
    try:
        Registry(RunStore(store_url)).rollback("m", "production")
    finally:
        rolled_back.set()
        thread.join(60)
    assert not errors
    stages = {v.version: v.stage for v in Registry(RunStore(store_url)).versions("m")}
    assert list(stages.values()).count("production") == 1, stages
    # Whichever went first, the other saw its result: promote then rollback gives v2 back.
    assert stages == {1: "archived", 2: "production", 3: "archived"}
