"""Staff step in and out through the REST API: the bot stays quiet while they do, and afterwards it picks
up exactly where it was. Staff messages follow Meta's windows (HUMAN_AGENT on Messenger after a day)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import keys
from storage.appointments import list_appointments
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.clinic import NOW, WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.page_payloads import IG_ACCOUNT_ID, PAGE_ID, PSID, messenger_text
from tests.support.payloads import PHONE_NUMBER_ID, whatsapp_button

AUTH = {"Authorization": "Bearer api-token"}
CHANNELS = [
    {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "wa-token"},
    {"kind": "messenger", "page_id": PAGE_ID, "access_token": "page-token"},
    {"kind": "instagram", "account_id": IG_ACCOUNT_ID, "access_token": "ig-token"},
]


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    config = make_config(database, fake_graph.url, business={"hours": WEEKDAYS, "channels": CHANNELS})
    running = await start_jola(config, fake_graph, clock=SettableClock(NOW))
    yield running
    await running.client.close()


async def api(jola: Jola, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = await jola.client.request(method, f"/api/v1{path}", json=body, headers=AUTH)
    return response.status, await response.json()


async def only_conversation(jola: Jola) -> int:
    status, body = await api(jola, "GET", "/conversations")
    assert status == 200
    [conversation] = body["conversations"]
    return int(conversation["id"])


async def test_takeover_quiets_the_bot_and_release_resumes_where_it_was(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [summary] = await client.says("massage tomorrow at 10")
    assert summary.options == ["Yes, book it", "Change something"]
    conversation = await only_conversation(jola)

    assert await api(jola, "POST", f"/conversations/{conversation}/takeover") == (
        200,
        {"id": conversation, "handled_by": "staff"},
    )
    assert await client.says("hmm, is there parking?") == []

    status, sent = await api(
        jola, "POST", f"/conversations/{conversation}/messages", {"text": "Yes, behind us."}
    )
    assert status == 201 and sent["author"] == "staff" and sent["status"] == "queued"
    [staff] = await client._replies()
    assert staff.text == "Yes, behind us."

    await api(jola, "POST", f"/conversations/{conversation}/release")
    # The summary is still what the bot waits for: tapping its button (further up the chat) books.
    await jola.deliver(whatsapp_button("yes", "Yes, book it", **client._who()))
    [booked] = await client._replies()
    assert booked.text.startswith("You're booked: Massage, tomorrow, Thursday 26 November, at 10:00.")
    async with jola.db.read() as session:
        assert len(await list_appointments(session, "harbour-clinic")) == 1

    status, body = await api(jola, "GET", f"/conversations/{conversation}/messages")
    authors = [(m["author"], m["text"]) for m in body["messages"]]
    assert ("staff", "Yes, behind us.") in authors
    assert ("client", "hmm, is there parking?") in authors


async def test_a_staff_reply_takes_the_conversation_from_the_bot(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")
    conversation = await only_conversation(jola)
    await api(jola, "POST", f"/conversations/{conversation}/messages", {"text": "Hi, Sam here."})
    await client._replies()
    assert await client.says("Hi Sam!") == []
    _, body = await api(jola, "GET", "/conversations?status=staff")
    assert [c["id"] for c in body["conversations"]] == [conversation]


async def test_whatsapp_staff_messages_stop_at_the_24_hour_window(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")
    conversation = await only_conversation(jola)
    clock: SettableClock = jola.app[keys.CLOCK]
    clock.advance(hours=25)
    status, body = await api(
        jola, "POST", f"/conversations/{conversation}/messages", {"text": "Still there?"}
    )
    assert status == 409
    assert "24-hour window" in body["error"]


async def test_messenger_staff_messages_use_human_agent_after_a_day_and_stop_after_seven(jola: Jola) -> None:
    clock: SettableClock = jola.app[keys.CLOCK]
    await jola.deliver(messenger_text("hello", timestamp=int(clock.now().timestamp() * 1000)))
    await jola.settle()
    conversation = await only_conversation(jola)

    clock.advance(hours=30)
    status, _ = await api(
        jola, "POST", f"/conversations/{conversation}/messages", {"text": "Sorry for the wait!"}
    )
    assert status == 201
    await jola.settle()
    staff = jola.graph.sent_to(PSID)[-1]
    assert staff.text == "Sorry for the wait!"
    assert (staff.body["messaging_type"], staff.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")

    clock.advance(days=7)
    status, body = await api(jola, "POST", f"/conversations/{conversation}/messages", {"text": "Hello?"})
    assert status == 409 and "7 days" in body["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "text must be a non-empty string"),
        ({"text": "   "}, "text must be a non-empty string"),
        ({"text": 42}, "text must be a non-empty string"),
        ({"text": "x" * 5000}, "text must be at most 4096 characters"),
    ],
)
async def test_a_bad_staff_message_is_a_clear_400(jola: Jola, body: dict[str, Any], error: str) -> None:
    await WhatsAppClient(jola).says("hello")
    conversation = await only_conversation(jola)
    assert await api(jola, "POST", f"/conversations/{conversation}/messages", body) == (
        400,
        {"error": error, "code": "bad_request"},
    )


async def test_unknown_conversations_are_404_and_a_missing_token_401(jola: Jola) -> None:
    assert (await api(jola, "POST", "/conversations/999/takeover"))[0] == 404
    assert (await api(jola, "POST", "/conversations/999/messages", {"text": "hi"}))[0] == 404
    response = await jola.client.post("/api/v1/conversations/1/release")
    assert response.status == 401
