"""A background worker that settles rows falling due (reminders, emails): woken when something is queued,
otherwise looking again when the next row falls due or after `poll_seconds`, whichever is sooner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from bot.clock import Clock

log = logging.getLogger(__name__)


class DueWorker:
    name = "worker"  # for the task and the log lines

    def __init__(self, clock: Clock, *, poll_seconds: float, batch_size: int) -> None:
        self._clock = clock
        self._poll, self._batch = poll_seconds, batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def run_once(self) -> int:
        """Settle up to one batch of what is due; returns how many."""
        raise NotImplementedError

    async def next_due(self) -> datetime | None:
        raise NotImplementedError

    async def before_first_pass(self) -> None:
        """Tidy what a stopped process left (once, at start)."""

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> int:
        """Settle everything due now (tests and benchmarks call this directly)."""
        total = 0
        while True:
            done = await self.run_once()
            total += done
            if done < self._batch:
                return total

    async def _run(self) -> None:
        await self.before_first_pass()
        while not self._stopping:
            timeout = self._poll
            try:
                await self.run_due()
                due = await self.next_due()
                if due is not None:
                    timeout = min(self._poll, max((due - self._clock.now()).total_seconds(), 0.05))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.error("event=%s.pass_failed error=%s", self.name, type(err).__name__)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
