"""The outbox sender: claims due replies, sends each conversation's in order, retries what may pass later."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.channels import adapter_for
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.graph import GraphClient, OutsideWindow, PermanentSendError, SendError, TokenInvalid
from bot.live import Change
from bot.metrics import Metrics
from bot.tasks import stop_tasks
from flows.messages import Reply
from storage import channel_states
from storage.db import Database
from storage.outbox import (
    Claimed,
    ClaimNotes,
    Outcome,
    claim,
    expired_leases,
    has_due_work,
    record,
)

log = logging.getLogger(__name__)


class Transport(Protocol):
    """Delivers one Reply on one channel; returns the platform's message id. Raises SendError."""

    async def deliver(self, channel: ChannelInfo, recipient: str, reply: Reply) -> str | None: ...


class GraphTransport:
    """Meta's Graph API: the channel's adapter renders the Reply, the one shared client posts it."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    async def deliver(self, channel: ChannelInfo, recipient: str, reply: Reply) -> str | None:
        adapter = adapter_for(channel.kind)
        bodies = (
            adapter.render(reply, recipient, tag=reply.tag) if reply.tag else adapter.render(reply, recipient)
        )
        try:
            return await self._post(channel, adapter, bodies)
        except PermanentSendError as err:
            # A template with a tag beside it (a Messenger reminder): the tag is the way Meta may still take.
            if reply.template is None or not reply.tag or isinstance(err, TokenInvalid):
                raise
            log.warning("event=send.template_refused channel=%s %s then=tag", channel.id, err.facts)
        try:
            plain = dataclasses.replace(reply, template=None)
            return await self._post(channel, adapter, adapter.render(plain, recipient, tag=reply.tag))
        except SendError as err:
            err.reason = f"the utility template, then the {reply.tag} tag, were refused: {err.reason}"
            raise

    async def _post(self, channel: ChannelInfo, adapter: Any, bodies: list[dict[str, Any]]) -> str | None:
        message_id = None
        for body in bodies:
            response = await self._client.post(f"{channel.external_id}/messages", body, channel.access_token)
            message_id = adapter.sent_message_id(response) or message_id
        return message_id


DISCONNECTED = (
    "Meta disconnected this channel (the app was removed from it): reconnect it at Meta, then turn it back on"
)


class ChannelDisconnected(PermanentSendError):
    """Meta's deauthorize callback named the channel's asset: nothing goes there until an owner says so."""


class Sender:
    """Claims due outbox rows and sends them, each conversation in its own task so a slow or failing
    conversation never holds up the others; outcomes are written in groups (one transaction for all
    that finished together)."""

    def __init__(
        self,
        db: Database,
        directory: ChannelDirectory,
        transports: dict[int, Transport],
        clock: Clock,
        metrics: Metrics,
        *,
        concurrency: int,
        batch_size: int,
        poll_seconds: float,
        max_attempts: int,
        retry_base: float,
        retry_max: float,
        timeout: float,
        on_sent: Callable[[], None] | None = None,
        on_changed: Callable[[list[Change]], None] | None = None,
    ) -> None:
        self._db = db
        self._directory = directory
        self._transports = transports
        self._clock = clock
        self._metrics = metrics
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._lease = timedelta(seconds=timeout * 3 + 30)
        self._on_sent = on_sent
        self._on_changed = on_changed
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._held_back: set[int] = set()  # conversations with replies waiting for one of ours in flight
        self._off: frozenset[int] = frozenset()  # channels Meta disconnected, read on each claiming pass
        self._last_scan: ClaimNotes | None = None
        self._in_pass = False  # the loop is claiming or deciding: only it may call the sender idle
        self._outcomes: asyncio.Queue[tuple[list[Outcome], asyncio.Future[None]]] = asyncio.Queue()
        self._stopping = False

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._stopping = False  # a stopped sender can start again (benchmarks/stage_costs.py does)
        self._wake.set()
        self._recorder = asyncio.create_task(self._record_outcomes(), name="sender-recorder")
        self._task = asyncio.create_task(self._run(), name="sender")

    async def stop(self) -> None:
        """Finish the sends in flight and record their outcomes, then end."""
        self._stopping = True
        self._wake.set()
        await stop_tasks([self._task] if self._task else [])
        await stop_tasks(list(self._sending))
        await self._outcomes.join()
        await stop_tasks([self._recorder] if self._recorder else [], grace=0)

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def _run(self) -> None:
        async with self._db.write() as session:
            recovered = await expired_leases(session, self._clock.now())
        if recovered:
            log.warning("event=sender.recovered_leases rows=%d", recovered)
        while not self._stopping:
            timeout = self._poll
            self._in_pass = True
            try:
                # Another pass at once only when this one took a full batch: what it left was blocked.
                while not self._stopping and await self.run_once() >= self._batch_size:
                    pass
                if not self._sending:
                    due = await self._next_due()
                    if due is None:
                        if not self._wake.is_set():  # woken during the pass: there is more to look at
                            self._idle.set()
                    else:
                        timeout = min(self._poll, max((due - self._clock.now()).total_seconds(), 0.001))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.error("event=sender.pass_failed error=%s", type(err).__name__)
            finally:
                self._in_pass = False
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _next_due(self) -> datetime | None:
        """When the next retry falls due, from the last scan when it saw every open row."""
        scan = self._last_scan
        if scan is not None and scan.complete and not scan.held_back:
            return scan.next_due
        async with self._db.read() as session:
            return await has_due_work(session, list(self._transports), self._clock.now())

    async def run_once(self) -> int:
        """Claim what is due and start sending it; returns how many rows it claimed."""
        free = self._concurrency - len(self._sending)
        if not self._transports or free <= 0:
            return 0
        notes = ClaimNotes()
        async with self._db.write() as session:
            rows = await claim(
                self._db,
                session,
                channel_ids=list(self._transports),
                now=self._clock.now(),
                limit=self._batch_size,
                lease=self._lease,
                notes=notes,
            )
            if rows:
                self._off = await channel_states.off(session)
        self._held_back |= notes.held_back
        self._last_scan = notes
        if not rows:
            return 0
        self._metrics.send_batch.observe(len(rows))
        conversations: dict[int, list[Claimed]] = {}
        for row in rows:
            conversations.setdefault(row.conversation_id, []).append(row)
        for conversation_id, batch in conversations.items():
            task = asyncio.create_task(self._conversation(batch))
            self._sending.add(task)
            task.add_done_callback(functools.partial(self._finished, conversation_id))
        self._metrics.sends_in_flight.set(len(self._sending))
        return len(rows)

    async def _conversation(self, rows: list[Claimed]) -> None:
        try:
            outcomes = await self._send_in_order(rows)
        except Exception as err:  # a bug here must not leave rows claimed, nor spin: retry after a pause
            log.error("event=sender.conversation_failed error=%s", type(err).__name__)
            later = self._clock.now() + timedelta(seconds=self._retry_max)
            outcomes = [
                Outcome(
                    row_id=r.id,
                    message_id=r.message_id,
                    error=f"internal: {type(err).__name__}",
                    retry_at=later,
                )
                for r in rows
            ]
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outcomes.put_nowait((outcomes, recorded))
        await recorded
        channel = self._directory.get(rows[0].channel_id) if rows else None
        if self._on_changed is not None and channel is not None:
            self._on_changed([Change(channel.business_id, rows[0].conversation_id, "status")])

    def _finished(self, conversation_id: int, task: asyncio.Task[None]) -> None:
        full = len(self._sending) >= self._concurrency
        self._sending.discard(task)
        # Another pass only when it can find something: replies of this conversation held back behind the
        # one just sent, or work left over when every slot was taken. New replies wake the sender anyway.
        if full or conversation_id in self._held_back:
            self._held_back.discard(conversation_id)
            self._wake.set()
        elif not self._sending and not self._wake.is_set() and not self._in_pass:
            scan = self._last_scan
            if scan is not None and scan.complete and not scan.held_back and scan.next_due is None:
                self._idle.set()  # the last scan saw nothing else open, and nobody has woken us since
            else:
                self._wake.set()  # let the loop work out when the next retry is due

    async def _record_outcomes(self) -> None:
        """Group commit for outcomes: all that finished since the last write goes in one transaction."""
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty():
                batch.append(self._outcomes.get_nowait())
            outcomes = [outcome for items, _ in batch for outcome in items]
            try:
                async with self._db.write() as session:
                    await record(session, outcomes, self._clock.now())
            except Exception as err:  # rows stay claimed until their lease ends, then are sent again
                log.error("event=sender.record_failed rows=%d error=%s", len(outcomes), type(err).__name__)
            finally:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
                    self._outcomes.task_done()
            if any(not o.sent for o in outcomes):
                # A retry is scheduled or a reply released: the last scan no longer tells what is due.
                self._last_scan = None
                self._wake.set()
            if self._on_sent and any(o.sent for o in outcomes):
                self._on_sent()

    async def _send_in_order(self, rows: list[Claimed]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for index, row in enumerate(rows):
            outcome = await self._send(row)
            outcomes.append(outcome)
            if not outcome.sent and outcome.retry_at is not None:
                # A reply that must be retried holds back the ones after it, so order is kept.
                outcomes.extend(
                    Outcome(row_id=r.id, message_id=r.message_id, released=True) for r in rows[index + 1 :]
                )
                break
        return outcomes

    async def _send(self, row: Claimed) -> Outcome:
        channel = self._directory.get(row.channel_id)
        transport = self._transports.get(row.channel_id)
        try:
            if channel is None or transport is None:
                raise PermanentSendError("channel is no longer configured")
            if row.channel_id in self._off:
                raise ChannelDisconnected(DISCONNECTED)
            reply = Reply.from_json(row.payload)
            if reply.template is None and row.window_ends_at and self._clock.now() >= row.window_ends_at:
                raise OutsideWindow("the client last wrote over 24 hours ago; needs a template or a tag")
            platform_id = await transport.deliver(channel, row.recipient, reply)
        except SendError as err:
            return self._failed(row, err, channel)
        except (KeyError, TypeError, ValueError) as err:  # a payload we cannot render: a bug, not a retry
            return self._failed(row, PermanentSendError(f"cannot render: {type(err).__name__}"), channel)
        self._metrics.replies.labels(channel.kind).inc()
        return Outcome(row_id=row.id, message_id=row.message_id, sent=True, platform_message_id=platform_id)

    def _failed(self, row: Claimed, err: SendError, channel: ChannelInfo | None) -> Outcome:
        attempt = row.attempts + 1
        final = not err.transient or attempt >= self._max_attempts
        self._metrics.send_failures.labels(type(err).__name__, str(final).lower()).inc()
        log.warning(  # facts: code=131047 subcode=none http=400 reason=window_closed (never code=None)
            "event=send.failed outbox=%s channel=%s attempt=%d final=%s error=%s %s",
            row.id,
            channel.id if channel else row.channel_id,
            attempt,
            final,
            type(err).__name__,
            err.facts,
        )
        if final:
            reason = (
                err.summary if err.transient is False else f"gave up after {attempt} attempts: {err.summary}"
            )
            return Outcome(row_id=row.id, message_id=row.message_id, error=reason, error_code=err.code)
        delay = min(self._retry_max, self._retry_base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        return Outcome(
            row_id=row.id,
            message_id=row.message_id,
            error=err.summary,
            error_code=err.code,
            retry_at=self._clock.now() + timedelta(seconds=delay),
        )
