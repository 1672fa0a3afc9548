"""The store's schema revisions: fresh stores at head, stores from before versioning adopted with
their data, the revisions matching the models, processes opening one store together."""

from __future__ import annotations

import datetime as dt
import importlib
import multiprocessing
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tuneforge.errors import RunError
from tuneforge.monitor.predlog import read_predictions
from tuneforge.store import Registry, RunStore, migrations
from tuneforge.store.db import Base
from tuneforge.store.migrations import baseline

SRC = Path(__file__).parents[2] / "src"
T0 = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.timezone.utc)


def _engine(url: str) -> sa.Engine:
    """A plain engine, as a store made before versioning was written with."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _model_metadata() -> sa.MetaData:
    """Base.metadata with every table the package maps: each module declaring one is imported."""
    for path in (SRC / "tuneforge").rglob("*.py"):
        if "(Base):" in path.read_text(encoding="utf-8"):
            importlib.import_module(".".join(path.relative_to(SRC).with_suffix("").parts))
    return Base.metadata


def _assert_schema_is_the_models(engine: sa.Engine) -> None:
    """alembic's autogenerate comparison finds nothing to add, drop or alter."""
    with engine.connect() as conn:
        opts = {"compare_type": True, "version_table": migrations.VERSION_TABLE}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), _model_metadata())
    assert diff == [], "the models and the revisions differ:\n" + "\n".join(map(str, diff))


