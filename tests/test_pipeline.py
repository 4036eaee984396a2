"""Inbox → dispatch → flow → outbox → sender: order, statuses, retries, give-ups, crash recovery."""

from __future__ import annotations

from sqlalchemy import select, update

from storage.models import Client, ClientIdentity, Conversation, Message, Outbox
from tests.conftest import Jola, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import (
    fixture_bytes,
    fresh_fixture,
    whatsapp_button,
    whatsapp_status,
    whatsapp_text,
)

CLIENT = "15550000001"


async def outbound(jola: Jola) -> list[Message]:
    async with jola.db.read() as session:
        rows = await session.execute(select(Message).where(Message.direction == "out").order_by(Message.id))
        return list(rows.scalars())


async def test_a_burst_of_50_messages_is_answered_in_order(jola: Jola) -> None:
    """Fifty messages to one conversation, stored faster than handled, get fifty replies in their order."""
    taps = [("svc:massage", "Massage") if i % 2 else ("svc:physio", "Physiotherapy") for i in range(49)]
    await jola.deliver(whatsapp_text("hi", wamid="wamid.BURST-00"))
    for index, (option_id, title) in enumerate(taps, start=1):
        await jola.deliver(whatsapp_button(option_id, title, wamid=f"wamid.BURST-{index:02d}"))
    await jola.settle()

    replies = jola.graph.sent_to(CLIENT)
    assert len(replies) == 50
    assert replies[0].text.startswith("Hi Test, welcome to Harbour Clinic!")
    assert [r.text.split(",")[0] for r in replies[1:]] == [title for _, title in taps]
    # Each reply answers the inbound message at the same position.
    async with jola.db.read() as session:
        inbound = dict((await session.execute(select(Message.id, Message.platform_message_id))).all())
    answered = [inbound[m.reply_to_id] for m in await outbound(jola)]
    assert answered == [f"wamid.BURST-{i:02d}" for i in range(50)]


async def test_two_clients_in_one_delivery_each_get_their_own_answer(jola: Jola) -> None:
    """A batch with two clients' messages is split by contact, not by position."""
    await jola.deliver(fresh_fixture("whatsapp_batch_two_messages"))
    await jola.settle()
    assert len(jola.graph.sent_to("15550000001")) == 1
    assert len(jola.graph.sent_to("15550000002")) == 1
    async with jola.db.read() as session:
        names = (await session.execute(select(Client.name).order_by(Client.name))).scalars().all()
    assert names == ["Test Customer One", "Test Customer Two"]


async def test_delivery_statuses_move_forward_only(jola: Jola) -> None:
    """sent → delivered → read; a late 'delivered' after 'read' changes nothing."""
    await WhatsAppClient(jola).says("hi")
    [reply] = await outbound(jola)
    assert (reply.status, reply.platform_message_id) == ("sent", "wamid.FAKE000001")

    await jola.deliver(whatsapp_status("wamid.FAKE000001", "delivered", timestamp=1793000100))
    await jola.deliver(whatsapp_status("wamid.FAKE000001", "read", timestamp=1793000200))
    await jola.deliver(whatsapp_status("wamid.FAKE000001", "delivered", timestamp=1793000300))
    await jola.deliver(whatsapp_status("wamid.UNKNOWN", "read"))
    await jola.settle()
    [reply] = await outbound(jola)
    assert reply.status == "read"


async def test_a_failed_status_is_stored_with_its_reason(jola: Jola) -> None:
    """Messages that never arrive must be noticed: the failure and its code land on the message."""
    await WhatsAppClient(jola).says("hi")
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    await jola.deliver(whatsapp_status("wamid.FAKE000001", "failed", errors=errors))
    await jola.settle()
    [reply] = await outbound(jola)
    assert (reply.status, reply.error_code, reply.error_title) == ("failed", 131047, "Re-engagement message")


async def test_transient_send_failures_are_retried_until_sent(jola: Jola) -> None:
    """5xx and throttling (130429) are retried with backoff; the reply still arrives once."""
    jola.graph.fail_next(1, status=500)
    jola.graph.fail_next(1, status=429, fixture="error_rate_limit")
    replies = await WhatsAppClient(jola).says("hi")
    assert len(replies) == 1
    assert len(jola.graph.calls) == 3
    async with jola.db.read() as session:
        row = (await session.execute(select(Outbox))).scalar_one()
    assert (row.state, row.attempts) == ("sent", 3)
    [reply] = await outbound(jola)
    assert reply.status == "sent"


