"""Per-conversation dispatch: each conversation's events one at a time in arrival order, conversations in
parallel, across processes too (PostgreSQL advisory locks; on SQLite the write lock does it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from bot.clock import Clock
from bot.handling import Deferred, Handler
from bot.metrics import Metrics
from storage.db import Database
from storage.inbox import defer, finish, pending_conversations, pending_events, record_failure

log = logging.getLogger(__name__)

# A batch holds the database write lock (on SQLite, the only one); keep it short so acks never wait long.
MAX_BATCH_SECONDS = 0.02


class Dispatcher:
    def __init__(
        self,
        db: Database,
        handler: Handler,
        clock: Clock,
        metrics: Metrics,
        *,
        batch_size: int,
        poll_seconds: float,
        max_attempts: int,
        workers: int,
        on_handled: Callable[[], None],
    ) -> None:
        self._db = db
        self._handler = handler
        self._clock = clock
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._max_attempts = max_attempts
        self._workers = workers
        self._on_handled = on_handled
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._active = 0  # workers inside a pass
        # Each process handles the channels it serves (jola chat's terminal channel is not jola serve's).
        self._channel_ids = [channel.id for channel in handler.directory]

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._wake.set()  # deliveries stored before a crash are picked up at start
        self._tasks = [asyncio.create_task(self._run(), name=f"dispatch-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Until a pass finds nothing to do (for tests and the terminal chat)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()
            self._active += 1
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a database hiccup: log it, back off to the poll, try again
                log.error("event=dispatch.pass_failed error=%s", type(err).__name__)
                await asyncio.sleep(self._poll)
            finally:
                self._active -= 1
            # Idle only when no worker is mid-pass: another may hold the conversations this one skipped.
            if self._active == 0 and not self._wake.is_set():
                self._idle.set()

    async def run_once(self) -> int:
        """Handle one batch; returns how many events it took (0: nothing to do)."""
        started = time.monotonic()
        handled: list[int] = []
        latencies: list[float] = []
        failures = 0
        async with self._db.write() as session:
            now = self._clock.now()
            keys = await pending_conversations(session, self._channel_ids, self._batch_size, now)
            if not keys:
                return 0
            mine = [k for k in keys if await self._db.try_lock(session, k)]
            if not mine:
                return 0
            blocked: set[str] = set()
            for event in await pending_events(session, mine, self._batch_size, now):
                if event.conversation_key in blocked:
                    continue
                if handled and time.monotonic() - started > MAX_BATCH_SECONDS:
                    break
                try:
                    async with session.begin_nested():
                        await self._handler.handle(session, event)
                except Deferred as later:
                    await defer(session, event.id, now + timedelta(seconds=later.seconds))
                    blocked.add(event.conversation_key)
                    continue
                except Exception as err:
                    failures += 1
                    give_up = event.attempts + 1 >= self._max_attempts
                    log.error(
                        "event=dispatch.event_failed event=%s attempt=%d give_up=%s error=%s",
                        event.id,
                        event.attempts + 1,
                        give_up,
                        type(err).__name__,
                    )
                    await record_failure(session, event.id, type(err).__name__, give_up, now)
                    if not give_up:
                        blocked.add(event.conversation_key)  # its later events wait, to keep the order
                    self._metrics.dispatched.labels("failed" if give_up else "retry").inc()
                    continue
                handled.append(event.id)
                latencies.append((now - event.received_at).total_seconds())
            await finish(session, handled, self._clock.now())
        for latency in latencies:
            self._metrics.dispatch_latency.observe(max(latency, 0.0))
        self._metrics.dispatched.labels("handled").inc(len(handled))
        if handled:
            self._on_handled()
        return len(handled) + failures
