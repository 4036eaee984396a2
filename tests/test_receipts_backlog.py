"""Receipts never hold back a client's message (issue 18).

A delivery of thousands of statuses for message ids Jola never sent was acknowledged at once, but the
statuses were then retried one small batch per poll, in line ahead of every client message: a client's
"hi" sent afterwards waited 10 min 53 s for its reply. Receipts now take a lane of their own, are set aside
in whole batches, and are given up after a bounded number of looks (counted, one log line per batch).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import keys
from bot.dispatch import RECEIPT_BATCH
from bot.receipts import STATUS_PATIENCE, STATUS_RETRIES
from storage.models import InboundEvent, Message
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_status, whatsapp_text

CLIENT = "15550000001"
FLOOD = 5_000


def status_flood(count: int, prefix: str = "wamid.NEVER") -> dict[str, Any]:
    """One signed-to-be WhatsApp delivery with `count` statuses for message ids Jola never sent."""
    body = whatsapp_status(f"{prefix}-0", "delivered")
    value = body["entry"][0]["changes"][0]["value"]
    template = value["statuses"][0]
    value["statuses"] = [{**template, "id": f"{prefix}-{i}"} for i in range(count)]
    return body


class PassCounter:
    """Counts the dispatcher's passes (each `run_once`; `working`: those that took events) and the pass in
    which a client message was handled."""

    def __init__(self, jola: Jola) -> None:
        pipeline = jola.app[keys.PIPELINE]
        self.passes = 0
        self.working = 0
        self.message_pass: int | None = None
        dispatcher, handler = pipeline.dispatcher, pipeline.handler
        run_once, handle = dispatcher.run_once, handler.handle

        async def counted() -> int:
            self.passes += 1
            taken = await run_once()
            self.working += taken > 0
            return taken

        async def watched(session: Any, events: list[Any], **kwargs: Any) -> Any:
            if self.message_pass is None and any(e.kind == "message" for e in events):
                self.message_pass = self.passes
            return await handle(session, events, **kwargs)

        dispatcher.run_once = counted  # type: ignore[method-assign]
        handler.handle = watched  # type: ignore[method-assign]


async def pending_statuses(jola: Jola) -> int:
    async with jola.db.inbox.read() as session:
        query = select(func.count()).where(InboundEvent.state == "pending", InboundEvent.kind == "status")
        return (await session.execute(query)).scalar_one()


async def given_up_metric(jola: Jola) -> float:
    text = await (await jola.client.get("/metrics")).text()
    found = re.search(r'^jola_dispatched_events_total\{outcome="given_up"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_client_is_answered_at_once_behind_thousands_of_unknown_statuses(jola: Jola) -> None:
    """5,000 statuses for unknown ids, then "hi": the reply goes out within a pass or two, not after the
    statuses' retries."""
    counter = PassCounter(jola)
    await jola.deliver(status_flood(FLOOD))
    before = counter.passes
    await jola.deliver(whatsapp_text("hi", wa_id=CLIENT))
    [reply] = await asyncio.wait_for(jola.graph.wait_for_calls(1), timeout=10)
    assert reply.to == CLIENT
    assert reply.text and reply.text.startswith("Hi Test, welcome to Harbour Clinic!")
    # Handled in the first pass that started after it was stored (another worker's, on PostgreSQL, may
    # have started in between), not behind the statuses.
    workers = len(jola.app[keys.PIPELINE].dispatcher._tasks)
    assert counter.message_pass is not None
    assert counter.message_pass - before <= workers + 1


async def test_unknown_statuses_are_given_up_in_batches_without_spinning(
    database: DatabaseTarget, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    """Each status gets a bounded number of looks on a whole-second schedule, in full batches; then it is
    given up: counted in /metrics, one log line per batch with no message ids in it, its payload gone."""
    caplog.set_level(logging.INFO, logger="bot.dispatch")
    clock = SettableClock()
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph, clock=clock)
    try:
        counter = PassCounter(jola)
        dispatcher = jola.app[keys.PIPELINE].dispatcher
        await jola.deliver(status_flood(FLOOD))
        await jola.settle()
        assert await pending_statuses(jola) == FLOOD
        first_round = counter.working
        # 1 + 2 + 4 + 8 + 16 s of backoff; then the next look gives each up.
        for _ in range(STATUS_RETRIES + 1):
            clock.advance(seconds=16)
            dispatcher.wake()
            await jola.settle()
        assert await pending_statuses(jola) == 0
        assert await given_up_metric(jola) == FLOOD

        # Each round is a few full batches (RECEIPT_BATCH receipts a pass), all due at the same moment.
        batches = -(-FLOOD // RECEIPT_BATCH)
        assert first_round <= batches + 1
        assert counter.working <= (STATUS_RETRIES + 1) * (batches + 1)

        lines = [r.getMessage() for r in caplog.records if "event=dispatch.given_up" in r.getMessage()]
        assert len(lines) <= batches + 1
        counts = [re.search(r"count=(\d+)", line) for line in lines]
        assert sum(int(found.group(1)) for found in counts if found) == FLOOD
        assert all("reasons=unknown_message" in line and "wamid" not in line for line in lines)
        async with jola.db.inbox.read() as session:
            rows = (await session.execute(select(InboundEvent.payload, InboundEvent.error))).all()
        assert {(payload, error) for payload, error in rows} == {(None, "unknown_message")}
    finally:
        await jola.client.close()


async def test_a_status_that_beats_its_send_is_still_applied_inside_a_flood(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Among thousands of unknown statuses, one for our reply that arrives before the send's outcome is
    recorded waits, and is applied once the message id is known; the rest are given up."""
    clock = SettableClock()
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph, clock=clock)
    try:
        body = status_flood(FLOOD)
        statuses = body["entry"][0]["changes"][0]["value"]["statuses"]
        statuses.insert(FLOOD // 2, {**statuses[0], "id": "wamid.FAKE000001", "status": "read"})
        await jola.deliver(body)
        await jola.settle()
        await asyncio.wait_for(WhatsAppClient(jola).says("hi"), timeout=10)
        async with jola.db.read() as session:
            reply = (await session.execute(select(Message).where(Message.direction == "out"))).scalar_one()
        assert (reply.platform_message_id, reply.status) == ("wamid.FAKE000001", "sent")

        clock.advance(seconds=5)
        jola.app[keys.PIPELINE].dispatcher.wake()
        await jola.settle()
        async with jola.db.read() as session:
            status = (await session.execute(select(Message.status).where(Message.id == reply.id))).scalar()
        assert status == "read"
    finally:
        await jola.client.close()


async def test_a_status_kept_past_its_patience_gets_one_more_look_then_is_given_up(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Stored before a long stop (or behind a backlog): its first look may still find its message; after
    that, no backoff schedule keeps it around once it is older than STATUS_PATIENCE."""
    clock = SettableClock()
    config = make_config(database, fake_graph.url)
    jola = await start_jola(config, fake_graph, clock=clock, workers=False)
    try:
        await jola.deliver(status_flood(3))
    finally:
        await jola.client.close()
    clock.advance(seconds=STATUS_PATIENCE.total_seconds() + 60)
    jola = await start_jola(config, fake_graph, clock=clock)
    try:
        await jola.settle()
        assert await pending_statuses(jola) == 3  # the first look: set aside
        clock.advance(seconds=2)
        jola.app[keys.PIPELINE].dispatcher.wake()
        await jola.settle()
        assert await pending_statuses(jola) == 0
        assert await given_up_metric(jola) == 3
    finally:
        await jola.client.close()