async def test_a_permanent_failure_is_not_retried_and_its_reason_is_kept(jola: Jola) -> None:
    """131047 outside the window cannot pass by retrying: one call, reason stored for staff."""
    jola.graph.fail_next(1, status=400, fixture="error_whatsapp_131047")
    await WhatsAppClient(jola).says("hi")
    assert len(jola.graph.calls) == 1
    [reply] = await outbound(jola)
    assert reply.status == "failed"
    assert reply.error_code == 131047
    assert reply.error_title is not None and reply.error_title.startswith("OutsideWindow code=131047")


async def test_an_expired_token_fails_the_send_without_retrying(jola: Jola) -> None:
    """Error 190: the channel needs re-authorising; retrying only burns calls."""
    jola.graph.fail_next(1, status=401, fixture="error_token_expired")
    await WhatsAppClient(jola).says("hi")
    assert len(jola.graph.calls) == 1
    [reply] = await outbound(jola)
    assert (reply.status, reply.error_code) == ("failed", 190)


async def test_a_retried_reply_is_not_overtaken_by_the_next_one(jola: Jola) -> None:
    """While the first reply waits to be retried, the second of the same conversation waits too."""
    jola.graph.fail_next(1, status=503)
    await jola.deliver(whatsapp_text("hi"))
    await jola.deliver(whatsapp_button("svc:massage", "Massage"))
    await jola.settle()
    delivered = [call.text for call in jola.graph.sent_to(CLIENT)]
    assert len(delivered) == 2
    assert delivered[0].startswith("Hi Test")
    assert delivered[1].startswith("Massage, 60 min. When would you like to come?")


async def test_sends_give_up_after_the_configured_attempts(database, fake_graph: FakeGraph) -> None:  # type: ignore[no-untyped-def]
    """A platform that keeps failing: after max_attempts the reply is marked failed, not retried forever."""
    config = make_config(database, fake_graph.url, sender={"max_attempts": 3, "retry_base_seconds": 0.01})
    jola = await start_jola(config, fake_graph)
    try:
        fake_graph.fail_next(5, status=502)
        await WhatsAppClient(jola).says("hi")
        assert len(fake_graph.calls) == 3
        [reply] = await outbound(jola)
        assert reply.status == "failed"
        assert "gave up after 3 attempts" in (reply.error_title or "")
    finally:
        await jola.client.close()


async def test_deliveries_stored_before_a_crash_are_answered_at_the_next_start(database, fake_graph) -> None:  # type: ignore[no-untyped-def]
    """Acknowledged means kept: what was stored but not handled is handled when the process comes back."""
    config = make_config(database, fake_graph.url)
    first = await start_jola(config, fake_graph, workers=False)
    await first.deliver(whatsapp_text("hi", wa_id="15550000001", user_id=None))
    await first.deliver(whatsapp_text("hello", wa_id="15550000002", user_id=None))
    await first.client.close()
    assert fake_graph.calls == []

    second = await start_jola(config, fake_graph)
    try:
        await second.settle()
        assert len(fake_graph.sent_to("15550000001")) == 1
        assert len(fake_graph.sent_to("15550000002")) == 1
    finally:
        await second.client.close()


async def test_a_username_client_is_known_by_bsuid_and_later_linked_to_the_phone(jola: Jola) -> None:
    """2026 usernames: no phone at first; when the phone shows up it joins the same client record."""
    await jola.deliver(fresh_fixture("whatsapp_text_username_no_phone"))
    await jola.settle()
    [reply] = [c for c in jola.graph.calls if c.message_id]
    assert reply.body["to"] == "US.1000000000000000003"

    await jola.deliver(
        whatsapp_text(
            "it's me again", wa_id="15550000003", user_id="US.1000000000000000003", name="Test Customer Three"
        )
    )
    await jola.settle()
    async with jola.db.read() as session:
        identities = (await session.execute(select(ClientIdentity))).scalars().all()
        clients = (await session.execute(select(Client))).scalars().all()
    assert len(identities) == 1 and len(clients) == 1
    assert (identities[0].user_id, identities[0].phone) == ("US.1000000000000000003", "+15550000003")
    assert clients[0].phone == "+15550000003"


