"""The calendar in the staff app: a day with a column per practitioner, a week, booking for a client,
moving and cancelling by hand, and the client told on their channel when Meta's window allows (issue 15).

The clinic is open weekdays 08:00-12:00 and 13:00-17:00, with Mia (massage) and Jonas (physiotherapy); it is
Wednesday 25 November 2026, 09:00 in Copenhagen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient
from tests.support.clinic import appointments, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SERVICES = [
    {"id": "massage", "name": "Massage", "duration_minutes": 60},
    {"id": "physio", "name": "Physiotherapy", "duration_minutes": 30},
]
PEOPLE = [
    {"id": "mia", "name": "Mia Holm", "services": ["massage"]},
    {"id": "jonas", "name": "Jonas Berg", "services": ["physio"]},
]


@pytest.fixture
async def running(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> AsyncIterator[tuple[Jola, SettableClock]]:
    async with clinic(database, fake_graph, services=SERVICES, practitioners=PEOPLE) as (jola, clock):
        await add_account(jola)
        yield jola, clock


@pytest.fixture
async def jola(running: tuple[Jola, SettableClock]) -> Jola:
    return running[0]


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


def booking(**fields: str) -> dict[str, str]:
    return {"service": "massage", "date": "2026-11-27", "time": "10:00", "practitioner": "", **fields}


async def test_the_day_has_a_column_per_practitioner(jola: Jola, rita: StaffBrowser) -> None:
    client = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await client.says("massage friday at 10")
    await client.taps("Yes, book it")
    day = await rita.get("/calendar?date=2026-11-27")
    assert '<span role="columnheader">Mia Holm</span><span role="columnheader">Jonas Berg</span>' in day.text
    block = re.search(
        r'<a class="block at-(\d+) len-(\d+) col-(\d+)[^"]*" href="/appointments/\d+">', day.text
    )
    assert block and block.groups() == ("9", "4", "2")  # 10:00 is the 9th quarter after 08:00; Mia's column
    assert "Anna Jensen" in day
    week = await rita.get("/calendar?view=week&date=2026-11-27")
    assert "Monday 23 November" in week and "Sunday 29 November" in week and "10:00</strong> Massage" in week


async def test_staff_book_for_a_new_client_who_cannot_be_told(jola: Jola, rita: StaffBrowser) -> None:
    await rita.get("/calendar/new?date=2026-11-27&practitioner=mia")
    page = await rita.post("/appointments", booking(name="Bo Berg", phone="+45 22 33 44 55"))
    assert re.fullmatch(r"/appointments/\d+\?done=booked&told=no_conversation", page.url)
    assert "Booked. The client was not told: they have not written to us on any channel." in page
    assert "Friday 27 November at 10:00 – 11:00" in page and "Mia Holm" in page
    [made] = await appointments(jola)
    assert (made.client_name, made.client_phone, made.practitioner_key) == ("Bo Berg", "+4522334455", "mia")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"service": ""}, "Choose a service."),
        ({"service": "yoga"}, "Choose a service."),
        ({"date": "27/11"}, "Give a date and a time, like 2026-12-07 and 10:00."),
        ({"time": "25:00"}, "Give a date and a time, like 2026-12-07 and 10:00."),
        ({"date": "9999-12-31"}, "Give a date and a time, like 2026-12-07 and 10:00."),
        ({"time": "10:00+01:00"}, "Give a date and a time, like 2026-12-07 and 10:00."),
        ({"name": "", "phone": ""}, "Give the client&#39;s name or phone number."),
        ({"phone": "call me"}, "Write the phone number with its country code, like +45 12 34 56 78."),
        ({"practitioner": "jonas"}, "That practitioner does not do this service."),  # Jonas does not massage
    ],
)
async def test_a_bad_booking_form_comes_back_with_the_reason(
    rita: StaffBrowser, fields: dict[str, str], error: str
) -> None:
    await rita.get("/calendar/new")
    page = await rita.post("/appointments", booking(**{"name": "Bo Berg", **fields}))
    assert page.status == 400 and error in page, page.text[:2000]


async def test_a_taken_time_is_refused_and_two_at_once_give_one_booking(
    jola: Jola, rita: StaffBrowser
) -> None:
    await rita.get("/calendar/new")
    first, second = await asyncio.gather(
        rita.post("/appointments", booking(name="Bo Berg")),
        rita.post("/appointments", booking(name="Carl Dam")),
    )
    assert sorted([first.status, second.status]) == [200, 409]
    refused = first if first.status == 409 else second
    assert "That time is taken." in refused and 'value="10:00"' in refused  # the form stays filled in
    assert len(await appointments(jola)) == 1


async def test_moving_and_cancelling_tell_a_client_who_wrote_today(jola: Jola, rita: StaffBrowser) -> None:
    client = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await client.says("massage friday at 10")
    await client.taps("Yes, book it")
    [booked] = await appointments(jola)
    await rita.get(f"/appointments/{booked.id}")
    moved = await rita.post(
        f"/appointments/{booked.id}/move", {"date": "2026-11-27", "time": "14:00", "practitioner": "mia"}
    )
    assert moved.url == f"/appointments/{booked.id}?done=moved&told=told"
    assert "Moved. The client has been told on their channel." in moved
    await jola.settle()
    assert (
        jola.graph.sent_to("4511111111")[-1].text
        == "Done: your Massage with Mia Holm is now Friday 27 November at 14:00."
    )
    cancelled = await rita.post(f"/appointments/{booked.id}/cancel")
    assert "Cancelled. The client has been told on their channel." in cancelled
    await jola.settle()
    assert jola.graph.sent_to("4511111111")[-1].text == (
        "Your Massage with Mia Holm, Friday 27 November at 14:00, is cancelled."
    )
    assert "Anna Jensen" not in await rita.get("/calendar?date=2026-11-27")
    again = await rita.post(f"/appointments/{booked.id}/cancel")
    assert again.status == 404 or "Cancel the appointment" not in again.text  # nothing left to cancel


async def test_a_closed_window_is_said_to_staff(
    jola: Jola, rita: StaffBrowser, running: tuple[Jola, SettableClock]
) -> None:
    client = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await client.says("massage next monday at 10")
    await client.taps("Yes, book it")
    running[1].advance(days=2)
    [booked] = await appointments(jola)
    await rita.get(f"/appointments/{booked.id}")
    moved = await rita.post(
        f"/appointments/{booked.id}/move", {"date": "2026-11-30", "time": "11:00", "practitioner": ""}
    )
    assert (
        "Moved. The client was not told: the window for messages on Meta is closed. Call or email them."
        in moved
    )


async def test_a_move_onto_a_taken_time_is_refused(jola: Jola, rita: StaffBrowser) -> None:
    await rita.get("/calendar/new")
    await rita.post("/appointments", booking(name="Bo Berg"))
    await rita.get("/calendar/new")
    second = await rita.post("/appointments", booking(name="Carl Dam", time="13:00"))
    carl = second.url.split("/appointments/")[1].split("?")[0]
    refused = await rita.post(
        f"/appointments/{carl}/move", {"date": "2026-11-27", "time": "10:30", "practitioner": ""}
    )
    assert refused.status == 409 and "That time is taken." in refused


async def test_a_staff_member_sees_their_own_column_first(jola: Jola) -> None:
    await add_account(jola, "jonas@harbour.example", name="Jonas Berg")
    jonas = StaffBrowser(jola)
    await jonas.log_in("jonas@harbour.example")
    await jonas.get("/account")
    await jonas.post("/account/calendar", {"practitioner": "jonas"})
    day = await jonas.get("/calendar?date=2026-11-27")
    assert '<span role="columnheader">Jonas Berg</span>' in day and "Mia Holm</span>" not in day
    assert '<span role="columnheader">Mia Holm</span>' in await jonas.get("/calendar?date=2026-11-27&who=all")
    await jonas.close()


@pytest.mark.parametrize("path", ["/appointments/999999", "/appointments/x"])
async def test_unknown_appointments_are_404(rita: StaffBrowser, path: str) -> None:
    assert (await rita.get(path)).status == 404


async def test_a_second_click_on_book_books_once(jola: Jola, rita: StaffBrowser) -> None:
    """With "whoever is free", a resend could have booked a second practitioner for the same client."""
    await add_account(jola, "x@harbour.example")
    await rita.get("/calendar/new")
    first = await rita.post("/appointments", booking(name="Bo Berg", phone="+4522334455", service="massage"))
    assert first.status == 200
    await rita.get("/calendar/new")
    again = await rita.post("/appointments", booking(name="Bo Berg", phone="+4522334455", service="physio"))
    assert again.status == 409 and "The client already has an appointment then." in again
    assert len(await appointments(jola)) == 1
