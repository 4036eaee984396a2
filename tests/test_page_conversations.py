"""Messenger and Instagram end to end: the same conversations as on WhatsApp, through the real webhook
and the fake Graph API; echoes, hand-over to a person, read receipts and the 24-hour window."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot import keys
from storage.models import Conversation, Message
from tests.conftest import DatabaseTarget, Jola, SettableClock, make_config, start_jola
from tests.support.clinic import NOW, WEEKDAYS, appointments
from tests.support.fake_graph import FakeGraph, GraphCall
from tests.support.page_payloads import (
    IG_ACCOUNT_ID,
    IGSID,
    PAGE_ID,
    PSID,
    instagram_echo,
    instagram_quick_reply,
    instagram_text,
    messenger_echo,
    messenger_postback,
    messenger_quick_reply,
    messenger_read,
    messenger_text,
)
from tests.support.payloads import PHONE_NUMBER_ID

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


class PageClient:
    """A client on Messenger or Instagram: writes, taps quick replies or buttons, reads the answers."""

    def __init__(self, jola: Jola, kind: str) -> None:
        self.jola, self.kind = jola, kind
        self.user = PSID if kind == "messenger" else IGSID
        self.seen = 0

    @property
    def now_ms(self) -> int:
        return int(self.jola.app[keys.CLOCK].now().timestamp() * 1000)

    def _build(self, text: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        who = {"psid": self.user} if self.kind == "messenger" else {"igsid": self.user}
        return text(*args, timestamp=self.now_ms, **who)

    async def says(self, text: str) -> list[GraphCall]:
        build = messenger_text if self.kind == "messenger" else instagram_text
        await self.jola.deliver(self._build(build, text))
        return await self.replies()

    async def taps(self, title: str) -> list[GraphCall]:
        last = self.jola.graph.sent_to(self.user)[-1]
        payload = last.option_ids[last.options.index(title)]
        if self.kind == "instagram":
            body = self._build(instagram_quick_reply, payload, title)
        elif last.body["message"].get("quick_replies"):
            body = self._build(messenger_quick_reply, payload, title)
        else:
            body = self._build(messenger_postback, payload, title)
        await self.jola.deliver(body)
        return await self.replies()

    async def replies(self) -> list[GraphCall]:
        await self.jola.settle()
        sent = self.jola.graph.sent_to(self.user)
        new, self.seen = sent[self.seen :], len(sent)
        return new


async def conversation(jola: Jola, user: str) -> Conversation:
    async with jola.db.read() as session:
        rows = await session.execute(select(Conversation).where(Conversation.key.endswith(f":{user}")))
        return rows.scalar_one()


# ----------------------------------------------------------------------------------------- Messenger


async def test_booking_on_messenger_from_hello_to_booked(jola: Jola) -> None:
    client = PageClient(jola, "messenger")

    [hello] = await client.says("Hi")
    assert hello.path == f"/v23.0/{PAGE_ID}/messages"
    assert hello.authorization == "Bearer page-token"
    assert hello.body["messaging_type"] == "RESPONSE"
    assert hello.text == "Hi, welcome to Harbour Clinic!\nWhat would you like to book?"
    assert hello.options == ["Massage", "Physiotherapy", "Talk to a person"]  # a button template

    [when] = await client.taps("Massage")
    assert when.text.startswith("Massage, 60 min. When would you like to come?")
    assert when.body["message"]["quick_replies"]  # four times: quick replies

    [name] = await client.says("friday at 10")
    assert name.text == "Almost done. What is your name?"  # Messenger gives no name
    [phone] = await client.says("Anna Jensen")
    assert phone.text.startswith("What phone number can we reach you on")
    assert phone.options == ["Skip"]
    [summary] = await client.says("it's 20 30 40 50")
    assert summary.text.endswith("Friday 27 November at 10:00\nName: Anna Jensen\nPhone: +4520304050")
    [booked] = await client.taps("Yes, book it")
    assert booked.text.startswith("You're booked: Massage, Friday 27 November at 10:00.")

    [appointment] = await appointments(jola)
    assert (appointment.channel, appointment.client_name, appointment.client_phone) == (
        "messenger",
        "Anna Jensen",
        "+4520304050",
    )


async def test_rescheduling_and_cancelling_on_messenger(jola: Jola) -> None:
    client = PageClient(jola, "messenger")
    await client.says("massage friday at 10")
    await client.says("Anna")
    await client.taps("Skip")
    await client.taps("Yes, book it")

    [summary] = await client.says("can I move my appointment to monday at 9?")
    assert (
        summary.text == "Move your Massage from Friday 27 November at 10:00 to Monday 30 November at 09:00?"
    )
    await client.taps("Yes, move it")
    [sure] = await client.says("please cancel it")
    assert sure.text == "Cancel your Massage, Monday 30 November at 09:00?"
    [done] = await client.taps("Yes, cancel it")
    assert done.text.startswith("Your Massage, Monday 30 November at 09:00, is cancelled.")
    assert [a.status for a in await appointments(jola)] == ["cancelled"]


async def test_our_own_echo_never_triggers_the_bot(jola: Jola) -> None:
    """Meta echoes every message the Page sends; answering our own echo would loop forever."""
    client = PageClient(jola, "messenger")
    [hello] = await client.says("Hi")
    await jola.deliver(messenger_echo(hello.text or "", mid=hello.message_id, timestamp=client.now_ms))
    assert await client.replies() == []
    assert (await conversation(jola, PSID)).handled_by == "bot"


async def test_a_person_answering_from_the_page_inbox_takes_over(jola: Jola) -> None:
    """An echo from another app (Meta's inbox) means a human answered: the bot steps back, the message is
    logged as staff's, and the client's next message gets no bot reply."""
    client = PageClient(jola, "messenger")
    await client.says("Hi")
    inbox = messenger_echo(
        "Hi, this is Sam from the front desk.", app_id=263902037430900, timestamp=client.now_ms
    )
    await jola.deliver(inbox)
    await jola.settle()

    assert await client.says("Thanks Sam, can I come at 10?") == []
    taken = await conversation(jola, PSID)
    assert (taken.handled_by, taken.needs_staff) == ("staff", True)  # stands out in the staff app's inbox
    async with jola.db.read() as session:
        rows = await session.execute(
            select(Message.author, Message.text)
            .where(Message.conversation_id == taken.id)
            .order_by(Message.id)
        )
        log = rows.all()
    assert ("staff", "Hi, this is Sam from the front desk.") in log
    assert log[-1] == ("client", "Thanks Sam, can I come at 10?")


async def test_a_read_receipt_marks_every_earlier_reply_read(jola: Jola) -> None:
    client = PageClient(jola, "messenger")
    await client.says("Hi")
    await client.taps("Massage")
    await jola.deliver(messenger_read(client.now_ms + 1000, timestamp=client.now_ms))
    await jola.settle()
    async with jola.db.read() as session:
        statuses = (await session.execute(select(Message.status).where(Message.direction == "out"))).scalars()
        assert set(statuses) == {"read"}


async def test_no_free_text_on_messenger_after_the_window(jola: Jola) -> None:
    """A message Meta delivers a day late gets no answer: sending would fail with 10/2018278 anyway."""
    stale = int(NOW.timestamp() * 1000) - 25 * 3600 * 1000
    await jola.deliver(messenger_text("hello?", timestamp=stale))
    await jola.settle()
    assert jola.graph.sent_to(PSID) == []
    async with jola.db.read() as session:
        [(status, title)] = (
            await session.execute(
                select(Message.status, Message.error_title).where(Message.direction == "out")
            )
        ).all()
    assert status == "failed" and title.startswith("OutsideWindow")
    # Staff see why: the inbox's message list carries the reason.
    auth = {"Authorization": "Bearer api-token"}
    conversations = await (await jola.client.get("/api/v1/conversations", headers=auth)).json()
    [conversation] = conversations["conversations"]
    listing = await jola.client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=auth)
    [_, refused] = (await listing.json())["messages"]
    assert refused["status"] == "failed" and refused["error"].startswith("OutsideWindow")


# ----------------------------------------------------------------------------------------- Instagram


async def test_booking_on_instagram_with_quick_replies_and_typed_numbers(jola: Jola) -> None:
    """Instagram shows quick replies only in the app, so the options are in the text too, numbered; a
    typed number picks one."""
    client = PageClient(jola, "instagram")

    [hello] = await client.says("Hi")
    assert hello.path == f"/v23.0/{IG_ACCOUNT_ID}/messages"
    assert hello.authorization == "Bearer ig-token"
    assert "1. Massage" in (hello.text or "") and "2. Physiotherapy" in (hello.text or "")
    assert hello.options == ["Massage", "Physiotherapy", "Talk to a person"]

    [when] = await client.says("1")
    assert when.text.startswith("Massage, 60 min. When would you like to come?")
    [name] = await client.taps(when.options[0])
    assert name.text == "Almost done. What is your name?"
    await client.says("Mette")
    await client.says("no thanks")
    [booked] = await client.taps("Yes, book it")
    assert booked.text.startswith("You're booked: Massage, today, Wednesday 25 November, at 11:00.")
    [appointment] = await appointments(jola)
    assert appointment.channel == "instagram"


async def test_rescheduling_and_cancelling_on_instagram(jola: Jola) -> None:
    client = PageClient(jola, "instagram")
    await client.says("physio tomorrow at 13")
    await client.says("Mette")
    await client.taps("Skip")
    await client.taps("Yes, book it")

    [summary] = await client.says("I need to reschedule to friday at 15")
    assert summary.text.startswith(
        "Move your Physiotherapy from tomorrow, Thursday 26 "
        "November, at 13:00 to Friday 27 November at 15:00?"
    )
    await client.taps("Yes, move it")
    await client.says("cancel my appointment")
    [done] = await client.taps("Yes, cancel it")
    assert done.text.startswith("Your Physiotherapy, Friday 27 November at 15:00, is cancelled.")


async def test_instagram_echoes_of_our_own_sends_are_recognised_by_message_id(jola: Jola) -> None:
    """Instagram echoes carry no app id: ours are known by the message id the send returned."""
    client = PageClient(jola, "instagram")
    [hello] = await client.says("Hi")
    await jola.deliver(instagram_echo(hello.text or "", mid=hello.message_id, timestamp=client.now_ms))
    await jola.settle()
    assert (await conversation(jola, IGSID)).handled_by == "bot"
    assert await client.replies() == []


async def test_an_instagram_echo_we_did_not_send_hands_over_after_a_short_wait(jola: Jola) -> None:
    """It might be ours with its record not yet written, so it waits a little; then a person has it."""
    client = PageClient(jola, "instagram")
    await client.says("Hi")
    clock: SettableClock = jola.app[keys.CLOCK]
    await jola.deliver(instagram_echo("Hej! Det er Lise fra klinikken.", timestamp=client.now_ms))
    await jola.settle()
    assert (await conversation(jola, IGSID)).handled_by == "bot"  # not yet
    pipeline = jola.app[keys.PIPELINE]
    for _ in range(6):
        clock.advance(seconds=20)
        await pipeline.dispatcher.run_once()
    await jola.settle()
    assert (await conversation(jola, IGSID)).handled_by == "staff"


# ----------------------------------------------------------------------------------------- one client


async def test_staff_link_a_messenger_and_a_whatsapp_client_into_one_record(jola: Jola) -> None:
    """One person writing on two channels: after linking, one record shows both channels' history."""
    from tests.conftest import WhatsAppClient

    whatsapp = WhatsAppClient(jola, name="Anna Jensen")
    await whatsapp.says("massage friday at 10")
    await whatsapp.taps("Yes, book it")
    messenger = PageClient(jola, "messenger")
    await messenger.says("physio monday at 9")
    await messenger.says("Anna")
    await messenger.says("+1 555 000 0001")  # the number her WhatsApp record has
    await messenger.taps("Yes, book it")

    auth = {"Authorization": "Bearer api-token"}
    found = await (await jola.client.get("/api/v1/clients?q=anna", headers=auth)).json()
    by_name = {c["name"]: c["id"] for c in found["clients"]}
    keep, other = by_name["Anna Jensen"], by_name["Anna"]
    # A typed number proves nothing (anyone can type anyone's number), so it is not linked by itself:
    # staff see the likely match on the record and link with one call.
    suggested = await (await jola.client.get(f"/api/v1/clients/{other}", headers=auth)).json()
    assert suggested["possible_duplicates"] == [{"id": keep, "name": "Anna Jensen", "phone": "+15550000001"}]

    response = await jola.client.post(f"/api/v1/clients/{keep}/link", json={"client_id": other}, headers=auth)
    assert response.status == 200
    record = await response.json()
    assert (record["name"], record["phone"]) == ("Anna Jensen", "+15550000001")
    assert sorted(i["channel"] for i in record["identities"]) == ["messenger", "whatsapp"]
    assert sorted(c["channel"] for c in record["conversations"]) == ["messenger", "whatsapp"]
    assert sorted(a["channel"] for a in record["appointments"]) == ["messenger", "whatsapp"]
    assert (await jola.client.get(f"/api/v1/clients/{other}", headers=auth)).status == 404

    # Either channel now sees all of the client's appointments.
    [listing] = await messenger.says("what are my appointments?")
    assert "Massage" in (listing.text or "") and "Physiotherapy" in (listing.text or "")


async def test_linking_refuses_nonsense(jola: Jola) -> None:
    auth = {"Authorization": "Bearer api-token"}
    await PageClient(jola, "messenger").says("hello")
    found = await (await jola.client.get("/api/v1/clients", headers=auth)).json()
    [client] = found["clients"]
    for body, status in (({}, 400), ({"client_id": "2"}, 400), ({"client_id": client["id"]}, 400)):
        response = await jola.client.post(f"/api/v1/clients/{client['id']}/link", json=body, headers=auth)
        assert response.status == status
    response = await jola.client.post(
        f"/api/v1/clients/{client['id']}/link", json={"client_id": 999}, headers=auth
    )
    assert response.status == 404


async def test_a_number_given_on_messenger_is_confirmed_on_whatsapp_before_records_join(jola: Jola) -> None:
    """The WhatsApp side vouches for its number: its "yes, that's me" joins the two records."""
    from tests.conftest import WhatsAppClient

    whatsapp = WhatsAppClient(jola, name="Anna Jensen")
    await whatsapp.says("massage friday at 10")
    await whatsapp.taps("Yes, book it")
    messenger = PageClient(jola, "messenger")
    await messenger.says("physio monday at 9")
    await messenger.says("Anna")
    [asked, summary] = await messenger.says("+1 555 000 0001")
    assert asked.text.startswith("Thanks. That number writes to us on WhatsApp too")
    assert summary.text.startswith("Shall I book this?")

    [question] = await whatsapp._replies()
    assert question.text.startswith("Someone on Messenger just gave this number to Harbour Clinic.")
    assert question.options == ["Yes, that's me", "No, not me"]
    [done] = await whatsapp.taps("Yes, that's me")
    assert done.text == "Thanks! Your bookings from Messenger and WhatsApp are now kept together."

    await messenger.taps("Yes, book it")
    auth = {"Authorization": "Bearer api-token"}
    found = await (await jola.client.get("/api/v1/clients?q=anna", headers=auth)).json()
    [client] = found["clients"]
    record = await (await jola.client.get(f"/api/v1/clients/{client['id']}", headers=auth)).json()
    assert sorted(i["channel"] for i in record["identities"]) == ["messenger", "whatsapp"]
    assert sorted(a["channel"] for a in record["appointments"]) == ["messenger", "whatsapp"]


async def test_a_no_on_whatsapp_keeps_the_records_apart(jola: Jola) -> None:
    from tests.conftest import WhatsAppClient

    whatsapp = WhatsAppClient(jola, name="Anna Jensen")
    await whatsapp.says("hello")
    messenger = PageClient(jola, "messenger")
    await messenger.says("physio monday at 9")
    await messenger.says("Bo Hansen")
    await messenger.says("+1 555 000 0001")
    await whatsapp._replies()
    [declined] = await whatsapp.taps("No, not me")
    assert declined.text == "OK, nothing has changed."
    auth = {"Authorization": "Bearer api-token"}
    found = await (await jola.client.get("/api/v1/clients", headers=auth)).json()
    assert len(found["clients"]) == 2


async def test_no_question_goes_to_whatsapp_outside_its_window(jola: Jola) -> None:
    """WhatsApp allows no free text a day after the client last wrote: staff see a possible duplicate."""
    from tests.conftest import WhatsAppClient

    whatsapp = WhatsAppClient(jola, name="Anna Jensen")
    await whatsapp.says("hello")
    clock: SettableClock = jola.app[keys.CLOCK]
    clock.advance(hours=25)
    messenger = PageClient(jola, "messenger")
    await messenger.says("physio monday at 9")
    await messenger.says("Anna")
    [summary] = await messenger.says("+1 555 000 0001")
    assert summary.text.startswith("Shall I book this?")
    assert await whatsapp._replies() == []


async def test_a_messenger_conversation_logs_no_personal_data(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """Names and numbers typed on Messenger, a person taking over, a staff reply: none of it in the logs."""
    import logging

    caplog.set_level(logging.INFO)
    client = PageClient(jola, "messenger")
    await client.says("massage friday at 10")
    await client.says("Birgitte Nørgaard")
    await client.says("+45 20 30 40 50")
    await client.taps("Yes, book it")
    await jola.deliver(
        messenger_echo("Hej Birgitte, Sam here", app_id=263902037430900, timestamp=client.now_ms)
    )
    await jola.settle()
    conversation_id = (await conversation(jola, PSID)).id
    auth = {"Authorization": "Bearer api-token"}
    await jola.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "See you!"}, headers=auth
    )
    await jola.settle()

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "event=inbox.stored" in text and "event=conversation.taken_over" in text
    for secret in (
        PSID,
        "Birgitte",
        "Nørgaard",
        "20304050",
        "20 30 40 50",
        "Sam here",
        "See you",
        "massage friday",
    ):
        assert secret not in text


