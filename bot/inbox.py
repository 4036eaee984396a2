"""Group commit for the durable inbox: deliveries that arrive together are stored in one transaction."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable

from bot.clock import Clock
from bot.metrics import Metrics
from storage.db import Database
from storage.inbox import NewEvent, store_events
from storage.inbox_file import Prepared

log = logging.getLogger(__name__)

MAX_ROWS_PER_COMMIT = 1000


class StoreFailed(Exception):
    """The inbox could not store a delivery; the webhook answers 503 so Meta retries."""


Waiter = tuple[list[NewEvent], "asyncio.Future[set[str]]"]


class InboxWriter:
    """Group commit: deliveries that arrive while a commit is in flight go together in the next one.

    On SQLite a thread of the writer's own does the commits. Each delivery is handed to it as soon as it
    is parsed; when the thread finishes a commit it takes everything handed over meanwhile (up to
    MAX_ROWS_PER_COMMIT rows) and commits that at once, then answers the event loop directly
    (`call_soon_threadsafe`). Nothing waits for the loop between two commits: each hand-off to or from a
    busy loop costs milliseconds, which an ack would otherwise wait on. On PostgreSQL the commits are
    tasks, one at a time, each taking what waited for the one before.

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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[tuple[Waiter, Prepared] | None] = queue.SimpleQueue()
        self._waiting: list[Waiter] = []  # PostgreSQL: for the next commit
        self._committing = False
        self._unanswered = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._db.inbox_file is not None:
            self._thread = threading.Thread(target=self._commit_on_thread, name="inbox-writer", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Finishes the stores already asked for, then stops the thread."""
        await self._idle.wait()
        if self._thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def store(self, events: list[NewEvent]) -> set[str]:
        """Returns the provider keys newly stored; the rest were duplicates. Raises StoreFailed."""
        if not events:
            return set()
        future: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._unanswered += 1
        self._idle.clear()
        file = self._db.inbox_file
        if self._thread is not None and file is not None:
            rows = [
                (e.provider_key, e.business_id, e.channel_id, e.conversation_key, e.kind, e.payload)
                for e in events
            ]
            self._jobs.put(((events, future), file.prepare(rows, self._clock.now())))
        else:
            self._waiting.append((events, future))
            if not self._committing:
                self._commit_in_task()
        return await future

    def _commit_on_thread(self) -> None:
        file = self._db.inbox_file
        assert file is not None and self._loop is not None
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch, prepared = [job[0]], [job[1]]
            rows = len(job[1][1])
            stop = False
            while rows < MAX_ROWS_PER_COMMIT:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                batch.append(job[0])
                prepared.append(job[1])
                rows += len(job[1][1])
            started = time.perf_counter()
            try:
                outcome: set[str] | BaseException = file.write(prepared)
            except Exception as err:  # the disk is full, the file is gone: every waiter gets a clean 503
                outcome = err
            try:
                self._loop.call_soon_threadsafe(self._finish, batch, outcome, started)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return
            if stop:
                return

    def _commit_in_task(self) -> None:
        batch: list[Waiter] = []
        rows = 0
        for waiter in self._waiting:
            if batch and rows + len(waiter[0]) > MAX_ROWS_PER_COMMIT:
                break
            batch.append(waiter)
            rows += len(waiter[0])
        del self._waiting[: len(batch)]
        if not batch:
            self._committing = False
            return
        self._committing = True
        task = asyncio.create_task(self._commit_group(batch))
        task.add_done_callback(lambda done: self._committed(done, batch))

    async def _commit_group(self, batch: list[Waiter]) -> tuple[set[str] | BaseException, float]:
        unique: dict[str, NewEvent] = {}
        for events, _ in batch:
            for event in events:
                unique.setdefault(event.provider_key, event)
        started = time.perf_counter()
        try:
            async with self._db.inbox.write(urgent=True) as session:
                stored = await store_events(self._db.inbox, session, list(unique.values()), self._clock.now())
        except Exception as err:  # the database is down or full: every waiter gets a clean 503
            return err, started
        return stored, started

    def _committed(
        self, task: asyncio.Task[tuple[set[str] | BaseException, float]], batch: list[Waiter]
    ) -> None:
        """Answers the batch even when its task was cancelled (at shutdown), before it ever ran too."""
        if task.cancelled():
            outcome, started = StoreFailed("cancelled"), time.perf_counter()
        else:
            outcome, started = task.result()
        try:
            self._finish(batch, outcome, started)
        finally:
            self._commit_in_task()

    def _finish(self, batch: list[Waiter], outcome: set[str] | BaseException, started: float) -> None:
        try:
            if isinstance(outcome, BaseException):
                self._failed(batch, outcome)
            else:
                self._stored(batch, outcome, started)
        finally:
            self._unanswered -= len(batch)
            if not self._unanswered:
                self._idle.set()

    def _failed(self, batch: list[Waiter], err: BaseException) -> None:
        log.error("event=inbox.store_failed requests=%d error=%s", len(batch), type(err).__name__)
        for _, future in batch:
            if not future.done():
                future.set_exception(StoreFailed(type(err).__name__))

    def _stored(self, batch: list[Waiter], stored: set[str], started: float) -> None:
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
