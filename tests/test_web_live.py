"""/events: open pages hear which conversation changed, in this process and (PostgreSQL) in another one;
a page that falls behind is told to fetch everything; shutting down never waits for open streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from bot import keys
from bot.live import QUEUE, Change, LiveHub
from storage.models import Conversation
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account


class EventStream:
    """An open /events stream read the way EventSource reads it."""

    def __init__(self, response: Any) -> None:
        self.response = response

    async def next(self) -> tuple[str, dict[str, Any]]:
        while True:
            block = (await asyncio.wait_for(self.response.content.readuntil(b"\n\n"), 10)).decode()
            if not block.endswith("\n\n"):
                raise ConnectionError("the stream ended")
            if block.startswith(":"):
                continue  # keep-alive
            fields = dict(line.split(": ", 1) for line in block.strip().splitlines() if ": " in line)
            if "data" in fields:
                return fields.get("event", "message"), json.loads(fields["data"])


async def open_events(browser: StaffBrowser) -> EventStream:
    response = await browser.http.get(browser.base + "/events", headers={"Accept": "text/event-stream"})
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    stream = EventStream(response)
    assert await stream.next() == ("hello", {})
    return stream


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    await add_account(jola)
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


async def only_conversation(jola: Jola) -> int:
    async with jola.db.read() as session:
        return int((await session.execute(select(Conversation.id))).scalar_one())


async def test_a_client_message_reaches_every_open_page(jola: Jola, rita: StaffBrowser) -> None:
    first, second = await open_events(rita), await open_events(rita)
    await WhatsAppClient(jola, user_id=None).says("hello")
    conversation = await only_conversation(jola)
    for stream in (first, second):
        kind, change = await stream.next()
        assert (kind, change) == ("message", {"conversation": conversation, "kind": "message"})
    # then the bot's reply is sent: its tick changes
    assert await first.next() == ("message", {"conversation": conversation, "kind": "status"})


async def test_a_staff_action_is_heard_too(jola: Jola, rita: StaffBrowser) -> None:
    await WhatsAppClient(jola, user_id=None).says("hello")
    conversation = await only_conversation(jola)
    stream = await open_events(rita)
    await rita.get(f"/conversations/{conversation}")
    await rita.post(f"/conversations/{conversation}/takeover")
    assert await stream.next() == ("message", {"conversation": conversation, "kind": "conversation"})


async def test_events_need_a_login(jola: Jola) -> None:
    response = await jola.client.get("/events", headers={"Accept": "text/event-stream"})
    assert response.status == 401
    response = await jola.client.get("/inbox/counts", headers={"Accept": "application/json"})
    assert response.status == 401


async def test_counts_for_the_notifications(jola: Jola, rita: StaffBrowser) -> None:
    await WhatsAppClient(jola, user_id=None).says("I want to talk to a person")
    async with rita.http.get(rita.base + "/inbox/counts") as response:
        assert await response.json() == {"needs_staff": 1, "mine": 0}


async def test_a_page_that_falls_behind_is_told_to_fetch_everything() -> None:
    hub = LiveHub()
    stream = hub.subscribe("harbour-clinic")
    hub.publish(Change("harbour-clinic", n, "message") for n in range(QUEUE + 10))
    assert stream.behind and stream.queue.qsize() == QUEUE
    other = hub.subscribe("other-clinic")
    assert other.queue.empty()  # one business never hears of another's


async def test_shutting_down_ends_open_streams(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph)
    await add_account(jola)
    browser = StaffBrowser(jola)
    await browser.log_in()
    stream = await open_events(browser)
    await asyncio.wait_for(jola.client.close(), 10)  # would wait out the stream if it did not end
    with pytest.raises((ConnectionError, aiohttp.ClientPayloadError)):
        await stream.next()
    await browser.close()


async def test_a_change_in_another_process_is_heard(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    """Two `jola serve` processes on one PostgreSQL database: a page open on the first hears of a message
    the second handled (LISTEN/NOTIFY)."""
    if not database.url.startswith("postgresql"):
        pytest.skip("one process is the whole of an SQLite deployment")
    config = make_config(database, fake_graph.url)
    first = await start_jola(config, fake_graph)
    second = await start_jola(config, fake_graph)
    try:
        await add_account(first)
        browser = StaffBrowser(first)
        await browser.log_in()
        stream = await open_events(browser)
        await WhatsAppClient(second, user_id=None).says("hello")
        conversation = await only_conversation(second)
        assert await stream.next() == ("message", {"conversation": conversation, "kind": "message"})
        assert first.app[keys.PIPELINE].live.listeners("harbour-clinic") == 1
        await browser.close()
    finally:
        await second.client.close()
        await first.client.close()


async def test_the_relay_comes_back_after_its_connection_is_lost(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """PostgreSQL restarted or failed over under us: the relay connects again, every open page is told to
    fetch everything (it may have missed changes), and changes flow again."""
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite has no relay")
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph)
    try:
        await add_account(jola)
        browser = StaffBrowser(jola)
        await browser.log_in()
        stream = await open_events(browser)
        relay = jola.app[keys.PIPELINE].live._relay
        pid = relay._connection.get_server_pid()
        async with jola.db.write() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert await stream.next() == ("resync", {})
        await WhatsAppClient(jola, user_id=None).says("hello")
        assert (await stream.next())[1]["kind"] == "message"
        await browser.close()
    finally:
        await jola.client.close()
