"""Retention: per business, messages and raw Meta deliveries older than the business's settings
(`[businesses.retention]`, the Booking and reminders settings page) are removed by an hourly job in every
`jola serve`, and by `jola purge` on demand (`--dry-run` says what would go).

Work goes in small batches, each its own short transaction, so a large backlog never holds SQLite's write
lock for long and a delivery being acknowledged waits for one batch at most. On PostgreSQL each batch
takes an advisory lock per business and kind and skips rows another transaction holds, so processes
running the job at once share the work instead of waiting on each other. Each purge that removed
something is recorded (privacy_events, kind "purge", counts only) and counted in /metrics; the log
carries ids and counts, never what was removed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import RetentionConfig
from bot.due_worker import DueWorker
from bot.metrics import Metrics
from bot.profiles import Profiles
from storage import retention as store
from storage.db import Database

log = logging.getLogger(__name__)

KINDS = ("messages", "inbound_events")
BATCH = 500  # rows per transaction
EVERY = 3600.0  # seconds between purges
FIRST_AFTER = 60.0  # not at start: a process that starts and stops at once has nothing to tidy


@dataclass(slots=True)
class KindOutcome:
    """One kind of one business: what was (or, in a dry run, would be) removed."""

    kind: str
    age: timedelta | None  # None: kept ("off")
    count: int = 0
    oldest: datetime | None = None


@dataclass(slots=True)
class Outcome:
    business_id: str
    kinds: list[KindOutcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {k.kind: k.count for k in self.kinds if k.age is not None}

    @property
    def total(self) -> int:
        return sum(k.count for k in self.kinds)


async def purge_business(
    db: Database,
    business_id: str,
    retention: RetentionConfig,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "retention",
    batch_size: int = BATCH,
    metrics: Metrics | None = None,
    go_on: Callable[[], bool] = lambda: True,
) -> Outcome:
    """Remove (or, with `dry_run`, count) what this business keeps no longer; `go_on` is asked between
    batches (a stopping process leaves the rest for the next purge)."""
    outcome = Outcome(business_id)
    for kind in KINDS:
        age = retention.age(kind)
        found = KindOutcome(kind, age)
        outcome.kinds.append(found)
        if age is None:
            continue
        cutoff = now - age
        for target in _targets(db, kind):
            async with target.read() as session:
                seen = await (store.old_messages if kind == "messages" else store.old_events)(
                    session, business_id, cutoff
                )
            found.count += seen.count
            if seen.oldest is not None and (found.oldest is None or seen.oldest < found.oldest):
                found.oldest = seen.oldest
        if not dry_run and found.count:
            found.count = await _remove(db, kind, business_id, cutoff, batch_size, go_on)
    if dry_run or not outcome.total:
        return outcome
    async with db.write() as session:
        store.record(session, business_id, outcome.counts, actor=actor, now=now)
    for kind, count in outcome.counts.items():
        if metrics is not None and count:
            metrics.count(metrics.purged, kind, amount=count)
    log.info(
        "event=retention.purged business=%s actor=%s %s",
        business_id,
        actor,
        " ".join(f"{kind}={count}" for kind, count in outcome.counts.items()),
    )
    return outcome


def _targets(db: Database, kind: str) -> list[Database]:
    """Where the rows live: deliveries in the inbox (its own file on SQLite, and in the main one rows a
    release before that file may have left)."""
    if kind == "messages":
        return [db]
    return [db.inbox, db] if db.split_inbox else [db]


async def _remove(
    db: Database, kind: str, business_id: str, cutoff: datetime, batch_size: int, go_on: Callable[[], bool]
) -> int:
    remove: Callable[..., Awaitable[int]] = (
        store.remove_messages if kind == "messages" else store.empty_events
    )
    total = 0
    for target in _targets(db, kind):
        while True:
            async with target.write() as session:
                if not await target.try_lock(session, f"retention:{kind}:{business_id}"):
                    return total  # another process is purging this business right now
                done = await remove(session, business_id, cutoff, batch_size, claim=not target.is_sqlite)
            total += done
            if not go_on():
                return total
            if done < batch_size:
                break
            await asyncio.sleep(0)  # between batches, whoever waits for the write lock goes first
    return total


class RetentionWorker(DueWorker):
    """The hourly purge of every business, on the shared polling loop (bot/due_worker.py)."""

    name = "retention"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        profiles: Profiles,
        metrics: Metrics,
        *,
        every: float = EVERY,
        first_after: float = FIRST_AFTER,
        batch_size: int = BATCH,
    ) -> None:
        super().__init__(clock, poll_seconds=every, batch_size=batch_size)
        self._db, self._profiles, self._metrics = db, profiles, metrics
        self._first_after = first_after
        self._next: datetime | None = None
        self._waiting: list[asyncio.Future[list[Outcome]]] = []

    async def before_first_pass(self) -> None:
        self._next = self._clock.now() + timedelta(seconds=self._first_after)

    async def next_due(self) -> datetime | None:
        return self._next

    async def run_due(self) -> int:
        """Purge when the time has come (the worker's clock says; `wake()` makes it look at once)."""
        now = self._clock.now()
        if self._next is not None and now < self._next:
            return 0
        self._next = now + timedelta(seconds=self._poll)
        waiting, self._waiting = self._waiting, []
        try:
            outcomes = await self.purge(now)
        except BaseException as err:
            for future in waiting:
                if not future.done():
                    if isinstance(err, Exception):
                        future.set_exception(err)
                    else:
                        future.cancel()
            raise
        for future in waiting:
            if not future.done():
                future.set_result(outcomes)
        return sum(o.total for o in outcomes)

    async def purge(self, now: datetime) -> list[Outcome]:
        """Every business, by its settings as they stand now; one that fails is tried again next time."""
        await self._profiles.refresh_now(self._db)
        outcomes = []
        for business_id in self._profiles:
            if self._stopping:
                break
            retention = self._profiles.settings(business_id).retention
            try:
                outcomes.append(
                    await purge_business(
                        self._db,
                        business_id,
                        retention,
                        now,
                        batch_size=self._batch,
                        metrics=self._metrics,
                        go_on=lambda: not self._stopping,
                    )
                )
            except SQLAlchemyError as err:
                log.error("event=retention.failed business=%s error=%s", business_id, type(err).__name__)
        return outcomes

    def next_pass(self) -> asyncio.Future[list[Outcome]]:
        """Resolved with the outcomes of the next purge that runs (tests await it)."""
        future: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        return future


async def retention_view(session: AsyncSession, business_id: str) -> dict[str, Any]:
    """What the settings page shows beside the retention fields: the defaults (a business set up before
    retention has none stored) and the last purge."""
    return {
        "retention_defaults": RetentionConfig().model_dump(),
        "last_purge": await store.last_purge(session, business_id),
    }
