"""The schema: migrations build exactly what the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import Database
from storage.migrate import current_revision, upgrade
from storage.models import Base


async def test_migrations_match_the_models_and_a_second_upgrade_is_a_no_op(database) -> None:  # type: ignore[no-untyped-def]
    """A model change without a migration would break the next release's upgrade; this catches it."""
    db = Database(database.url, schema=database.schema)
    try:
        await upgrade(db)
        first = await current_revision(db)
        await upgrade(db)
        assert await current_revision(db) == first
        async with db.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
    finally:
        await db.dispose()
