"""Engine and transactions: one place that knows how SQLite and PostgreSQL differ."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import json_codec, sealed, sqlite_loop

# How long a statement waits for another process's SQLite write lock (on aiosqlite's thread, never the
# loop's: see storage/sqlite_loop.py).
BUSY_TIMEOUT_SECONDS = 30


class DatabaseUnavailable(Exception):
    """The database could not be reached or opened; raised at the boundary with a readable message."""


class Database:
    """Owns the async engine and hands out read and write transactions.

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (the database write lock, which also
    orders writers across processes) and, inside one process, writers queue on an asyncio lock instead of
    spinning in SQLite's busy handler. On PostgreSQL writers run in parallel and order themselves with
    row locks and advisory locks (`try_lock`).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        synchronous: str = "NORMAL",
        keyring: sealed.Keyring | None = None,
        _inbox_of: bool = False,
    ) -> None:
        """`keyring`: the keys encrypted columns (storage/sealed.py) are written and read with; without
        one, using such a column with a value in it fails with `sealed.NoKeys`."""
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.schema = schema
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS}
            kwargs["module"] = sqlite_loop.dbapi()
        elif schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(
            self.url, json_serializer=json_codec.dumps, json_deserializer=json_codec.loads, **kwargs
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine, synchronous)
        self.keyring = keyring
        sealed.attach(self.engine, keyring)
        self._writer_engine = self.engine.execution_options(jola_write=True)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self._writer_engine, expire_on_commit=False)
        self._write_gate = WriteGate() if self.is_sqlite else None
        # The durable inbox. On SQLite it lives in a file of its own beside the main one, so storing a
        # delivery (which Meta waits on) never queues behind a dispatch transaction for the one write lock.
        # On PostgreSQL writers do not block each other: it is this same database.
        self.inbox: Database = self
        database = self.url.database or ""
        if self.is_sqlite and not _inbox_of and database and database != ":memory:":
            inbox_url = self.url.set(database=str(inbox_path(Path(database))))
            self.inbox = Database(
                inbox_url.render_as_string(hide_password=False), synchronous=synchronous, _inbox_of=True
            )
            from storage.inbox_file import InboxFile

            self.inbox_file: InboxFile | None = InboxFile(inbox_path(Path(database)), synchronous)
        else:
            self.inbox_file = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; never holds the write lock."""
        async with self._sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """One write transaction, committed on success and rolled back on error.

        `urgent` writers (storing a delivery someone waits on) go ahead of the others queued for the lock.
        """
        gate = self._write_gate.hold(urgent) if self._write_gate else contextlib.nullcontext()
        async with gate, self._write_sessions() as session, session.begin():
            yield session

    async def try_lock(self, session: AsyncSession, key: str) -> bool:
        """Take a transaction-scoped lock on `key`; False when another process holds it.

        SQLite needs none: the write transaction already holds the database lock.
        """
        if self.is_sqlite:
            return True
        # Advisory locks are per database, not per schema: deployments sharing a database in separate
        # schemas must not hold each other's conversations.
        scoped = f"{self.schema}:{key}" if self.schema else key
        result = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": scoped}
        )
        return bool(result.scalar())

    def insert_ignoring_duplicates(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING, in this backend's dialect."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table).on_conflict_do_nothing()

    async def ping(self) -> None:
        async with self.read() as session:
            await session.execute(text("SELECT 1"))
        if self.split_inbox:
            await self.inbox.ping()

    @property
    def split_inbox(self) -> bool:
        """True when the inbox is in a database of its own (SQLite), so its writes are not in ours."""
        return self.inbox is not self

    async def dispose(self) -> None:
        if self.inbox_file is not None:
            self.inbox_file.close()
        if self.split_inbox:
            await self.inbox.dispose()
        await self.engine.dispose()


def inbox_path(main: Path) -> Path:
    """jola.db -> jola-inbox.db"""
    return main.with_name(f"{main.stem}-inbox{main.suffix or '.db'}")


class WriteGate:
    """A lock for one process's SQLite writers, where urgent waiters are served before the rest."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._normal: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool = False) -> AsyncIterator[None]:
        if self._held or self._urgent or self._normal:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed the lock while being cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        (self._urgent if urgent else self._normal).remove(waiter)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # ownership passes straight to the waiter
                    return
        self._held = False


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (needed for BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("jola_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
