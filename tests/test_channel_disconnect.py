"""Meta's deauthorize callback disconnects a channel: nothing is sent there (replies, staff messages,
reminders), a restart keeps it off, staff see why, and the owner turns it back on once the app is
reconnected at Meta."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import keys
from storage.models import Channel, Message, Reminder
from tests.conftest import DatabaseTarget, Jola, start_jola
from tests.support.clinic import booked_client, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import PHONE_NUMBER_ID
from tests.support.staff import StaffBrowser, add_account
from tests.test_privacy import deletion, signed_request


async def meta_removes_the_app(jola: Jola) -> None:
    said = await jola.client.post(
        "/meta/deauthorize",
        data={"signed_request": signed_request(deletion("42", profile_id=PHONE_NUMBER_ID))},
    )
    assert (await said.json())["channels_disconnected"] == 1


async def last_reply(jola: Jola) -> Message:
    async with jola.db.read() as session:
        found = await session.scalars(
            select(Message).where(Message.direction == "out").order_by(Message.id.desc()).limit(1)
        )
        return found.one()


async def test_a_disconnected_channel_sends_nothing_until_the_owner_turns_it_back_on(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["2h"]}) as (jola, clock):
        client = await booked_client(jola, "massage tomorrow at 10")
        await meta_removes_the_app(jola)

        # A message Meta still delivers gets no reply out: the reply fails, with the reason for staff.
        assert await client.says("hello?") == []
        reply = await last_reply(jola)
        assert reply.status == "failed" and "Meta disconnected this channel" in (reply.error_title or "")

        # The reminder finds no way to the client and says why.
        async with jola.db.read() as session:
            due_at = await session.scalar(select(Reminder.due_at))
        assert due_at is not None
        clock.current = due_at
        await jola.app[keys.PIPELINE].reminders.run_due()
        async with jola.db.read() as session:
            reminder = (await session.scalars(select(Reminder))).one()
        assert (reminder.state, reminder.reason) == (
            "skipped",
            "Meta disconnected the business's WhatsApp (the app was removed there)",
        )

        # Staff see it on the overview; only the owner may turn it back on.
        await add_account(jola)
        await add_account(jola, "olivia@harbour.example", name="Olivia Owner", role="owner")
        rita = StaffBrowser(jola)
        await rita.log_in()
        overview = await rita.get("/")
        assert "Channels Meta disconnected" in overview and PHONE_NUMBER_ID in overview
        assert "Turn back on" not in overview
        async with jola.db.read() as session:
            channel_id = await session.scalar(
                select(Channel.id).where(Channel.external_id == PHONE_NUMBER_ID)
            )
        assert (await rita.post(f"/channels/{channel_id}/turn-on")).status == 403
        await rita.close()

        # A restart (a second process on the same database) does not reconnect it.
        again = await start_jola(jola.app[keys.CONFIG], fake_graph, clock=clock)
        try:
            async with again.db.read() as session:
                assert await session.scalar(select(Channel.active).where(Channel.id == channel_id)) is False
        finally:
            await again.client.close()

        olivia = StaffBrowser(jola)
        await olivia.log_in("olivia@harbour.example")
        overview = await olivia.get("/")
        assert "Turn back on" in overview
        turned = await olivia.post(f"/channels/{channel_id}/turn-on")
        assert turned.status == 200 and "Channels Meta disconnected" not in turned
        assert (await olivia.post(f"/channels/{channel_id}/turn-on")).status == 404
        await olivia.close()

        clock.current += timedelta(minutes=1)
        [answer] = await client.says("hello again")
        assert answer.text
