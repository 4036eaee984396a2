"""Acks first: while webhook deliveries pile up, the reply path steps back.

Meta waits on every webhook POST. Slow answers are retried, which adds load, and a webhook that stays slow
gets disabled. Replies can wait a moment. So while at least `FLOOD` deliveries are in flight at once, more
than a server that keeps up ever has (at 1,000/s with a p50 of a few ms: a handful), the dispatcher pauses
between its passes so that it keeps about `BACKGROUND_SHARE` of the event loop; the sender follows, as it
only sends what the dispatcher produced. The backlog a flood leaves is drained at full speed once it
passes. Below `FLOOD` nothing is paced.

A flood lasts `HOLD` after the count was last at `FLOOD`: when acks get fast, Meta's (or a load test's)
requests spend most of their time queued in the kernel and the loop, not in the handler, so the count
swings between 0 and 60 from one millisecond to the next, and a flood seen only at its peaks would let the
replies take half the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

FLOOD = 32  # webhook requests in flight at once
HOLD = 0.15  # seconds a flood lasts after the count was last at FLOOD
BACKGROUND_SHARE = 0.1  # of the event loop, for the reply path during a flood
MAX_PAUSE = 0.25  # seconds: replies still move during a flood


class AckPressure:
    def __init__(
        self,
        flood: int = FLOOD,
        share: float = BACKGROUND_SHARE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        hold: float = HOLD,
    ) -> None:
        self.in_flight = 0
        self._flood = flood
        self._hold = hold
        self._clock = clock
        self._last_flood = -hold - 1.0
        self._factor = (1 - share) / share
        self._sleep = sleep

    def delivery(self) -> AckPressure:
        """Around a webhook request (`with pressure.delivery():`): counts it as in flight until it is
        answered. A plain context manager, not a generator-based one, as it wraps every ack."""
        return self

    def __enter__(self) -> None:
        self.in_flight += 1
        if self.in_flight >= self._flood:
            self._last_flood = self._clock()

    def __exit__(self, *exc: object) -> None:
        self.in_flight -= 1

    @property
    def flooded(self) -> bool:
        return self.in_flight >= self._flood or self._clock() - self._last_flood < self._hold

    async def pace(self, busy_seconds: float) -> None:
        """After background work that held (or shared) the loop for `busy_seconds`: during a flood, wait
        long enough for the acks to get the rest."""
        if self.flooded and busy_seconds > 0:
            await self._sleep(min(MAX_PAUSE, busy_seconds * self._factor))
