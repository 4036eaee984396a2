"""The schema: migrations build exactly what the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import Database
from storage.migrate import current_revision, only_on, upgrade
from storage.models import Base


async def test_migrations_match_the_models_and_a_second_upgrade_is_a_no_op(database) -> None:  # type: ignore[no-untyped-def]
    """A model change without a migration would break the next release's upgrade; this catches it."""
    db = Database(database.url, schema=database.schema)
    try:
        await upgrade(db, chain=True)  # the migrations themselves, step by step
        first = await current_revision(db)
        await upgrade(db)
        assert await current_revision(db) == first
        async with db.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_object": only_on(sync.dialect.name)}),
                    Base.metadata,
                )
            )
        assert diff == []
    finally:
        await db.dispose()


async def test_the_hot_queries_read_open_rows_only_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The sender's and the dispatcher's scans must not walk history: sent replies stay a day, handled
    deliveries eight. An index on the channel alone once made every claim read every row sent that day."""
    from sqlalchemy.dialects import sqlite

    from storage import outbox

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    try:
        await upgrade(db)
        dialect = sqlite.dialect()
        plans = {}
        async with db.read() as session:
            conn = await session.connection()
            for name, statement, params in [
                ("scan", outbox._SCAN, {"channels": [1, 2], "limit": 800}),
                ("due", outbox._DUE, {"channels": [1]}),
            ]:
                bound = statement.params(**params)
                sql = str(bound.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
                plans[name] = " ".join(row[3] for row in rows)
        assert "ix_outbox_channel_state (channel_id=? AND state=?)" in plans["scan"], plans
        assert "ix_outbox_channel_state (channel_id=? AND state=?)" in plans["due"], plans
    finally:
        await db.dispose()


def test_the_inbox_reads_due_events_through_its_pending_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import sqlite3

    from storage.db import inbox_path

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")

    async def build() -> None:
        await upgrade(db)
        await db.dispose()

    asyncio.run(build())
    from storage import inbox_file

    sql = inbox_file._PENDING.format(channels="?", conversations="")
    with sqlite3.connect(inbox_path(tmp_path / "jola.db")) as conn:
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (1, "2026-01-01", 10)))
    assert "ix_inbound_events_pending (state=?)" in plan, plan


async def test_a_new_database_is_made_from_the_models_and_stamped_with_the_newest_revision(database) -> None:  # type: ignore[no-untyped-def]
    """The shortcut for empty databases ends where the chain ends: same revision, nothing to upgrade."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    db = Database(database.url, schema=database.schema)
    try:
        await upgrade(db)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await current_revision(db) == head
        await upgrade(db, chain=True)  # a later start walks the chain from there: nothing to do
        assert await current_revision(db) == head
    finally:
        await db.dispose()