async def test_a_conversation_held_by_staff_is_logged_but_the_bot_stays_quiet(jola: Jola) -> None:
    """The bot never talks over a human who took the conversation."""
    client = WhatsAppClient(jola)
    await client.says("hi")
    async with jola.db.write() as session:
        await session.execute(update(Conversation).values(handled_by="staff"))
    assert await client.says("Massage") == []
    async with jola.db.read() as session:
        texts = (await session.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
    assert texts == ["hi", "Massage"]


async def test_reactions_are_logged_without_a_reply(jola: Jola) -> None:
    """A thumbs-up is not a question; answering it would be noise."""
    await jola.deliver(fixture_bytes("whatsapp_reaction"))
    await jola.settle()
    assert jola.graph.calls == []
    async with jola.db.read() as session:
        message = (await session.execute(select(Message))).scalar_one()
    assert message.type == "reaction"
    assert message.payload == {
        "reaction": {"to": "wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNA==", "emoji": "👍"}
    }


async def test_health_and_metrics(jola: Jola) -> None:
    """Operators can see the database answers and how many deliveries, replies and failures there were."""
    await WhatsAppClient(jola).says("hi")
    health = await jola.client.get("/healthz")
    assert health.status == 200
    assert await health.json() == {"status": "ok"}
    metrics = await (await jola.client.get("/metrics")).text()
    assert 'jola_webhook_deliveries_total{object="whatsapp_business_account",outcome="stored"} 1.0' in metrics
    assert 'jola_replies_sent_total{channel="whatsapp"} 1.0' in metrics
    assert "jola_dispatch_latency_seconds_bucket" in metrics
    assert "# TYPE jola_send_failures_total counter" in metrics


async def test_two_processes_on_one_database_keep_each_conversation_in_order(database, fake_graph) -> None:  # type: ignore[no-untyped-def]
    """Any process can take any delivery; a conversation's messages are still handled in arrival order."""
    config = make_config(database, fake_graph.url)
    first = await start_jola(config, fake_graph)
    second = await start_jola(config, fake_graph)
    try:
        clients = [f"155500001{n:02d}" for n in range(6)]
        for index in range(8):
            for number, wa_id in enumerate(clients):
                target = (first, second)[(index + number) % 2]
                body = (
                    whatsapp_text("hi", wa_id=wa_id, user_id=None)
                    if index == 0
                    else whatsapp_button(
                        "svc:massage" if index % 2 else "svc:physio", "x", wa_id=wa_id, user_id=None
                    )
                )
                await target.deliver(body)
        # Either process may send any reply: wait for all of them, then for both to be quiet.
        await fake_graph.wait_for_calls(len(clients) * 8)
        await first.settle()
        await second.settle()
        for wa_id in clients:
            texts = [call.text for call in fake_graph.sent_to(wa_id)]
            assert len(texts) == 8, wa_id
            assert texts[0].startswith("Hi Test")
            expected = ["Massage" if i % 2 else "Physiotherapy" for i in range(1, 8)]
            assert [t.split(",")[0] for t in texts[1:]] == expected
    finally:
        await first.client.close()
        await second.client.close()


async def test_a_status_that_beats_its_send_record_is_applied_once_the_id_is_known(
    database, fake_graph
) -> None:  # type: ignore[no-untyped-def]
    """Meta can report 'delivered' before we have stored the message id; the status waits, then lands."""
    from bot import keys
    from tests.conftest import SettableClock

    clock = SettableClock()
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph, clock=clock)
    try:
        await jola.deliver(whatsapp_status("wamid.FAKE000001", "delivered"))
        await jola.settle()
        await WhatsAppClient(jola).says("hi")
        [reply] = await outbound(jola)
        assert (reply.platform_message_id, reply.status) == ("wamid.FAKE000001", "sent")

        clock.advance(seconds=5)
        jola.app[keys.PIPELINE].dispatcher.wake()
        await jola.settle()
        [reply] = await outbound(jola)
        assert reply.status == "delivered"
    finally:
        await jola.client.close()


async def test_a_slow_conversation_does_not_hold_up_the_others(jola: Jola) -> None:
    """One client's send hanging on the platform must not make every other client wait."""
    gate = jola.graph.hold("15550000001")
    await jola.deliver(whatsapp_text("hi", wa_id="15550000001", user_id=None))
    await jola.deliver(whatsapp_text("hi", wa_id="15550000002", user_id=None))
    [other] = await jola.graph.wait_for_calls(1)
    assert other.body["to"] == "15550000002"
    await jola.deliver(whatsapp_button("svc:massage", "Massage", wa_id="15550000002", user_id=None))
    second = (await jola.graph.wait_for_calls(2))[1]
    assert second.body["to"] == "15550000002"
    assert jola.graph.sent_to("15550000001") == []
    gate.set()
    await jola.settle()
    assert len(jola.graph.sent_to("15550000001")) == 1


