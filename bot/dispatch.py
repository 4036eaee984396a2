"""Per-conversation dispatch: each conversation's events one at a time in arrival order, conversations in
parallel, across processes too (PostgreSQL advisory locks; on SQLite the write lock does it).

Two lanes (storage/inbox.py): client messages, and receipts (statuses, echoes). Each pass takes the due
messages and, beside them, a batch of due receipts, each lane read on its own: however many receipts wait
(a flood of statuses for messages we never sent), a client's message is in the next pass. A receipt that
cannot be matched yet is set aside until a whole second (those set aside together come due together and
are looked at again in one batch), a few times, then given up (bot/receipts.py): counted in
jola_dispatched_events{outcome="given_up"}, one log line per batch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ack_pressure import AckPressure
from bot.clock import Clock
from bot.handling import Handler
from bot.live import Change
from bot.metrics import Metrics
from bot.receipts import Deferred, Event, GivenUp
from bot.tasks import stop_tasks
from storage.db import Database
from storage.inbox import (
    MESSAGE,
    Lane,
    PendingEvent,
    already_handled,
    defer_many,
    finish,
    give_up_events,
    mark_handled,
    pending_conversations,
    pending_events,
    record_failure,
)

log = logging.getLogger(__name__)

# A batch holds the main write lock (on SQLite the sender and staff writes wait for it; acks do not, the
# inbox has a file of its own): aim for batches of about this long, sized from the measured cost of an event.
BATCH_SECONDS = 0.1
MIN_BATCH = 8  # fewer, and the per-batch statements cost more than the wait they save
FLOOD_BATCH = 10  # events per pass while webhook deliveries flood in (bot/ack_pressure.py)
# Receipts per pass, beside the messages: a status costs a share of one lookup per batch, and a pass of them
# holds the write lock for a few milliseconds (benchmarks/receipts_backlog.py).
RECEIPT_BATCH = 500
FLOOD_RECEIPTS = 50
RETRY_GRID = 1.0  # seconds: a receipt set aside comes due on a whole second, with the others of its time


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
        on_changed: Callable[[list[Change]], None] | None = None,
        pressure: AckPressure | None = None,
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
        self._on_changed = on_changed
        self._pressure = pressure or AckPressure()
        self._busy = 0.0  # seconds the last pass held the event loop (see _pass)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._active = 0  # workers inside a pass
        self._stopping = False
        self._limit = batch_size
        self._per_event = 0.001  # seconds, a moving average
        # Each process handles the channels it serves (jola chat's terminal channel is not jola serve's).
        self._channel_ids = [channel.id for channel in handler.directory]

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._stopping = False  # a stopped dispatcher can start again (benchmarks/stage_costs.py does)
        self._wake.set()  # deliveries stored before a crash are picked up at start
        self._tasks = [asyncio.create_task(self._run(), name=f"dispatch-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        """Let a pass in flight finish its transaction, then end (cancel only if it hangs)."""
        self._stopping = True
        self._wake.set()
        await stop_tasks(self._tasks)

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Until a pass finds nothing to do (for tests and the terminal chat)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            if self._stopping:
                return
            self._active += 1
            try:
                self._wake.clear()
                while not self._stopping:
                    if not await self.run_once():
                        break
                    await self._pressure.pace(self._busy)
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
        """Handle one batch in one transaction; returns how many events it took (0: nothing to do)."""
        try:
            return await self._pass(isolate=False)
        except _BadBatch:
            # Something in the batch is bad: that transaction is rolled back; redo the batch one event
            # at a time to find the bad one and keep the rest.
            return await self._pass(isolate=True)

    async def _pass(self, *, isolate: bool) -> int:
        self._busy = 0.0
        split = self._db.split_inbox
        marks = _InboxMarks()
        # During a flood of webhook deliveries: short batches, run straight through, then a pause (paced
        # by `_run`) in which the acks have the loop to themselves.
        flooded = self._pressure.flooded
        limit = min(self._limit, FLOOD_BATCH) if flooded else self._limit
        receipts = FLOOD_RECEIPTS if flooded else RECEIPT_BATCH
        if self._db.inbox_file is not None and not self._peek():
            return 0  # nothing due: no write transaction for nothing
        async with self._db.write() as session:
            now = self._clock.now()
            events = await self._claim(session, now, limit, receipts)
            if not events:
                return 0
            if split:
                # Handled just before a crash, while its inbox row (another file) was not yet marked done.
                seen = await already_handled(session, [e.provider_key for e in events])
                marks.skipped = [e for e in events if e.provider_key in seen]
                events = [e for e in events if e.provider_key not in seen]
            started = time.perf_counter()
            if isolate:
                handled, deferred = await self._one_by_one(session, events, marks, now)
            else:
                try:
                    deferred = (
                        await self._handler.handle(
                            session, [_event(e, now) for e in events], yield_between=not flooded
                        )
                        if events
                        else {}
                    )
                except Exception as err:
                    raise _BadBatch from err
                handled = events
                messages = sum(1 for e in events if e.kind == MESSAGE)
                if messages:
                    # Sized by the messages (the receipts beside them cost little): a pass stays short.
                    self._size_batches((time.perf_counter() - started) / messages)
            # What the pass itself held the loop for (flows, statements run inline), for the pacing in a
            # flood; not the waits for the write lock or a commit, in which the acks had the loop.
            self._busy = time.perf_counter() - started
            for event_id, d in deferred.items():
                if isinstance(d, GivenUp):
                    marks.given_up[event_id] = d.reason
                else:
                    marks.deferred[event_id] = _retry_at(now, d.seconds)
            done = [e for e in handled if e.id not in deferred]
            marks.done = [e.id for e in [*done, *marks.skipped]]
            if split:
                await mark_handled(session, [e.provider_key for e in done], now)
            else:
                await marks.apply(session, self._clock.now())
        if self._on_changed is not None:
            self._on_changed(self._handler.take_changes())  # committed: the staff app's pages may look
        if split:
            await self._mark_inbox(marks)
        for event in done:
            self._metrics.dispatch_latency.observe(max((now - event.received_at).total_seconds(), 0.0))
        self._metrics.dispatched.labels("handled").inc(len(done))
        if marks.deferred:
            self._metrics.dispatched.labels("deferred").inc(len(marks.deferred))
        if marks.given_up:
            self._metrics.dispatched.labels("given_up").inc(len(marks.given_up))
            reasons = sorted(set(marks.given_up.values()))
            log.info("event=dispatch.given_up count=%d reasons=%s", len(marks.given_up), ",".join(reasons))
        self._metrics.dispatch_batch.observe(len(events))
        if done:
            self._on_handled()
        # Receipts set aside count as progress: they are not due again before RETRY_GRID, so the next pass
        # takes the next batch (a backlog is worked through at once, not one batch per poll).
        progress = done or marks.failures or marks.skipped or marks.deferred or marks.given_up
        return len(events) + len(marks.skipped) if progress else 0

    async def _mark_inbox(self, marks: _InboxMarks) -> None:
        file = self._db.inbox_file
        if file is not None:
            await asyncio.to_thread(
                file.apply_marks,
                marks.done,
                marks.deferred,
                marks.failures,
                self._clock.now(),
                marks.given_up,
            )
            return
        async with self._db.inbox.write() as inbox:
            await marks.apply(inbox, self._clock.now())

    def _peek(self) -> bool:
        """Whether anything is due, read straight from the SQLite inbox file (cheap, and lock-free)."""
        try:
            return bool(self._db.inbox_file.pending(self._channel_ids, None, 1, self._clock.now()))  # type: ignore[union-attr]
        except sqlite3.OperationalError:
            return True  # cannot tell: let the pass find out

    async def _claim(
        self, session: AsyncSession, now: datetime, limit: int, receipts: int
    ) -> list[PendingEvent]:
        """This pass's events, in arrival order: up to `limit` due client messages (on PostgreSQL of the
        conversations this pass locked) and, read on their own, up to `receipts` due receipts."""
        if self._db.is_sqlite:  # one pass at a time: the write lock is held
            found = await self._pending(session, None, now, limit, "messages")
            found += await self._pending(session, None, now, receipts, "receipts")
            return sorted(found, key=lambda e: e.id)
        found: list[PendingEvent] = []
        pending = await pending_conversations(session, self._channel_ids, self._batch_size, now, "messages")
        keys = [k for k in pending if await self._db.try_lock(session, k)]
        if keys:
            found = await self._pending(session, keys, now, limit, "messages")
        # Receipts: rows claimed (FOR UPDATE SKIP LOCKED), not conversations locked, as statuses need no
        # order and would cost a lock each; echoes (a person's are conversation messages) keep theirs.
        claimed = await pending_events(
            session, self._channel_ids, None, receipts, now, "receipts", claim=True
        )
        held: set[str] = set()
        refused: set[str] = set()
        for event in claimed:
            if event.kind == "echo" and event.conversation_key not in held:
                if event.conversation_key in refused or not await self._db.try_lock(
                    session, event.conversation_key
                ):
                    refused.add(event.conversation_key)
                    continue
                held.add(event.conversation_key)
            found.append(event)
        return sorted(found, key=lambda e: e.id)

    async def _pending(
        self, session: AsyncSession, keys: list[str] | None, now: datetime, limit: int, lane: Lane
    ) -> list[PendingEvent]:
        """Due events, read after this pass holds the main write lock, so passes never see them twice."""
        if not self._db.split_inbox:
            return await pending_events(session, self._channel_ids, keys, limit, now, lane)
        if self._db.inbox_file is not None:
            with contextlib.suppress(sqlite3.OperationalError):  # busy: read through SQLAlchemy below
                rows = self._db.inbox_file.pending(self._channel_ids, keys, limit, now, lane)
                return [PendingEvent(*row) for row in rows]
        async with self._db.inbox.read() as inbox:
            return await pending_events(inbox, self._channel_ids, keys, limit, now, lane)

    def _size_batches(self, per_event: float) -> None:
        self._per_event = 0.8 * self._per_event + 0.2 * per_event
        self._limit = max(
            min(MIN_BATCH, self._batch_size),
            min(self._batch_size, int(BATCH_SECONDS / max(self._per_event, 1e-5))),
        )

    async def _one_by_one(
        self, session: AsyncSession, events: list[PendingEvent], marks: _InboxMarks, now: datetime
    ) -> tuple[list[PendingEvent], dict[int, Deferred]]:
        handled: list[PendingEvent] = []
        deferred: dict[int, Deferred] = {}
        blocked: set[str] = set()
        for event in events:
            if event.conversation_key in blocked:
                continue
            try:
                async with session.begin_nested():
                    deferred.update(await self._handler.handle(session, [_event(event, now)]))
                handled.append(event)
            except Exception as err:
                log.debug("event=dispatch.event_failed_trace event=%s", event.id, exc_info=True)
                give_up = event.attempts + 1 >= self._max_attempts
                log.error(
                    "event=dispatch.event_failed event=%s attempt=%d give_up=%s error=%s",
                    event.id,
                    event.attempts + 1,
                    give_up,
                    type(err).__name__,
                )
                # The traceback may quote client data, so it is only logged at DEBUG.
                log.debug("event=dispatch.event_failed_trace event=%s", event.id, exc_info=True)
                marks.failures.append((event.id, type(err).__name__, give_up))
                if not give_up:
                    blocked.add(event.conversation_key)  # its later events wait, to keep the order
                self._metrics.dispatched.labels("failed" if give_up else "retry").inc()
        return handled, deferred


@dataclass
class _InboxMarks:
    """What a pass learned about its inbox rows; written with the handling (one database), or just after
    it in the inbox's own file (SQLite), where `handled_events` keeps a crash in between harmless."""

    done: list[int] = field(default_factory=list)
    skipped: list[PendingEvent] = field(default_factory=list)
    deferred: dict[int, datetime] = field(default_factory=dict)
    failures: list[tuple[int, str, bool]] = field(default_factory=list)
    given_up: dict[int, str] = field(default_factory=dict)  # event id: why (no personal data)

    async def apply(self, session: AsyncSession, now: datetime) -> None:
        await defer_many(session, self.deferred)
        await give_up_events(session, self.given_up, now)
        for event_id, error, give_up in self.failures:
            await record_failure(session, event_id, error, give_up, now)
        await finish(session, self.done, now)


class _BadBatch(Exception):
    """The fast path failed on some event of the batch."""


def _event(row: PendingEvent, now: datetime) -> Event:
    age = max((now - row.received_at).total_seconds(), 0.0)
    return Event(id=row.id, kind=row.kind, payload=row.payload or {}, attempts=row.attempts, age=age)


def _retry_at(now: datetime, seconds: float) -> datetime:
    """`seconds` from now, rounded up to the next whole RETRY_GRID: events set aside about the same time
    are due at the same moment, and a backlog of them is looked at again in a few full batches instead of
    a trickle of passes."""
    at = (now + timedelta(seconds=max(seconds, RETRY_GRID))).timestamp()
    return datetime.fromtimestamp(math.ceil(at / RETRY_GRID) * RETRY_GRID, tz=UTC)
