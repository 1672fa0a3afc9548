"""alembic's entry point for the store's revisions. It migrates the connection passed in
``config.attributes["connection"]`` by ``tuneforge.store.migrations.upgrade``, inside that
caller's transaction and lock: there is no alembic.ini and no URL here."""

from alembic import context

from tuneforge.store.migrations import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("The store's migrations run through tuneforge.store.migrations.upgrade.")
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
