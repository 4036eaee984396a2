"""Group commit for the durable inbox: deliveries that arrive together are stored in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.clock import Clock
from bot.metrics import Metrics
from storage.db import Database
from storage.inbox import NewEvent, store_events

log = logging.getLogger(__name__)

MAX_ROWS_PER_COMMIT = 1000


class StoreFailed(Exception):
    """The inbox could not store a delivery; the webhook answers 503 so Meta retries."""


class InboxWriter:
    """One writer task drains a queue of pending stores and commits them at once: one fsync per batch.

    It also counts and logs what each commit stored, one line per group rather than one per delivery: at a
    few thousand deliveries a second a line each was a tenth of the webhook's CPU. Deliveries with anything
    unusual in them (duplicates, dropped items) still get a line of their own from the webhook.
    """

    def __init__(
        self, db: Database, clock: Clock, on_stored: Callable[[], None], metrics: Metrics | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_stored = on_stored
        self._metrics = metrics or Metrics()
        self._queue: asyncio.Queue[tuple[list[NewEvent], asyncio.Future[set[str]]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def store(self, events: list[NewEvent]) -> set[str]:
        """Returns the provider keys newly stored; the rest were duplicates. Raises StoreFailed."""
        if not events:
            return set()
        future: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((events, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            rows = len(batch[0][0])
            while not self._queue.empty() and rows < MAX_ROWS_PER_COMMIT:
                item = self._queue.get_nowait()
                batch.append(item)
                rows += len(item[0])
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _store(self, events: list[NewEvent]) -> set[str]:
        now = self._clock.now()
        file = self._db.inbox_file
        if file is not None:  # SQLite: the inbox's own file, written in one thread call
            rows = [
                (e.provider_key, e.business_id, e.channel_id, e.conversation_key, e.kind, e.payload)
                for e in events
            ]
            return await asyncio.to_thread(file.store, rows, now)
        async with self._db.inbox.write(urgent=True) as session:
            return await store_events(self._db.inbox, session, events, now)

    async def _commit(self, batch: list[tuple[list[NewEvent], asyncio.Future[set[str]]]]) -> None:
        unique: dict[str, NewEvent] = {}
        for events, _ in batch:
            for event in events:
                unique.setdefault(event.provider_key, event)
        started = time.perf_counter()
        try:
            stored = await self._store(list(unique.values()))
        except Exception as err:  # the database is down or full: every waiter gets a clean 503
            log.error("event=inbox.store_failed requests=%d error=%s", len(batch), type(err).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(StoreFailed(type(err).__name__))
            return
        claimed: set[str] = set()
        outcomes: dict[tuple[str, str], int] = {}
        for events, future in batch:
            keys = {e.provider_key for e in events} & stored - claimed
            claimed |= keys
            for event in events:
                outcome = (event.kind, "stored" if event.provider_key in keys else "duplicate")
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if not future.done():
                future.set_result(keys)
        if stored:
            self._on_stored()
        for (kind, outcome), count in outcomes.items():
            self._metrics.count(self._metrics.items, kind, outcome, amount=count)
        log.info(
            "event=inbox.stored deliveries=%d items=%d stored=%d ms=%.1f",
            len(batch),
            sum(outcomes.values()),
            len(stored),
            (time.perf_counter() - started) * 1000,
        )
