"""A client whose processing is restricted (GDPR art. 18, issue 18): their messages are still kept and
shown to staff, flagged with the reason, but the bot answers nothing and no reminder, notice or email goes
out; lifting the restriction returns the bot to normal. The clinic's clock stands at Wednesday 25 November
2026, 09:00 in Copenhagen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import keys
from bot.reminders import RESTRICTED
from storage.clients import set_email
from storage.models import AuditEvent, Client, Conversation, Email, Reminder
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import booked_client, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
ZONE = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h"]}) as (running, _):
        await add_account(running)  # Rita Reception, staff
        yield running


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


async def client_id_of(jola: Jola, name: str) -> int:
    async with jola.db.read() as session:
        return int((await session.execute(select(Client.id).where(Client.name == name))).scalar_one())


async def conversation_of(jola: Jola, client_id: int) -> Conversation:
    async with jola.db.read() as session:
        return (
            await session.execute(select(Conversation).where(Conversation.client_id == client_id))
        ).scalar_one()


async def test_a_restricted_client_is_heard_by_staff_but_not_answered_until_it_is_lifted(
    jola: Jola, rita: StaffBrowser
) -> None:
    anna = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    assert await anna.says("hi")  # the bot greets her, as any client
    client_id = await client_id_of(jola, "Anna Jensen")
    await rita.get(f"/clients/{client_id}")
    await rita.post(f"/clients/{client_id}/restrict", {"restricted_reason": "accuracy_contested"})

    assert await anna.says("massage tomorrow at 10") == []  # stored, shown, not answered
    assert await anna.says("hello?") == []
    conversation = await conversation_of(jola, client_id)
    assert conversation.needs_staff and conversation.handled_by == "bot"
    inbox = await rita.get("/inbox?show=needs_staff")
    assert "Anna Jensen" in inbox and "Restricted: The client contests the data&#39;s accuracy" in inbox
    page = await rita.get(f"/conversations/{conversation.id}")
    assert "massage tomorrow at 10" in page and "hello?" in page
    assert "Processing restricted" in page and "The bot does not answer this client" in page

    await rita.get(f"/clients/{client_id}")
    await rita.post(f"/clients/{client_id}/unrestrict")
    [summary] = await anna.says("massage tomorrow at 10")  # the bot is back, from where it was
    assert "Massage" in summary.text and "10:00" in summary.text
    assert "Restricted" not in await rita.get("/inbox")
    async with jola.db.read() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.index("client.restricted") < actions.index("client.unrestricted")


async def test_no_reminder_notice_or_email_goes_to_a_restricted_client(
    jola: Jola, rita: StaffBrowser
) -> None:
    anna = await booked_client(
        jola, "massage tomorrow at 10", wa_id="4511111111", name="Anna Jensen", user_id=None
    )
    client_id = await client_id_of(jola, "Anna Jensen")
    async with jola.db.write() as session:
        await set_email(
            session, "harbour-clinic", client_id, "anna@example.org", True, jola.app[keys.CLOCK].now()
        )
    await rita.get(f"/clients/{client_id}")
    await rita.post(f"/clients/{client_id}/restrict", {"restricted_reason": "client_asked"})

    # The reminder falls due: skipped, with the reason staff read, and nothing sent.
    jola.app[keys.CLOCK].current = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE).astimezone(UTC)  # type: ignore[attr-defined]
    assert await jola.app[keys.PIPELINE].reminders.run_due() == 1
    await jola.settle()
    assert jola.graph.sent_to(anna.wa_id)[anna.seen :] == []
    async with jola.db.read() as session:
        [reminder] = list(await session.scalars(select(Reminder)))
    assert (reminder.state, reminder.reason) == ("skipped", RESTRICTED)

    # Staff book her another time through the API: booked, but she is not told, by message or email.
    emails_before = await _emails(jola)
    booked = await jola.client.post(
        "/api/v1/appointments",
        json={"service": "physio", "start": "2026-11-27T13:00:00+01:00", "client": {"phone": "+4511111111"}},
        headers=TOKEN,
    )
    assert booked.status == 201 and (await booked.json())["client_told"] == "restricted"
    await jola.settle()
    assert jola.graph.sent_to(anna.wa_id)[anna.seen :] == []
    assert await _emails(jola) == emails_before


async def _emails(jola: Jola) -> int:
    async with jola.db.read() as session:
        return len(list(await session.scalars(select(Email.id))))