async def test_a_poisoned_event_fails_alone_and_the_rest_of_its_batch_is_answered(jola: Jola) -> None:
    """An event the handler cannot read is retried, then set aside; it never blocks other clients."""
    from datetime import UTC, datetime

    from storage.models import Channel, InboundEvent

    async with jola.db.read() as session:
        channel_id = (
            await session.execute(select(Channel.id).where(Channel.transport == "graph"))
        ).scalar_one()
    async with jola.db.inbox.write() as session:
        session.add(
            InboundEvent(
                provider_key="wa:msg:poison",
                business_id="harbour-clinic",
                channel_id=channel_id,
                conversation_key=f"{channel_id}:+15550009999",
                kind="message",
                payload={"not": "a message"},
                state="pending",
                attempts=0,
                received_at=datetime.now(UTC),
            )
        )
    await WhatsAppClient(jola).says("hi")
    async with jola.db.inbox.read() as session:
        poison = (
            await session.execute(select(InboundEvent).where(InboundEvent.provider_key == "wa:msg:poison"))
        ).scalar_one()
    assert (poison.state, poison.attempts, poison.error) == ("failed", 3, "KeyError")
    assert len(jola.graph.sent_to(CLIENT)) == 1


async def test_urgent_writers_go_ahead_of_the_queue() -> None:
    """Storing a delivery someone is waiting on jumps ahead of background writers waiting for SQLite."""
    import asyncio

    from storage.db import WriteGate

    gate, order = WriteGate(), []

    async def writer(name: str, urgent: bool) -> None:
        async with gate.hold(urgent):
            order.append(name)
            await asyncio.sleep(0)

    async with gate.hold():
        tasks = [asyncio.create_task(writer("dispatch", False)), asyncio.create_task(writer("sender", False))]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(writer("inbox", True)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["inbox", "dispatch", "sender"]


async def test_housekeeping_forgets_old_dedupe_keys_and_sent_outbox_rows(database, fake_graph) -> None:  # type: ignore[no-untyped-def]
    """Data is not kept forever: past Meta's retry horizon the dedupe key goes; once sent, the outbox copy."""
    from bot import keys
    from storage.models import HandledEvent, InboundEvent
    from tests.conftest import SettableClock

    clock = SettableClock()
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph, clock=clock)
    try:
        await WhatsAppClient(jola).says("hi")
        pipeline = jola.app[keys.PIPELINE]
        await pipeline.keep_house()
        async with jola.db.inbox.read() as inbox, jola.db.read() as session:
            assert len((await inbox.execute(select(InboundEvent))).all()) == 1
            assert len((await session.execute(select(Outbox))).all()) == 1

        clock.advance(days=2)
        await pipeline.keep_house()
        async with jola.db.inbox.read() as inbox, jola.db.read() as session:
            assert len((await inbox.execute(select(InboundEvent))).all()) == 1
            assert (await session.execute(select(Outbox))).all() == []
        clock.advance(days=7)
        await pipeline.keep_house()
        async with jola.db.inbox.read() as inbox, jola.db.read() as session:
            assert (await inbox.execute(select(InboundEvent))).all() == []
            assert (await session.execute(select(HandledEvent))).all() == []
            [message] = await outbound(jola)
        assert message.status == "sent"
    finally:
        await jola.client.close()


async def test_a_name_change_in_the_middle_of_a_batch_keeps_the_conversation_state(jola: Jola) -> None:
    """Two messages handled together, the second with a new profile name: the first's progress is kept."""
    await jola.deliver(whatsapp_text("hi"))
    await jola.settle()
    from bot import keys

    dispatcher = jola.app[keys.PIPELINE].dispatcher
    await dispatcher.stop()
    await jola.deliver(whatsapp_button("svc:massage", "Massage"))
    await jola.deliver(whatsapp_text("thanks", name="Test Customer Renamed"))
    assert await dispatcher.run_once() == 2
    async with jola.db.read() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
        identity = (await session.execute(select(ClientIdentity))).scalar_one()
    assert conversation.state == "choosing_time"
    assert conversation.slots["service"] == "massage"
    assert identity.display_name == "Test Customer Renamed"