async def test_without_our_app_id_configured_an_early_echo_of_ours_does_not_hand_over(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """meta.app_id left empty, and the echo of our reply arrives before the send is recorded: it waits
    for the record instead of being taken for a person answering."""
    config = make_config(
        database, fake_graph.url, meta={"app_id": ""}, business={"hours": WEEKDAYS, "channels": CHANNELS}
    )
    clock = SettableClock(NOW)
    jola = await start_jola(config, fake_graph, clock=clock)
    try:
        pipeline = jola.app[keys.PIPELINE]
        stamp = int(NOW.timestamp() * 1000)
        gate = fake_graph.hold(PSID)  # our reply is on its way, not yet answered by the Graph API
        await jola.deliver(messenger_text("Hi", timestamp=stamp))
        await pipeline.dispatcher.wait_idle()
        await jola.deliver(
            messenger_echo("Hi, welcome", app_id=300000000000001, mid="m_FAKE000001", timestamp=stamp)
        )
        await pipeline.dispatcher.wait_idle()
        assert (await conversation(jola, PSID)).handled_by == "bot"

        gate.set()
        await jola.settle()
        for _ in range(3):
            clock.advance(seconds=20)
            await pipeline.dispatcher.run_once()
        await jola.settle()
        assert (await conversation(jola, PSID)).handled_by == "bot"
        assert [call.message_id for call in fake_graph.sent_to(PSID)] == ["m_FAKE000001"]
    finally:
        await jola.client.close()
