"""The store's schema, versioned: alembic revisions in ``versions/``, applied whenever a
RunStore opens a database, so every process finds the tables its code reads and writes.

The revision is kept in ``tf_alembic_version``, not alembic's default ``alembic_version``:
Optuna keeps its studies in the same database under its own alembic revision there.

A schema change is a model change plus a new file in ``versions/`` (``revision``,
``down_revision``, ``upgrade()``, ``downgrade()``, written with ``alembic.op`` and copies of
the columns it touches, never the models, which move on) and ``HEAD`` set to its revision.
tests/store/test_migrations.py names what differs while the models and the revisions disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ...errors import RunError
from . import baseline

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0003"  # the newest revision in versions/; opening a store at HEAD skips alembic
BASELINE = "0001"  # the tables create_all made before the schema was versioned
VERSION_TABLE = "tf_alembic_version"
SCRIPTS = Path(__file__).parent
# pg_advisory_xact_lock key ("tuneforg" in ASCII): one schema upgrade at a time per database.
_PG_LOCK_KEY = 0x74756E65666F7267


def current_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision, None before its first upgrade: one cheap read, so an
    up-to-date store opens without importing alembic."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
        query = sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
        return conn.execute(query).scalar()


def ensure_current(engine: sa.Engine) -> None:
    """Upgrade the database unless it is already at HEAD."""
    if current_revision(engine) != HEAD:
        upgrade(engine)


def upgrade(engine: sa.Engine, scripts: Path = SCRIPTS) -> None:
    """Bring the database to the newest revision in ``scripts``, in one transaction.

    A fresh database gets every table. One created before versioning (``tf_`` tables, no
    revision) gets the baseline tables it lacks and is stamped as the baseline, then upgraded.
    Processes opening one database together take turns (SQLite's write lock, a PostgreSQL
    advisory lock), so the second finds the first one's work instead of failing on it.
    """
    from alembic import command

    config = _config(scripts)
    with engine.begin() as conn:
        _lock(conn)
        config.attributes["connection"] = conn
        current = _heads(conn)
        _check_known(current, config, engine)
        if not current and _has_store_tables(conn):
            baseline.METADATA.create_all(conn)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def _config(scripts: Path) -> Config:
    """An alembic configuration without an ini file: the scripts' folder is all it needs."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(scripts).replace("%", "%%"))
    return config


def _lock(conn: sa.Connection) -> None:
    """Hold the database's schema lock until this transaction ends (other backends rely on
    RunStore's retries)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits out busy_timeout for the write lock
    elif dialect == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))


def _heads(conn: sa.Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _has_store_tables(conn: sa.Connection) -> bool:
    return bool(set(sa.inspect(conn).get_table_names()) & set(baseline.METADATA.tables))


def _check_known(current: tuple[str, ...], config: Config, engine: sa.Engine) -> None:
    """A revision this code does not know was written by a newer tuneforge: say so, instead
    of alembic's "Can't locate revision"."""
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        url = engine.url.render_as_string()
        msg = (
            f"The run store {url} has schema revision {', '.join(unknown)}, newer than this "
            f"tuneforge knows (up to {HEAD})."
        )
        hint = "Upgrade tuneforge, or point TUNEFORGE_STORE_URL at another database."
        raise RunError(msg, hint=hint)
