"""Questions beside booking: opening hours and prices from the business's own data, the business's FAQ
answers by keyword (typos, plurals, both languages), and a question mid-booking answered with the booking
going on where it was (issue 16, built-in answers and FAQ).

The clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00 there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flows.context import FaqInfo
from flows.understanding.questions import read_question
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph

FAQ = [
    {"keywords": ["parking", "parkering"], "answer": "Free parking behind {{ business.name }}."},
    {"keywords": ["cancellation policy", "afbud"], "answer": "Cancel at least 24 hours ahead."},
]
SERVICES = [
    {"id": "massage", "name": "Massage", "duration_minutes": 60, "price": 650},
    {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45, "price": 595.5},
]


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    hours = {d: ["08:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
        "sat": ["10:00-14:00"]
    }
    async with clinic(database, fake_graph, faq=FAQ, services=SERVICES, hours=hours) as (running, _):
        yield running


def body(text: str) -> str:
    first, _, rest = text.partition("\n")
    return rest if "welcome to" in first or "velkommen til" in first else text


async def test_opening_hours_from_the_business_data(jola: Jola) -> None:
    [answer] = await WhatsAppClient(jola, name="Anna Jensen").says("What are your opening hours?")
    assert body(answer.text) == (
        "Our opening hours: Monday–Friday 08:00–12:00 and 13:00–17:00, Saturday 10:00–14:00. Closed Sunday."
    )
    assert answer.options == ["Book an appointment"]


async def test_danish_opening_hours(jola: Jola) -> None:
    [answer] = await WhatsAppClient(jola, name="Mette Hansen").says("Hej, hvornår har I åbent?")
    assert body(answer.text) == (
        "Vores åbningstider: mandag–fredag kl. 08.00–12.00 og 13.00–17.00, lørdag kl. 10.00–14.00. "
        "Lukket søndag."
    )


async def test_prices_of_what_was_asked_about(jola: Jola) -> None:
    [answer] = await WhatsAppClient(jola, name="Mette Hansen").says("Hvad koster en massage?")
    assert body(answer.text) == "Vores priser:\nMassage (60 min): 650 kr."
    [every] = await WhatsAppClient(jola, wa_id="15550000002", name="Bo").says("what are your prices?")
    assert body(every.text) == "Our prices:\nMassage (60 min): 650 DKK\nPhysiotherapy (45 min): 595.50 DKK"


async def test_the_business_answers_by_keyword(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    [answer] = await client.says("Hi! is there parkinng near you??")
    assert body(answer.text) == "Free parking behind Harbour Clinic."
    assert answer.options == ["Book an appointment"]
    [then] = await client.taps("Book an appointment")
    assert then.text.startswith("What would you like to book?")


async def test_a_question_mid_booking_and_the_booking_goes_on(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    [times] = await client.says("massage friday")
    assert body(times.text).startswith("Free times Friday 27 November.")
    answer, again = await client.says("Er der parkering?")
    assert answer.text == "Free parking behind Harbour Clinic."
    assert again.text.startswith("Back to where we were:\nFree times Friday 27 November.")
    assert again.options == times.options
    for _ in range(3):  # questions are not "not understood": no menu, no hand-over
        assert (await client.says("and the cancellation policy?"))[
            0
        ].text == "Cancel at least 24 hours ahead."
    [summary] = await client.taps("Fri 27 Nov 10:00")
    assert summary.text.startswith("Shall I book this?\nMassage (60 min)\nFriday 27 November at 10:00")


async def test_a_booking_and_a_question_in_one_message(jola: Jola) -> None:
    [summary] = await WhatsAppClient(jola, name="Anna Jensen").says("massage friday at 10, is there parking?")
    assert body(summary.text).startswith("Free parking behind Harbour Clinic.\nShall I book this?")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("is there parking?", "faq"),
        ("Er der parkeringspladser?", "faq"),
        ("parkeringen", "faq"),
        ("PARKING!!", "faq"),
        ("what's your cancellation policy", "faq"),
        ("afbud", "faq"),
        ("when are you open?", "hours"),
        ("are you open on saturday", "hours"),
        ("Hvad er jeres åbningstider", "hours"),
        ("aabningstider", "hours"),
        ("how much is a massage", "prices"),
        ("hvad koster det", "prices"),
        ("priser?", "prices"),
        ("massage friday at 10", None),
        ("I want to park myself on the sofa", None),
        ("can I cancel?", None),
        ("I'm open to any time", None),
    ],
)
def test_what_is_asked(text: str, kind: str | None) -> None:
    faq = [FaqInfo(("parking", "parkering"), "P"), FaqInfo(("cancellation policy", "afbud"), "C")]
    asked = read_question(text, faq)
    assert (asked.kind if asked else None) == kind
