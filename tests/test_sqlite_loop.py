"""SQLite statements run on the loop's thread, yet a lock held elsewhere never stalls the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from storage.db import Database


async def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    async with db.write() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return db


async def test_statements_run_on_the_loop_thread_and_commits_on_another(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    threads: dict[str, set[int]] = {"statement": set(), "commit": set()}
    try:
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            raw._conn.set_trace_callback(
                lambda sql: threads["commit" if sql == "COMMIT" else "statement"].add(threading.get_ident())
            )
            await conn.execute(text("INSERT INTO notes (body) VALUES ('a')"))
            assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar() == 1
            await conn.commit()
        assert threads["statement"] == {threading.get_ident()}
        assert threads["commit"] and threading.get_ident() not in threads["commit"]
    finally:
        await db.dispose()


async def test_a_write_lock_held_by_another_process_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    other = sqlite3.connect(tmp_path / "jola.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        other.execute("INSERT INTO notes (body) VALUES ('theirs')")

        async def ours() -> None:
            async with db.write() as session:
                await session.execute(text("INSERT INTO notes (body) VALUES ('ours')"))

        writing = asyncio.create_task(ours())
        # The loop keeps running while our write waits for the lock: these ticks are not held up.
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        async with db.read() as session:
            bodies = (await session.execute(text("SELECT body FROM notes ORDER BY id"))).scalars().all()
        assert bodies == ["theirs", "ours"]
    finally:
        other.close()
        await db.dispose()


async def test_errors_are_the_drivers_own(tmp_path: Path) -> None:
    """A bad statement fails as it did on aiosqlite's thread: SQLAlchemy sees the DBAPI error."""
    from sqlalchemy.exc import OperationalError

    db = await _database(tmp_path)
    try:
        async with db.read() as session:
            try:
                await session.execute(text("SELECT body FROM nowhere"))
            except OperationalError as err:
                assert "no such table" in str(err)
            else:
                raise AssertionError("expected an OperationalError")
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()


async def test_the_inbox_file_stores_a_large_group_once_per_key(tmp_path: Path) -> None:
    """Rows go in several multi-row INSERTs; keys already stored, in this group or before, are skipped."""
    from datetime import UTC, datetime

    from storage.migrate import upgrade

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    try:
        await upgrade(db)
        file = db.inbox_file
        assert file is not None
        now = datetime.now(UTC)

        def rows(keys: range) -> list:  # type: ignore[type-arg]
            return [(f"wamid.{k}", None, 1, f"conv-{k % 7}", "message", {"n": k}) for k in keys]

        assert file.store(rows(range(0, 10)), now) == {f"wamid.{k}" for k in range(10)}
        stored = file.store(rows(range(5, 1205)), now)
        assert stored == {f"wamid.{k}" for k in range(10, 1205)}
        due = file.pending([1], None, 2000, now)
        assert [row[6] for row in due] == [f"wamid.{k}" for k in range(1205)]
        # Keys already stored in among new ones, in one statement: the new ones are read back by row id.
        mixed = [*rows(range(2000, 2003)), *rows(range(3, 6)), *rows(range(2003, 2005)), *rows([4, 2005])]
        assert file.store(mixed, now) == {f"wamid.{k}" for k in range(2000, 2006)}
        assert file.store(rows(range(0, 4)), now) == set()
        assert due[-1][3] == {"n": 1204} and due[-1][1] == f"conv-{1204 % 7}"
    finally:
        await db.dispose()
