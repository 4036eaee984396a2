"""The SQLite inbox file written directly: one thread call per group commit, no ORM in between.

Storing deliveries is the one write Meta waits on, and on SQLite it has a file of its own (see
`Database.inbox`), so it needs neither SQLAlchemy's unit of work nor an asyncio hop per statement.
Everything else (reading, marking done, housekeeping) still goes through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import json_codec

_INSERT = (
    "INSERT INTO inbound_events (provider_key, business_id, channel_id, conversation_key, kind, payload, "
    "state, attempts, received_at) VALUES {values} "
    "ON CONFLICT (provider_key) DO NOTHING"
)
_INSERTED = "SELECT provider_key FROM inbound_events WHERE id BETWEEN ? AND ?"
_ROW = "(?, ?, ?, ?, ?, ?, 'pending', 0, ?)"
_COLUMNS = 7  # parameters per row
ROWS_PER_INSERT = 500  # 7 parameters a row, well under SQLite's limit of 32,766 per statement


_PENDING = (
    "SELECT id, conversation_key, kind, payload, attempts, received_at, provider_key FROM inbound_events "
    "WHERE state = 'pending' AND channel_id IN ({channels}) AND (available_at IS NULL OR available_at <= ?) "
    "{conversations}ORDER BY id LIMIT ?"
)
_LANES = {None: "", "messages": "AND kind = 'message' ", "receipts": "AND kind != 'message' "}


EventRow = tuple[str, str | None, int | None, str, str, dict[str, Any]]
Prepared = tuple[list[Any], list[str]]  # INSERT parameters (7 per row) and the rows' provider keys


class InboxFile:
    def __init__(self, path: Path, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._connection: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def pending(
        self,
        channel_ids: list[int],
        keys: list[str] | None,
        limit: int,
        now: datetime,
        lane: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """Due events, oldest first: (id, conversation_key, kind, payload, attempts, received_at,
        provider_key); `lane`: "messages", "receipts" or None for both (storage/inbox.py). Read on the
        caller's thread (the event loop's) from a connection of its own: a read in WAL mode takes
        microseconds and waits for no writer. Raises sqlite3.OperationalError on the rare SQLITE_BUSY (the
        WAL being recovered); the caller then reads through SQLAlchemy instead."""
        if self._reader is None:
            self._reader = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=0
            )
        if not channel_ids or keys == []:
            return []
        sql = _PENDING.format(
            channels=", ".join("?" * len(channel_ids)),
            conversations=(f"AND conversation_key IN ({', '.join('?' * len(keys))}) " if keys else "")
            + _LANES[lane],
        )
        rows = self._reader.execute(sql, (*channel_ids, _stamp(now), *(keys or ()), limit)).fetchall()
        return [
            (
                row_id,
                key,
                kind,
                json_codec.loads(payload) if payload else {},
                attempts,
                datetime.fromisoformat(received).replace(tzinfo=UTC),
                provider_key,
            )
            for row_id, key, kind, payload, attempts, received, provider_key in rows
        ]

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=30
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            self._connection = connection
        return self._connection

    def store(self, rows: list[EventRow], now: datetime) -> set[str]:
        """Insert what is new, in one transaction; returns the provider keys stored (duplicates skipped).
        Blocks on the commit. InboxWriter does the two halves apart: `prepare` on the event loop, `write`
        on its thread."""
        return self.write([self.prepare(rows, now)])

    def prepare(self, rows: list[EventRow], now: datetime) -> Prepared:
        """The INSERT parameters for some rows (one delivery's), built on the caller's thread."""
        received = _stamp(now)
        values: list[Any] = []
        keys: list[str] = []
        for key, business, channel, conversation, kind, payload in rows:
            values += (key, business, channel, conversation, kind, json_codec.dumps(payload), received)
            keys.append(key)
        return values, keys

    def write(self, prepared: list[Prepared]) -> set[str]:
        """Store prepared rows (several deliveries' at once) in one transaction; returns the keys stored.

        sqlite3 lets go of the GIL around every call into SQLite, and taking it back waits for the busy
        event loop. RETURNING would cost one such round per row, and BEGIN and COMMIT one each; so the
        usual group (up to ROWS_PER_INSERT rows) is a single autocommit INSERT, and which keys it stored is
        read back from the row ids only when it stored fewer rows than it was given (a delivery Meta sent
        again, or twice in one group)."""
        statements = list(_statements(prepared))
        if not statements:
            return set()
        with self._lock:
            connection = self._connect()
            if len(statements) == 1:
                return _insert(connection, *statements[0])
            connection.execute("BEGIN IMMEDIATE")
            try:
                stored: set[str] = set()
                for statement in statements:
                    stored |= _insert(connection, *statement)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return stored

    def apply_marks(
        self,
        done: list[int],
        deferred: dict[int, datetime],
        failures: list[tuple[int, str, bool]],
        now: datetime,
        given_up: dict[int, str] | None = None,
    ) -> None:
        """What a dispatch pass learned about its inbox rows, in one transaction. In-process writers of
        the file take turns on a thread lock, so an ack never sits in SQLite's busy back-off."""
        with self._lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "UPDATE inbound_events SET attempts = attempts + 1, available_at = ? WHERE id = ?",
                    [(_stamp(until), event_id) for event_id, until in deferred.items()],
                )
                connection.executemany(
                    "UPDATE inbound_events SET attempts = attempts + 1, error = ?, state = 'done', "
                    "payload = NULL, processed_at = ? WHERE id = ?",
                    [(reason[:200], _stamp(now), event_id) for event_id, reason in (given_up or {}).items()],
                )
                for event_id, error, give_up in failures:
                    if give_up:
                        connection.execute(
                            "UPDATE inbound_events SET attempts = attempts + 1, error = ?, state = 'failed', "
                            "processed_at = ? WHERE id = ?",
                            (error[:200], _stamp(now), event_id),
                        )
                    else:
                        connection.execute(
                            "UPDATE inbound_events SET attempts = attempts + 1, error = ? WHERE id = ?",
                            (error[:200], event_id),
                        )
                connection.executemany(
                    "UPDATE inbound_events SET state = 'done', payload = NULL, processed_at = ? WHERE id = ?",
                    [(_stamp(now), event_id) for event_id in done],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def _statements(prepared: list[Prepared]) -> Iterator[tuple[str, list[Any], list[str]]]:
    """Multi-row INSERTs of at most ROWS_PER_INSERT rows each."""
    values: list[Any] = []
    keys: list[str] = []
    for more_values, more_keys in prepared:
        for start in range(0, len(more_keys), ROWS_PER_INSERT):
            piece = more_keys[start : start + ROWS_PER_INSERT]
            if keys and len(keys) + len(piece) > ROWS_PER_INSERT:
                yield _INSERT.format(values=", ".join([_ROW] * len(keys))), values, keys
                values, keys = [], []
            values.extend(more_values[start * _COLUMNS : (start + len(piece)) * _COLUMNS])
            keys.extend(piece)
    if keys:
        yield _INSERT.format(values=", ".join([_ROW] * len(keys))), values, keys


def _insert(connection: sqlite3.Connection, sql: str, values: list[Any], keys: list[str]) -> set[str]:
    cursor = connection.execute(sql, values)
    inserted, last = cursor.rowcount, cursor.lastrowid
    if inserted == len(keys):
        return set(keys)
    if inserted <= 0 or last is None:
        return set()
    # The rows one INSERT adds take consecutive ids ending at `last` (it holds the write lock throughout,
    # and SQLite gives each new row the largest id so far plus one).
    return {key for (key,) in connection.execute(_INSERTED, (last - inserted + 1, last))}


def _stamp(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores a UTC one on SQLite, so both read the same thing back."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")  # strftime: 5x slower
