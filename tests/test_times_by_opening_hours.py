"""A time or day that reads two ways is settled by when the business is open, or asked about; windows of
the day ("before work", "lunchtime", "efter arbejde") offer the free times in them (issue 14).

The studio is open weekdays 08:00-21:00, Saturdays 07:00-13:00 and Sundays 12:00-22:00 and books a year
ahead; it is Wednesday 25 November 2026, 09:00 in Copenhagen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import appointments, clinic
from tests.support.fake_graph import FakeGraph

HOURS = {day: ["08:00-21:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": ["07:00-13:00"],
    "sun": ["12:00-22:00"],
}


@pytest.fixture
async def studio(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, booking={"max_ahead": "365d"}, hours=HOURS) as (running, _):
        yield running


@pytest.fixture
async def harbour(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    """Open weekdays 08:00-12:00 and 13:00-17:00."""
    async with clinic(database, fake_graph) as (running, _):
        yield running


def body(text: str) -> str:
    """A reply without the welcome line a first message gets."""
    first, _, rest = text.partition("\n")
    return rest if "welcome to" in first or "velkommen til" in first else text


def summary_time(text: str) -> str:
    """The line under the service in "Shall I book this?"."""
    lines = text.split("\n")
    return lines[lines.index("Massage (60 min)") + 1]


# ------------------------------------------------------------------------------- bare hours


@pytest.mark.parametrize(
    ("said", "booked"),
    [
        ("massage saturday at 7", "Saturday 28 November at 07:00"),  # 19:00 is closed on Saturdays
        ("massage sunday at 9", "Sunday 29 November at 21:00"),  # 09:00 is closed on Sundays
        ("massage friday at 4", "Friday 27 November at 16:00"),  # 04:00 is closed
        ("massage friday at 8pm", "Friday 27 November at 20:00"),  # said: nothing to settle
        ("massage friday at 8 in the morning", "Friday 27 November at 08:00"),
    ],
)
async def test_a_bare_hour_is_the_one_the_studio_is_open_for(studio: Jola, said: str, booked: str) -> None:
    [summary] = await WhatsAppClient(studio, name="Anna Jensen").says(said)
    assert summary_time(summary.text) == booked, summary.text


async def test_a_bare_hour_open_both_ways_is_asked_about(studio: Jola) -> None:
    client = WhatsAppClient(studio, name="Anna Jensen")
    [which] = await client.says("massage friday at 8")
    assert body(which.text) == "Do you mean 08:00 or 20:00 on Friday 27 November?"
    assert which.options == ["Fri 27 Nov 08:00", "Fri 27 Nov 20:00"]
    [again] = await client.says("yes")  # not an answer to "which?"
    assert body(again.text).startswith(
        "Which time would you like? Tap one of them below.\nDo you mean 08:00 or"
    )
    [summary] = await client.says("20:00")  # Friday still stands
    assert summary_time(summary.text) == "Friday 27 November at 20:00"
    await client.taps("Yes, book it")
    [appointment] = await appointments(studio)
    assert appointment.start.isoformat() == "2026-11-27T19:00:00+00:00"


async def test_tapping_a_reading_books_it(studio: Jola) -> None:
    client = WhatsAppClient(studio, name="Anna Jensen")
    await client.says("can I get a massage at half past 8 on monday?")
    [summary] = await client.taps("Mon 30 Nov 08:30")
    assert summary_time(summary.text) == "Monday 30 November at 08:30"


async def test_danish_bare_hour(studio: Jola) -> None:
    client = WhatsAppClient(studio, name="Mette Hansen")
    [summary] = await client.says("massage søndag kl 9")
    assert summary_time(summary.text) == "søndag den 29. november kl. 21.00"
    [which] = await WhatsAppClient(studio, name="Bo", wa_id="4512345678").says("massage fredag kl 8")
    assert body(which.text) == "Mener du 08.00 eller 20.00 fredag den 27. november?"


async def test_closed_both_ways_keeps_the_usual_reading(harbour: Jola) -> None:
    [reply] = await WhatsAppClient(harbour, name="Anna Jensen").says("massage friday at 7")
    assert body(reply.text).startswith("Sorry, we're closed Friday 27 November at 19:00."), reply.text


# ------------------------------------------------------------------------------- a date or a time


async def test_a_date_or_a_time_is_asked_about_when_both_are_open(studio: Jola) -> None:
    client = WhatsAppClient(studio, name="Anna Jensen")
    [which] = await client.says("massage 14.05")
    assert body(which.text) == "Do you mean today, Wednesday 25 November, at 14:05 or Friday 14 May 2027?"
    assert which.options == ["Today 14:05", "Fri 14 May 2027"]
    [day] = await client.taps("Fri 14 May 2027")
    assert body(day.text).startswith("Free times Friday 14 May 2027."), day.text


async def test_a_date_beyond_the_horizon_leaves_the_time(harbour: Jola) -> None:
    """14 May is further ahead than the clinic books: 14:05 is meant, and is said not to be a start."""
    [reply] = await WhatsAppClient(harbour, name="Anna Jensen").says("massage 14.05")
    assert "today, Wednesday 25 November, at 14:05 doesn't work" in reply.text, reply.text


# ------------------------------------------------------------------------------- windows of the day


@pytest.mark.parametrize(
    ("said", "heading", "first"),
    [
        ("massage friday before work", "Free times Friday 27 November early in the morning.", "08:00"),
        ("massage friday lunchtime", "Free times Friday 27 November around lunchtime.", "11:00"),
        ("massage monday late morning", "Free times Monday 30 November late in the morning.", "10:00"),
        ("massage friday after work", "Free times Friday 27 November after work.", "16:00"),
        ("massage as early as you can on friday", "Free times Friday 27 November.", "08:00"),
        ("massage fredag middag", "Ledige tider fredag den 27. november omkring frokosttid.", "11.00"),
        ("massage fredag efter arbejde", "Ledige tider fredag den 27. november efter arbejdstid.", "16.00"),
    ],
)
async def test_a_window_of_the_day_offers_its_free_times(
    studio: Jola, said: str, heading: str, first: str
) -> None:
    [offer] = await WhatsAppClient(studio, name="Anna Jensen").says(said)
    assert body(offer.text).startswith(heading), offer.text
    assert offer.options[0].endswith(first)


async def test_as_early_as_you_can_offers_the_first_starts(studio: Jola) -> None:
    [offer] = await WhatsAppClient(studio, name="Anna Jensen").says("massage as early as you can on friday")
    assert offer.options == [f"Fri 27 Nov 08:{m}" for m in ("00", "15", "30", "45")]


async def test_middag_alone_is_lunchtime_not_a_day(harbour: Jola) -> None:
    [offer] = await WhatsAppClient(harbour, name="Mette Hansen").says("kan jeg få en massage ved middagstid?")
    assert body(offer.text).startswith("Her er de første ledige tider omkring frokosttid."), offer.text


async def test_a_day_already_passed_is_said_to_have_passed(harbour: Jola) -> None:
    [offer] = await WhatsAppClient(harbour, name="Anna Jensen").says("massage 28/10")
    assert body(offer.text).startswith(
        "Wednesday 28 October has already passed. The nearest free times are below."
    )


# ------------------------------------------------------------------------------- services and corrections


async def test_massasje_is_massage(harbour: Jola) -> None:
    [summary] = await WhatsAppClient(harbour, name="Anna Jensen").says("massasje friday at 10")
    assert body(summary.text).startswith("Shall I book this?\nMassage (60 min)\nFriday 27 November at 10:00")


async def test_hellere_om_fredagen_moves_the_booking_to_friday(harbour: Jola) -> None:
    client = WhatsAppClient(harbour, name="Mette Hansen")
    await client.says("massage torsdag kl 10")
    [summary] = await client.says("hellere om fredagen")
    assert body(summary.text).startswith(
        "Ændret til fredag den 27. november kl. 10.00. Skal jeg booke dette?"
    )


async def test_a_day_beyond_the_horizon_offers_the_last_free_times(harbour: Jola) -> None:
    """ "4. okt" said in November is next October: further ahead than the clinic books (60 days)."""
    [offer] = await WhatsAppClient(harbour, name="Anna Jensen").says("massage 4. okt")
    assert body(offer.text) == (
        "Monday 4 October 2027 is further ahead than we book. The last free times are below."
    )
    assert offer.options == ["Mon 18 Jan 08:00", "Mon 18 Jan 08:15", "Mon 18 Jan 08:30"]
