"""The background half of a process: inbox writer → dispatcher → sender, plus housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.ack_pressure import AckPressure
from bot.channels.directory import ChannelDirectory
from bot.clock import Clock
from bot.config import Config
from bot.dispatch import Dispatcher
from bot.handling import Handler
from bot.inbox import InboxWriter
from bot.live import LiveHub
from bot.mail import Mailer
from bot.mail_worker import MailWorker
from bot.metrics import Metrics
from bot.playground import sweep
from bot.profiles import Profiles
from bot.reminders import ReminderWorker
from bot.retention import RetentionWorker
from bot.sender import Sender, Transport
from storage.db import Database
from storage.inbox import forget_handled_before, purge_before
from storage.outbox import purge_finished

log = logging.getLogger(__name__)

# Meta retries a delivery for up to 7 days; keep its key a day longer than that.
DEDUPE_KEEP = timedelta(days=8)
OUTBOX_KEEP = timedelta(days=1)
HOUSEKEEPING_EVERY = 3600.0
HOUSEKEEPING_FIRST = 60.0  # not at start: a process that starts and stops at once has nothing to tidy


class Pipeline:
    def __init__(
        self,
        db: Database,
        config: Config,
        clock: Clock,
        metrics: Metrics,
        directory: ChannelDirectory,
        profiles: Profiles,
        transports: dict[int, Transport],
    ) -> None:
        self.db = db
        self.clock = clock
        self.handler = Handler(directory, profiles, clock, app_id=config.meta.app_id or None)
        self.pressure = AckPressure()
        self.live = LiveHub()  # changes for the staff app's open pages (bot/live.py)
        workers = config.dispatch.workers or (1 if db.is_sqlite else 4)
        self.sender = Sender(
            db,
            directory,
            transports,
            clock,
            metrics,
            concurrency=config.sender.concurrency,
            batch_size=config.sender.batch_size,
            poll_seconds=config.sender.poll_seconds,
            max_attempts=config.sender.max_attempts,
            retry_base=config.sender.retry_base_seconds,
            retry_max=config.sender.retry_max_seconds,
            timeout=config.sender.timeout_seconds,
            on_changed=self.live.publish,
        )
        self.dispatcher = Dispatcher(
            db,
            self.handler,
            clock,
            metrics,
            batch_size=config.dispatch.batch_size,
            poll_seconds=config.dispatch.poll_seconds,
            max_attempts=config.dispatch.max_attempts,
            workers=workers,
            on_handled=self.sender.wake,
            on_changed=self.live.publish,
            pressure=self.pressure,
        )
        self.inbox = InboxWriter(db, clock, on_stored=self.dispatcher.wake, metrics=metrics)
        self.mail = MailWorker(db, clock, profiles, Mailer(config.smtp), metrics)
        self.reminders = ReminderWorker(
            db,
            clock,
            directory,
            profiles,
            metrics,
            on_queued=self.sender.wake,
            on_changed=self.live.publish,
            on_email=self.mail.wake,
            poll_seconds=config.reminders.poll_seconds,
            batch_size=config.reminders.batch_size,
        )
        self.retention = RetentionWorker(db, clock, profiles, metrics)  # bot/retention.py
        self._housekeeping: asyncio.Task[None] | None = None

    async def start(self, *, workers: bool = True) -> None:
        self.inbox.start()
        if workers:
            self.dispatcher.start()
            self.sender.start()
            self.reminders.start()
            self.mail.start()
            self.retention.start()
            self._housekeeping = asyncio.create_task(self._keep_house(), name="housekeeping")

    async def stop(self) -> None:
        await self.inbox.stop()
        await self.reminders.stop()
        await self.mail.stop()
        await self.retention.stop()
        await self.dispatcher.stop()
        await self.sender.stop()
        if self._housekeeping:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping

    async def settle(self) -> None:
        """Wait until every stored delivery is handled and every due reply sent (tests, terminal chat)."""
        while True:
            await self.dispatcher.wait_idle()
            await self.sender.wait_idle()
            if self.dispatcher.idle and self.sender.idle:
                return

    async def keep_house(self) -> None:
        """Forget what is no longer needed: dedupe keys past Meta's retry horizon, finished outbox rows
        (their text lives on in the message record; the copy in the outbox is not kept), and test clients
        (the playground's, `jola chat`'s) over a day old, their bookings cancelled."""
        now = self.clock.now()
        async with self.db.inbox.write() as session:
            inbox = await purge_before(session, now - DEDUPE_KEEP)
        async with self.db.write() as session:
            await forget_handled_before(session, now - DEDUPE_KEEP)
            outbox = await purge_finished(session, now - OUTBOX_KEEP)
        tests = await sweep(self.db, now)
        if inbox or outbox or tests:
            log.info("event=housekeeping.purged inbox=%d outbox=%d test_clients=%d", inbox, outbox, tests)

    async def _keep_house(self) -> None:
        await asyncio.sleep(HOUSEKEEPING_FIRST)
        while True:
            try:
                await self.keep_house()
            except Exception as err:
                log.error("event=housekeeping.failed error=%s", type(err).__name__)
            await asyncio.sleep(HOUSEKEEPING_EVERY)