async def test_no_free_text_goes_out_after_the_24_hour_window(database, fake_graph: FakeGraph) -> None:  # type: ignore[no-untyped-def]
    """A message that reaches us a day late (Meta retried it) gets no free-text answer: the send is refused
    and the reason is kept on the message for staff to see."""
    from datetime import UTC, datetime

    from tests.conftest import SettableClock

    clock = SettableClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    jola = await start_jola(make_config(database, fake_graph.url), fake_graph, clock=clock)
    try:
        written = int(datetime(2026, 11, 24, 11, 0, tzinfo=UTC).timestamp())  # 25 hours earlier
        await jola.deliver(whatsapp_text("hello", timestamp=written))
        await jola.settle()
        assert fake_graph.sent_to(CLIENT) == []
        [reply] = await outbound(jola)
        assert reply.status == "failed"
        assert reply.error_title is not None and reply.error_title.startswith("OutsideWindow")

        clock.advance(minutes=1)
        await jola.deliver(whatsapp_text("still there?", timestamp=int(clock.now().timestamp())))
        await jola.settle()
        assert len(fake_graph.sent_to(CLIENT)) == 1  # a fresh message opens the window again
    finally:
        await jola.client.close()


async def test_an_event_handled_just_before_a_crash_is_not_handled_again(
    tmp_path, fake_graph: FakeGraph
) -> None:  # type: ignore[no-untyped-def]
    """On SQLite the inbox has a file of its own, marked done just after the handling commits. A crash in
    between leaves the row pending; at the next start it is recognised as handled: no second reply."""
    from bot import keys
    from storage.models import InboundEvent
    from tests.conftest import DatabaseTarget

    config = make_config(DatabaseTarget(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}"), fake_graph.url)
    jola = await start_jola(config, fake_graph)
    try:
        assert jola.db.split_inbox and (tmp_path / "jola-inbox.db").exists()
        pipeline = jola.app[keys.PIPELINE]
        await pipeline.dispatcher.stop()
        await jola.deliver(whatsapp_text("hi"))
        async with jola.db.inbox.read() as inbox:
            stored = (await inbox.execute(select(InboundEvent.payload))).scalar_one()
        assert await pipeline.dispatcher.run_once() == 1
        await fake_graph.wait_for_calls(1)
        assert len(fake_graph.sent_to(CLIENT)) == 1
        async with jola.db.inbox.write() as inbox:  # the crash: the "done" mark never happened
            await inbox.execute(update(InboundEvent).values(state="pending", payload=stored))
    finally:
        await jola.client.close()

    again = await start_jola(config, fake_graph)
    try:
        await again.settle()
        async with again.db.inbox.read() as inbox:
            assert (await inbox.execute(select(InboundEvent.state))).scalars().all() == ["done"]
        assert len(fake_graph.sent_to(CLIENT)) == 1
    finally:
        await again.client.close()


async def test_deliveries_stored_by_an_older_release_move_to_the_inbox_file(
    tmp_path, fake_graph: FakeGraph
) -> None:  # type: ignore[no-untyped-def]
    """Before the inbox had a file of its own it lived in the main one: a pending delivery there is
    moved at start and answered, none lost."""
    from datetime import UTC, datetime

    from bot import keys
    from storage.db import Database
    from storage.migrate import _upgrade
    from storage.models import InboundEvent
    from tests.conftest import DatabaseTarget

    url = f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}"
    config = make_config(DatabaseTarget(url), fake_graph.url)
    first = await start_jola(config, fake_graph)  # creates the schema and the channel rows
    channel_id = next(iter(first.app[keys.DIRECTORY])).id
    await first.client.close()
    old = Database(url, _inbox_of=True)  # the main file alone, as an older release used it
    await _upgrade(old)
    message = {
        "channel": "whatsapp",
        "channel_id": channel_id,
        "business_id": "harbour-clinic",
        "platform_id": "wamid.OLD",
        "sender": {"user_id": None, "phone": "+15550000001", "name": "Test", "username": None},
        "timestamp": datetime.now(UTC).isoformat(),
        "type": "text",
        "text": "hello from before",
    }
    async with old.write() as session:
        session.add(
            InboundEvent(
                provider_key="wa:msg:wamid.OLD",
                business_id="harbour-clinic",
                channel_id=channel_id,
                conversation_key=f"{channel_id}:+15550000001",
                kind="message",
                payload=message,
                state="pending",
                attempts=0,
                received_at=datetime.now(UTC),
            )
        )
    await old.dispose()

    again = await start_jola(config, fake_graph)
    try:
        await again.settle()
        assert len(fake_graph.sent_to(CLIENT)) == 1
        async with again.db.read() as main, again.db.inbox.read() as inbox:
            assert (await main.execute(select(InboundEvent))).all() == []
            assert (await inbox.execute(select(InboundEvent.provider_key))).scalars().all() == [
                "wa:msg:wamid.OLD"
            ]
    finally:
        await again.client.close()