def _version_rows(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        table = sa.table(migrations.VERSION_TABLE, sa.column("version_num"))
        return list(conn.execute(sa.select(table.c.version_num)).scalars())


def _fill_legacy_store(engine: sa.Engine) -> None:
    """Runs, params, metrics, registry versions, stage events and predictions, written into
    the tables as create_all made them."""
    t = baseline.METADATA.tables
    run = {"name": "old", "state": "succeeded", "run_dir": "/runs/old", "model": "tiny"}
    stamps = {"created_at": T0, "updated_at": T0, "finished_at": T0}
    version = {"run_id": "old", "variant": "model", "forced": False, "created_at": T0}
    with engine.begin() as conn:
        conn.execute(t["tf_runs"].insert(), [{"id": "old", **run, **stamps, "seed": 2**32 - 1}])
        conn.execute(t["tf_params"].insert(), [{"run_id": "old", "key": "train.lr", "value": "1"}])
        metric = {"run_id": "old", "epoch": 1.0, "split": "val", "key": "accuracy"}
        conn.execute(
            t["tf_metrics"].insert(),
            [{**metric, "step": s, "value": s / 10, "created_at": T0} for s in (1, 2)],
        )
        conn.execute(
            t["tf_model_versions"].insert(),
            [
                {**version, "name": "m", "version": 1, "artifact": "/a/1", "stage": "archived"},
                {**version, "name": "m", "version": 2, "artifact": "/a/2", "stage": "production"},
            ],
        )
        event = {"name": "m", "stage": "production", "action": "promote", "at": T0}
        conn.execute(t["tf_stage_events"].insert(), [{**event, "version": v} for v in (1, 2)])
        prediction = {"model": "m", "version": "2", "input_hash": "ab", "input_length": 5}
        prediction |= {"input_text": None, "confidence": 0.9, "latency_ms": 3.0}
        conn.execute(t["tf_predictions"].insert(), [{**prediction, "at": T0, "label": "billing"}])


def test_a_fresh_store_is_at_head(store_url):
    """Opening a new database creates every table at the newest revision, recorded once."""
    store = RunStore(store_url)
    assert _version_rows(store.engine) == [migrations.HEAD]
    assert set(baseline.METADATA.tables) <= set(sa.inspect(store.engine).get_table_names())
    RunStore(store_url)  # opening it again changes nothing
    assert _version_rows(store.engine) == [migrations.HEAD]


def test_the_revisions_build_exactly_the_models_schema(store_url):
    """A store upgraded to head has the tables, columns, types, indexes and constraints the
    models declare: a model change without its revision fails here, naming the difference."""
    _assert_schema_is_the_models(RunStore(store_url).engine)


def test_head_is_the_newest_revision():
    """HEAD, which lets an up-to-date store open without alembic, names the newest script."""
    config = Config()
    config.set_main_option("script_location", str(migrations.SCRIPTS))
    assert ScriptDirectory.from_config(config).get_current_head() == migrations.HEAD


def test_a_store_from_before_versioning_is_stamped_and_keeps_its_data(store_url):
    """A database create_all made (tf_ tables, no revision) is adopted as the baseline and
    upgraded; every run, metric, registry version and prediction in it stays readable."""
    engine = _engine(store_url)
    baseline.METADATA.create_all(engine)
    _fill_legacy_store(engine)

    store = RunStore(store_url)
    assert _version_rows(store.engine) == [migrations.HEAD]
    _assert_schema_is_the_models(store.engine)
    record = store.get("old")
    assert (record.state, record.created_at, record.seed) == ("succeeded", T0, 2**32 - 1)
    assert store.params("old") == {"train.lr": "1"}
    assert [(m.step, m.value) for m in store.metrics("old")] == [(1, 0.1), (2, 0.2)]
    registry = Registry(store)
    assert registry.resolve("m", "production").artifact == "/a/2"
    assert registry.rollback("m", "production").version == 1  # replays the old stage events
    assert registry.promote("m", "new", "model", "/a/3", "staging").version == 3
    [logged] = read_predictions(store, "m")
    assert (logged.at, logged.label, logged.input_length) == (T0, "billing", 5)


def test_a_store_with_only_some_legacy_tables_gets_the_rest(store_url):
    """create_all made only the tables of the modules a process had imported (runs without the
    registry, say): adoption adds the missing ones, so the registry works on that store."""
    engine = _engine(store_url)
    run_tables = [baseline.METADATA.tables[n] for n in ("tf_runs", "tf_params", "tf_metrics")]
    baseline.METADATA.create_all(engine, tables=run_tables)

    store = RunStore(store_url)
    assert _version_rows(store.engine) == [migrations.HEAD]
    _assert_schema_is_the_models(store.engine)
    assert Registry(store).promote("m", "r", "model", "/a", "production").version == 1


LATER_REVISION = """
from alembic import op

revision = "0999"
down_revision = "{head}"


def upgrade():
    op.create_index("ix_tf_metrics_run_step", "tf_metrics", ["run_id", "step"])


def downgrade():
    op.drop_index("ix_tf_metrics_run_step", "tf_metrics")
"""


def test_an_adopted_store_runs_the_revisions_after_the_baseline(store_url, tmp_path):
    """Stamping stops at the baseline: the revisions after it run on the adopted store too."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    later = LATER_REVISION.format(head=migrations.HEAD)
    (scripts / "versions" / "0999_metrics_index.py").write_text(later)
    engine = _engine(store_url)
    baseline.METADATA.create_all(engine)
    _fill_legacy_store(engine)

    migrations.upgrade(engine, scripts)
    assert _version_rows(engine) == ["0999"]
    assert "tf_label_items" in sa.inspect(engine).get_table_names()  # 0002 ran as well
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("tf_metrics")}
    assert "ix_tf_metrics_run_step" in indexes


def test_a_revision_from_a_newer_tuneforge_is_a_clear_error(store_url):
    """A store a newer tuneforge upgraded past this code's head is refused, saying what to do,
    and left as it was."""
    store = RunStore(store_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(RunError, match="revision 9999, newer than this tuneforge.*Upgrade"):
        RunStore(store_url)
    assert _version_rows(store.engine) == ["9999"]


def _slow_ddl(conn, cursor, statement, *args) -> None:
    if statement.lstrip().upper().startswith("CREATE"):
        time.sleep(0.05)  # widens the window in which an unlocked second upgrade would collide


def _upgrade_then_start(url: str, go) -> None:
    engine = _engine(url)
    sa.event.listen(engine, "before_cursor_execute", _slow_ddl)
    go.wait(30)
    migrations.upgrade(engine)  # without RunStore's retries: the lock alone must do it
    RunStore(url).start(f"r{multiprocessing.current_process().name}", "r", "/d", {})


def test_processes_upgrading_a_fresh_store_together_all_succeed(store_url):
    """Workers started at once on a new database (tune workers, server processes) all open it:
    one creates the schema under the lock, the others wait for it and find it done."""
    _engine(store_url)  # the SQLite file's folder
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    args = (store_url, go)
    procs = [ctx.Process(target=_upgrade_then_start, args=args, name=str(i)) for i in range(3)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(90)
    assert [p.exitcode for p in procs] == [0] * 3
    store = RunStore(store_url)
    assert _version_rows(store.engine) == [migrations.HEAD]
    assert len(store.list_runs()) == 3


def test_optuna_keeps_its_own_revision_in_the_same_database(tmp_path):
    """Studies live in the store's database; Optuna's alembic_version and the store's revision
    table stay apart, so either opens the database after the other."""
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{tmp_path / 'tf.db'}"
    optuna.storages.RDBStorage(url)
    store = RunStore(url)
    store.start("r1", "r1", "/d", {})
    optuna.storages.RDBStorage(url)
    assert _version_rows(RunStore(url).engine) == [migrations.HEAD]


def test_an_up_to_date_store_opens_without_alembic(tmp_path):
    """Listing runs stays fast: a store already at head is opened without importing alembic."""
    url = f"sqlite:///{tmp_path / 'tf.db'}"
    RunStore(url)
    code = (
        "import sys; from tuneforge.store import RunStore; "
        f"RunStore({url!r}).list_runs(); print('alembic' in sys.modules)"
    )
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False", done.stderr
