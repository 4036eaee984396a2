"""The outbox sender: claims due replies, sends each conversation's in order, retries what may pass later."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from bot.channels import adapter_for
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.graph import GraphClient, PermanentSendError, SendError
from bot.metrics import Metrics
from bot.tasks import stop_tasks
from flows.messages import Reply
from storage.db import Database
from storage.outbox import Claimed, Outcome, claim, expired_leases, has_due_work, record

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
        message_id = None
        for body in adapter.render(reply, recipient):
            response = await self._client.post(f"{channel.external_id}/messages", body, channel.access_token)
            message_id = adapter.sent_message_id(response) or message_id
        return message_id


class Sender:
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
    ) -> None:
        self._db = db
        self._directory = directory
        self._transports = transports
        self._clock = clock
        self._metrics = metrics
        self._limit = asyncio.Semaphore(concurrency)
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._lease = timedelta(seconds=timeout * 3 + 30)
        self._on_sent = on_sent
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="sender")

    async def stop(self) -> None:
        """Finish the batch in flight (its outcomes are recorded), then end."""
        self._stopping = True
        self._wake.set()
        await stop_tasks([self._task] if self._task else [])

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
            try:
                while not self._stopping and await self.run_once():
                    pass
                async with self._db.read() as session:
                    due = await has_due_work(session, list(self._transports), self._clock.now())
                if due is None:
                    self._idle.set()
                else:
                    timeout = min(self._poll, max((due - self._clock.now()).total_seconds(), 0.001))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.error("event=sender.pass_failed error=%s", type(err).__name__)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def run_once(self) -> int:
        """Send one batch; returns how many rows it claimed."""
        if not self._transports:
            return 0
        async with self._db.write() as session:
            rows = await claim(
                self._db,
                session,
                channel_ids=list(self._transports),
                now=self._clock.now(),
                limit=self._batch_size,
                lease=self._lease,
            )
        if not rows:
            return 0
        self._metrics.outbox_pending.set(len(rows))
        conversations: dict[int, list[Claimed]] = {}
        for row in rows:
            conversations.setdefault(row.conversation_id, []).append(row)
        results = await asyncio.gather(*(self._send_in_order(batch) for batch in conversations.values()))
        outcomes = [outcome for batch in results for outcome in batch]
        async with self._db.write() as session:
            await record(session, outcomes, self._clock.now())
        if self._on_sent and any(o.sent for o in outcomes):
            self._on_sent()
        return len(rows)

    async def _send_in_order(self, rows: list[Claimed]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self._limit:
            for index, row in enumerate(rows):
                outcome = await self._send(row)
                outcomes.append(outcome)
                if not outcome.sent and outcome.retry_at is not None:
                    # A reply that must be retried holds back the ones after it, so order is kept.
                    outcomes.extend(
                        Outcome(row_id=r.id, message_id=r.message_id, released=True)
                        for r in rows[index + 1 :]
                    )
                    break
        return outcomes

    async def _send(self, row: Claimed) -> Outcome:
        channel = self._directory.get(row.channel_id)
        transport = self._transports.get(row.channel_id)
        try:
            if channel is None or transport is None:
                raise PermanentSendError("channel is no longer configured")
            reply = Reply.from_json(row.payload)
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
        log.warning(
            "event=send.failed outbox=%s channel=%s attempt=%d final=%s code=%s error=%s",
            row.id,
            channel.id if channel else row.channel_id,
            attempt,
            final,
            err.code,
            type(err).__name__,
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
