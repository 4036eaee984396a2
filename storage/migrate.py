"""Schema creation and upgrades at start: one Alembic chain for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_UPGRADE_LOCK = 4_117_001  # PostgreSQL advisory lock id: one process upgrades, the others wait


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def only_on(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for comparing the models with a database of `dialect`: leaves out what
    the models keep for other databases (`info={"dialects": (...)}`, e.g. a PostgreSQL-only index)."""

    def include(obj: Any, _name: str | None, _type: str, reflected: bool, _compare_to: Any) -> bool:
        dialects = None if reflected else getattr(obj, "info", {}).get("dialects")
        return dialects is None or dialect in dialects

    return include


async def upgrade(db: Database, *, chain: bool = False) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once. A separate
    inbox file (SQLite) gets the same chain, so both files upgrade the same way.

    An empty database gets the newest schema made from the models in one go and is stamped with the newest
    revision (Alembic's advice for new databases: the chain's fourteen steps, SQLite's table rebuilds
    among them, cost every new database, and every test, a fifth of a second). `chain=True` walks the
    chain anyway: tests/test_storage.py does, and checks it ends exactly where the models are."""
    await _upgrade(db, chain)
    if db.split_inbox:
        await _upgrade(db.inbox, chain)
        await _move_inbox_rows(db)


async def _move_inbox_rows(db: Database) -> None:
    """Deliveries stored in the main file by a release before the inbox had its own: moved, none lost."""
    from sqlalchemy import delete, select

    from storage.models import InboundEvent

    table = InboundEvent.__table__
    async with db.write() as main:
        found = await main.execute(select(table).order_by(table.c.id))
        rows = [{k: v for k, v in row._mapping.items() if k != "id"} for row in found]
        if not rows:
            return
        async with db.inbox.write() as inbox:
            await inbox.execute(db.inbox.insert_ignoring_duplicates(table), rows)
        await main.execute(delete(table))


async def _upgrade(db: Database, chain: bool = False) -> None:
    async with db.engine.connect() as connection:
        if not db.is_sqlite:
            await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _UPGRADE_LOCK})
            await connection.commit()
        try:
            await connection.run_sync(lambda sync: _to_head(sync, chain))
            await connection.commit()
        finally:
            if not db.is_sqlite:
                await connection.rollback()  # a failed step leaves the transaction aborted (else a no-op)
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _UPGRADE_LOCK})
                await connection.commit()


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with db.engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def _to_head(sync: Any, chain: bool) -> None:
    from sqlalchemy import inspect

    from storage.models import Base

    if not chain and not inspect(sync).get_table_names():
        Base.metadata.create_all(sync)
        command.stamp(alembic_config(sync), "head")
        return
    command.upgrade(alembic_config(sync), "head")
