"""Group commit: concurrent stores share commits; each delivery learns exactly which of its items are new."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from bot.clock import Clock
from bot.inbox import MAX_ROWS_PER_COMMIT, InboxWriter, StoreFailed
from bot.metrics import Metrics
from storage.db import Database
from storage.inbox import NewEvent
from storage.migrate import upgrade
from storage.models import InboundEvent
from tests.conftest import DatabaseTarget


def event(key: str, kind: str = "message") -> NewEvent:
    return NewEvent(
        provider_key=key,
        business_id="demo",
        channel_id=1,
        conversation_key=f"1:{key[-1]}",
        kind=kind,
        payload={"text": "hello", "key": key},
    )


async def open_writer(database: DatabaseTarget) -> tuple[Database, InboxWriter, list[int], Metrics]:
    db = Database(database.url, schema=database.schema)
    await upgrade(db)
    wakes: list[int] = []
    metrics = Metrics()
    writer = InboxWriter(db, Clock(), on_stored=lambda: wakes.append(1), metrics=metrics)
    writer.start()
    return db, writer, wakes, metrics


async def stored_keys(db: Database) -> list[str]:
    async with db.inbox.read() as session:
        return list((await session.execute(select(InboundEvent.provider_key))).scalars())


def sample(metrics: Metrics, kind: str, outcome: str) -> float:
    value: Any = metrics.registry.get_sample_value(
        "jola_inbound_items_total", {"kind": kind, "outcome": outcome}
    )
    return float(value or 0)


async def test_overlapping_deliveries_at_once_each_key_is_claimed_by_exactly_one(
    database: DatabaseTarget,
) -> None:
    """Meta retries while the first try is still being stored: one gets the key, the other a duplicate."""
    db, writer, wakes, metrics = await open_writer(database)
    try:
        # delivery n carries keys n and n+1, so every key but the ends is in two deliveries at once
        deliveries = [[event(f"wamid.{n}"), event(f"wamid.{n + 1}")] for n in range(60)]
        results = await asyncio.gather(*(writer.store(d) for d in deliveries))
        claimed = [key for result in results for key in result]
        assert sorted(claimed) == sorted(f"wamid.{n}" for n in range(61))  # each once, none lost
        assert sorted(await stored_keys(db)) == sorted(claimed)
        assert sample(metrics, "message", "stored") == 61
        assert sample(metrics, "message", "duplicate") == 120 - 61
        assert wakes  # the dispatcher heard of them

        again = await writer.store([event("wamid.5"), event("wamid.new", kind="status")])
        assert again == {"wamid.new"}
        assert sample(metrics, "status", "stored") == 1
    finally:
        await writer.stop()
        await db.dispose()


async def test_a_group_larger_than_one_commit_is_stored_whole(database: DatabaseTarget) -> None:
    """Over MAX_ROWS_PER_COMMIT rows waiting at once: split over commits, every key stored once."""
    db, writer, _, _ = await open_writer(database)
    try:
        big = [event(f"wamid.big.{n}") for n in range(MAX_ROWS_PER_COMMIT + 250)]
        small = [[event(f"wamid.small.{n}")] for n in range(40)]
        results = await asyncio.gather(writer.store(big), *(writer.store(s) for s in small))
        assert results[0] == {e.provider_key for e in big}
        assert all(result == {s[0].provider_key} for result, s in zip(results[1:], small, strict=True))
        async with db.inbox.read() as session:
            count = (await session.execute(select(func.count()).select_from(InboundEvent))).scalar()
        assert count == len(big) + len(small)
    finally:
        await writer.stop()
        await db.dispose()


async def test_stop_waits_for_stores_already_asked_for(database: DatabaseTarget) -> None:
    db, writer, _, _ = await open_writer(database)
    try:
        pending = [asyncio.ensure_future(writer.store([event(f"wamid.stop.{n}")])) for n in range(30)]
        await asyncio.sleep(0)  # every store has been handed over
        await writer.stop()
        assert all(task.done() and len(task.result()) == 1 for task in pending)
        assert len(await stored_keys(db)) == 30
    finally:
        await db.dispose()


async def test_a_commit_cancelled_at_shutdown_answers_its_waiters(database: DatabaseTarget) -> None:
    """The task-run commit (PostgreSQL's, or before the thread starts) fails its waiters cleanly when
    cancelled, so the webhook answers 503 and stop() does not hang."""
    db = Database(database.url, schema=database.schema)
    await upgrade(db)
    writer = InboxWriter(db, Clock(), on_stored=lambda: None)  # not started: commits run as tasks
    try:
        store = asyncio.ensure_future(writer.store([event("wamid.cancelled")]))
        await asyncio.sleep(0)
        commits = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.endswith("_commit_group")]  # type: ignore[union-attr]
        assert len(commits) == 1
        commits[0].cancel()
        try:
            await store
        except StoreFailed:
            pass
        else:
            raise AssertionError("expected StoreFailed")
        await asyncio.wait_for(writer.stop(), 5)
    finally:
        await db.dispose()
