"""SQLite statements on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch) on a worker thread and wakes the loop with the result:
about 180 µs of CPU per round trip on this kind of machine, while the statement itself takes a few µs on
a local file in WAL mode. SQLAlchemy makes several such calls per statement, so a trivial query cost
~340 µs of CPU (measured: `benchmarks/README.md`). Here the calls that cannot wait run inline, and only
what may wait goes to aiosqlite's thread:

- COMMIT (fsync of the WAL) and close;
- a statement that finds the database locked by another connection or process. Inline statements run with
  SQLite's busy timeout at 0, so they never sleep in SQLite's busy handler on the loop: they fail at once
  with SQLITE_BUSY (before doing anything), and are then run again on the thread with the real timeout.

Calls on one connection are never concurrent (SQLAlchemy awaits each), so the sqlite3 connection is used
by one thread at a time, which is what `check_same_thread=False` requires.
"""

from __future__ import annotations

import sqlite3
import types
from typing import Any

import aiosqlite
import aiosqlite.core
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

# Calls on the sqlite3 connection itself that may wait (fsync) or end it. A cursor's close stays inline.
THREAD_ONLY = frozenset({"commit", "close", "backup", "iterdump"})


class LoopConnection(aiosqlite.core.Connection):
    def __init__(self, connector: Any, iter_chunk_size: int, busy_timeout_ms: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._busy_timeout_ms = busy_timeout_ms
        self._thread.daemon = True

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if getattr(fn, "__name__", "") in THREAD_ONLY and isinstance(
            getattr(fn, "__self__", None), sqlite3.Connection
        ):
            return await super()._execute(fn, *args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
        return await super()._execute(self._waiting, fn, args, kwargs)

    def _waiting(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """On the worker thread: the call again, this time waiting for the lock as long as configured."""
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        try:
            return fn(*args, **kwargs)
        finally:
            conn.execute("PRAGMA busy_timeout=0")


def _connect(
    database: Any, *, iter_chunk_size: int = 64, timeout: float = 5.0, **kwargs: Any
) -> LoopConnection:
    kwargs["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        connection = sqlite3.connect(str(database), timeout=0, **kwargs)
        connection.execute("PRAGMA busy_timeout=0")
        return connection

    return LoopConnection(connector, iter_chunk_size, busy_timeout_ms=int(timeout * 1000))


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI for `create_async_engine(..., module=dbapi())`: aiosqlite's, with `LoopConnection`."""
    shim = types.ModuleType("jola_aiosqlite")
    shim.__dict__.update(vars(aiosqlite))
    shim.connect = _connect  # type: ignore[attr-defined]
    shim.Connection = LoopConnection  # type: ignore[attr-defined]
    return AsyncAdapt_aiosqlite_dbapi(shim, sqlite3)
