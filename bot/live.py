"""Live changes for the staff app: what changed in which conversation, pushed to every open page of that
business without reloading.

Producers (the dispatcher after a turn commits, the sender after a send is recorded, staff actions) call
`publish` with `Change`s after their transaction has committed, so a page that fetches on a change sees it.
On SQLite (one process) changes go straight to the process's subscribers. On PostgreSQL they go through
NOTIFY on one channel and come back through LISTEN in every `jola serve` process, this one included, so
every process's pages hear of every change the same way.

A change says only where to look (business, conversation, kind), never what was said: pages fetch what
they show, so a missed or repeated change costs a fetch, never a wrong or doubled message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.db import Database

log = logging.getLogger(__name__)

QUEUE = 256  # changes a slow page may fall behind by; beyond that it is told to fetch everything
CHANNEL = "jola_live"


@dataclass(frozen=True, slots=True)
class Change:
    business_id: str
    conversation_id: int | None  # None: something in the business (a status) without a known conversation
    kind: str  # message | status | conversation

    def to_json(self) -> dict[str, Any]:
        return {"conversation": self.conversation_id, "kind": self.kind}


class Stream:
    """One open page's subscription: its queue of changes, and whether it fell behind."""

    def __init__(self, business_id: str) -> None:
        self.business_id = business_id
        self.queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE)
        self.behind = False

    def offer(self, change: Change) -> None:
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.behind = True


class LiveHub:
    def __init__(self) -> None:
        self._streams: dict[str, set[Stream]] = {}
        self._relay: _PostgresRelay | None = None
        self.closing = asyncio.Event()  # set on shutdown: open pages' streams end, so shutdown never waits

    async def start(self, db: Database) -> None:
        if not db.is_sqlite:
            self._relay = _PostgresRelay(db, self._deliver, self.resync_all)
            await self._relay.start()

    async def stop(self) -> None:
        self.closing.set()
        if self._relay is not None:
            await self._relay.stop()
            self._relay = None

    def subscribe(self, business_id: str) -> Stream:
        stream = Stream(business_id)
        self._streams.setdefault(business_id, set()).add(stream)
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        self._streams.get(stream.business_id, set()).discard(stream)

    def listeners(self, business_id: str) -> int:
        return len(self._streams.get(business_id, ()))

    def publish(self, changes: Iterable[Change]) -> None:
        """Called after the changes committed; never raises (a lost change costs a page one refresh)."""
        unique = list(dict.fromkeys(changes))
        if not unique:
            return
        if self._relay is not None:
            self._relay.send(unique)
        else:
            self._deliver(unique)

    def _deliver(self, changes: list[Change]) -> None:
        for change in changes:
            for stream in self._streams.get(change.business_id, ()):
                stream.offer(change)

    def resync_all(self) -> None:
        """Changes may have been missed (the relay was down): every open page fetches everything."""
        for streams in self._streams.values():
            for stream in streams:
                stream.behind = True
                stream.offer(Change(stream.business_id, None, "resync"))


class _PostgresRelay:
    """NOTIFY out, LISTEN in, on one connection of the process's own (asyncpg). A lost connection (a
    database restart, a failover) is made again with backoff, and every open page then fetches
    everything, having perhaps missed changes meanwhile."""

    OUTGOING = 10_000  # batches waiting to be sent; beyond that they are dropped and pages resync later

    def __init__(self, db: Database, deliver: Any, resync: Any) -> None:
        self._db = db
        self._deliver = deliver
        self._resync = resync
        self._channel = CHANNEL + (f"_{db.schema}" if db.schema else "")
        self._connection: Any = None
        self._outgoing: asyncio.Queue[list[Change]] = asyncio.Queue(self.OUTGOING)
        self._task: asyncio.Task[None] | None = None
        self._context: Any = None
        self._lost = asyncio.Event()

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._send_loop(), name="live-notify")

    async def _connect(self) -> None:
        self._context = self._db.engine.connect()
        connection = await self._context.__aenter__()
        raw = await connection.get_raw_connection()
        self._connection = raw.driver_connection
        await self._connection.add_listener(self._channel, self._heard)
        self._connection.add_termination_listener(lambda _connection: self._lost.set())
        self._lost.clear()

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.remove_listener(self._channel, self._heard)
        if self._context is not None:
            with contextlib.suppress(Exception):
                await self._context.__aexit__(None, None, None)
            self._context = None

    async def _reconnect(self) -> None:
        await self._close()
        delay = 0.5
        while True:
            try:
                await self._connect()
            except Exception as err:
                log.warning("event=live.reconnect_failed error=%s retry_s=%.1f", type(err).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            log.info("event=live.reconnected")
            self._resync()
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    def send(self, changes: list[Change]) -> None:
        try:
            self._outgoing.put_nowait(changes)
        except asyncio.QueueFull:
            self._lost.set()  # too far behind: start afresh, and the pages fetch everything

    async def _send_loop(self) -> None:
        while True:
            getter = asyncio.ensure_future(self._outgoing.get())
            lost = asyncio.ensure_future(self._lost.wait())
            done, _ = await asyncio.wait({getter, lost}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
            if lost in done:
                while not self._outgoing.empty():
                    self._outgoing.get_nowait()
                await self._reconnect()
                continue
            lost.cancel()
            batch = getter.result()
            while not self._outgoing.empty():
                batch.extend(self._outgoing.get_nowait())
            payload = json.dumps([[c.business_id, c.conversation_id, c.kind] for c in dict.fromkeys(batch)])
            try:
                for chunk in _chunks(payload):
                    await self._connection.execute("SELECT pg_notify($1, $2)", self._channel, chunk)
            except Exception as err:  # the connection is gone: make it again, and the pages resync
                log.warning("event=live.notify_failed error=%s", type(err).__name__)
                self._lost.set()

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            changes = [
                Change(str(b), c if isinstance(c, int) else None, str(k)) for b, c, k in json.loads(payload)
            ]
        except (ValueError, TypeError):
            log.warning("event=live.bad_notification")
            return
        self._deliver(changes)


def _chunks(payload: str, limit: int = 7000) -> list[str]:
    """NOTIFY payloads must stay under 8000 bytes: a large batch goes as several notifications."""
    if len(payload.encode()) <= limit:
        return [payload]
    items = json.loads(payload)
    half = len(items) // 2
    return [*_chunks(json.dumps(items[:half]), limit), *_chunks(json.dumps(items[half:]), limit)]
