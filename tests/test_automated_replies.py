"""Automated replies as clients meet them, through the real webhook, pipeline and fake Graph API (issue 16):
the business's greeting and away message per channel, holidays, the ordered list of automated answers with
their channels and Book button, service names per language and switched-off services, and settings saved
while Jola runs (by this process or another) taking effect on the very next message.

Unless a test says otherwise the clinic is open weekdays 08:00-12:00 and 13:00-17:00 in Copenhagen, and it
is Wednesday 25 November 2026, 09:00 there. Copenhagen is UTC+1 in winter, UTC+2 in summer.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import keys
from bot.business_settings import save
from storage import business_settings as store
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.clinic import BUSINESS, NOW, appointments, clinic
from tests.support.fake_graph import FakeGraph
from tests.test_page_conversations import CHANNELS, PageClient

ZONE = ZoneInfo("Europe/Copenhagen")
NINE_TO_FIVE = {day: ["08:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
AWAY = "{{ business.name }} is closed right now, but I can still book you in."
AWAY_SAID = "Harbour Clinic is closed right now, but I can still book you in."
ASK_SERVICE = "What would you like to book?"
_numbers = iter(range(1, 10_000))


def local(*parts: int) -> datetime:
    """A Copenhagen wall time as the UTC instant the clock holds."""
    return datetime(*parts, tzinfo=ZONE).astimezone(UTC)


def whatsapp(jola: Jola, name: str | None = "Anna Jensen") -> WhatsAppClient:
    """A new client on WhatsApp (a number of their own)."""
    return WhatsAppClient(jola, wa_id=f"4520{next(_numbers):06d}", name=name, user_id=None)


def after_greeting(text: str | None) -> str:
    """What the bot said, without the greeting a new client gets on top."""
    first, _, rest = (text or "").partition("\n")
    return rest if "welcome to" in first or "velkommen til" in first else text or ""


# ------------------------------------------------------------------------------------------------ greeting

GREETING = "Hi {{ client.first_name }}, welcome to {{ business.name }}! Ask me anything."


async def test_the_greeting_is_said_on_channels_where_it_is_on_and_nowhere_else(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    replies = {"greeting": GREETING, "greeting_channels": ["whatsapp"]}
    async with clinic(database, fake_graph, channels=CHANNELS, replies=replies) as (jola, _):
        anna = whatsapp(jola, "Anna Jensen")
        [hello] = await anna.says("Hi")
        assert hello.text == f"Hi Anna, welcome to Harbour Clinic! Ask me anything.\n{ASK_SERVICE}"
        [again] = await anna.says("hello?")
        assert "welcome" not in (again.text or "")

        # Messenger: no business greeting, and not the built-in one instead: no greeting line at all.
        [page] = await PageClient(jola, "messenger").says("Hi")
        assert page.text == ASK_SERVICE
        assert page.options == ["Massage", "Physiotherapy", "Talk to a person"]
        [insta] = await PageClient(jola, "instagram").says("Hi")
        assert (insta.text or "").startswith(f"{ASK_SERVICE}\n\n1. Massage")


@pytest.mark.parametrize(
    ("greeting", "name", "said"),
    [
        pytest.param(
            GREETING, "Anna Jensen", "Hi Anna, welcome to Harbour Clinic! Ask me anything.", id="named"
        ),
        pytest.param(GREETING, None, "Hi, welcome to Harbour Clinic! Ask me anything.", id="no name: tidy"),
        pytest.param("Welcome {{ client.name }}!", None, "Welcome!", id="no full name either"),
        pytest.param(
            "Hello {{ client.first_name }} , this is {{ business.name }} .",
            None,
            "Hello, this is Harbour Clinic.",
            id="spaces before marks",
        ),
        pytest.param(
            "{% if client.first_name %}Dear {{ client.first_name }}{% else %}Hello{% endif %}, welcome!",
            None,
            "Hello, welcome!",
            id="the business's own if",
        ),
    ],
)
async def test_a_greeting_with_an_unknown_name_reads_tidy(
    database: DatabaseTarget, fake_graph: FakeGraph, greeting: str, name: str | None, said: str
) -> None:
    async with clinic(database, fake_graph, replies={"greeting": greeting}) as (jola, _):
        [hello] = await whatsapp(jola, name).says("hi")
        assert hello.text == f"{said}\n{ASK_SERVICE}"


# ------------------------------------------------------------------------------------------- away message


@pytest.fixture
async def evening(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> AsyncIterator[tuple[Jola, SettableClock]]:
    """Open 08:00-17:00 on weekdays, closed Wednesday 25 November (a holiday); it is Monday 23 November,
    16:59. The away message is on for WhatsApp and Instagram, not Messenger."""
    async with clinic(
        database,
        fake_graph,
        now=local(2026, 11, 23, 16, 59),
        hours=NINE_TO_FIVE,
        channels=CHANNELS,
        holidays=[{"start": "2026-11-25", "name": "Staff day"}],
        replies={"away": AWAY, "away_channels": ["whatsapp", "instagram"]},
    ) as running:
        yield running


async def test_the_away_message_once_per_closed_spell_and_the_bot_still_books(
    evening: tuple[Jola, SettableClock],
) -> None:
    jola, clock = evening
    client = whatsapp(jola, "Anna Jensen")

    [hello] = await client.says("Hi")  # 16:59: open
    assert hello.text == f"Hi Anna, welcome to Harbour Clinic!\n{ASK_SERVICE}"

    clock.current = local(2026, 11, 23, 17, 0)  # closing time: closed until Tuesday 08:00
    [times] = await client.says("I'd like a massage")
    assert times.text is not None and times.text.startswith(f"{AWAY_SAID}\nMassage, 60 min. When would you")
    assert times.options == ["Tomorrow 08:00", "Tomorrow 09:00", "Tomorrow 10:00", "Tomorrow 11:00"]

    clock.current = local(2026, 11, 23, 17, 5)  # the same closed spell: not again
    [summary] = await client.taps("Tomorrow 10:00")
    assert summary.text == (
        "Shall I book this?\nMassage (60 min)\ntomorrow, Tuesday 24 November, at 10:00\nName: Anna Jensen"
    )
    [booked] = await client.taps("Yes, book it")
    assert (booked.text or "").startswith("You're booked: Massage, tomorrow, Tuesday 24 November, at 10:00.")
    assert [a.service_key for a in await appointments(jola)] == ["massage"]

    clock.current = local(2026, 11, 24, 16, 59)  # open again: nothing about being closed
    [hours] = await client.says("what are your opening hours?")
    assert not (hours.text or "").startswith(AWAY_SAID)

    clock.current = local(2026, 11, 24, 17, 30)  # the next evening is a new closed spell
    [hours] = await client.says("what are your opening hours?")
    assert (hours.text or "").startswith(f"{AWAY_SAID}\nOur opening hours: Monday–Friday 08:00–17:00.")

    clock.current = local(2026, 11, 25, 11, 0)  # a holiday, in what would be opening hours: the same
    [holiday] = await client.says("is it possible to book physio on friday?")  # spell as last evening's
    assert (holiday.text or "").startswith("Free times Friday 27 November.")
    other = whatsapp(jola, "Bo Berg")  # someone who has not heard it in this spell
    [first] = await other.says("is it possible to book physio on friday?")
    assert (first.text or "").startswith(f"Hi Bo, welcome to Harbour Clinic!\n{AWAY_SAID}\nFree times Friday")


@pytest.mark.parametrize(
    ("moment", "away"),
    [
        pytest.param(local(2026, 11, 23, 7, 59), True, id="monday 07:59"),
        pytest.param(local(2026, 11, 23, 8, 0), False, id="monday 08:00"),
        pytest.param(local(2026, 11, 23, 16, 59), False, id="monday 16:59"),
        pytest.param(local(2026, 11, 23, 17, 0), True, id="monday 17:00"),
        pytest.param(local(2026, 11, 25, 11, 0), True, id="the holiday at 11:00"),
        pytest.param(local(2026, 11, 28, 11, 0), True, id="saturday"),
    ],
)
async def test_whether_the_away_message_is_said(
    evening: tuple[Jola, SettableClock], moment: datetime, away: bool
) -> None:
    jola, clock = evening
    clock.current = moment
    [reply] = await whatsapp(jola, None).says("hello")
    assert (
        reply.text
        == (f"Hi, welcome to Harbour Clinic!\n{AWAY_SAID}\n" if away else "Hi, welcome to Harbour Clinic!\n")
        + ASK_SERVICE
    )
    [insta] = await PageClient(jola, "instagram").says("hello")
    assert (AWAY_SAID in (insta.text or "")) is away


async def test_no_away_message_on_a_channel_it_is_off_for(evening: tuple[Jola, SettableClock]) -> None:
    jola, clock = evening
    clock.current = local(2026, 11, 23, 20, 0)
    page = PageClient(jola, "messenger")
    [hello] = await page.says("Hi")
    assert hello.text == f"Hi, welcome to Harbour Clinic!\n{ASK_SERVICE}"
    [times] = await page.taps("Massage")
    assert (times.text or "").startswith("Massage, 60 min. When would you like to come?")


async def test_the_away_message_is_not_repeated_in_the_same_spell_after_a_finished_booking(
    evening: tuple[Jola, SettableClock],
) -> None:
    jola, clock = evening
    clock.current = local(2026, 11, 23, 17, 0)
    client = whatsapp(jola)
    await client.says("massage tomorrow at 10")
    [booked] = await client.taps("Yes, book it")
    assert (booked.text or "").startswith("You're booked")
    clock.current = local(2026, 11, 23, 17, 10)
    [times] = await client.says("and physio on friday?")
    assert not (times.text or "").startswith(AWAY_SAID)


async def test_the_away_message_fills_in_the_next_free_time_and_the_hours(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    away = "Closed now. Next free time: {{ next_free_slot }}.\nOur hours:\n{{ opening_hours }}"
    async with clinic(
        database,
        fake_graph,
        now=local(2026, 11, 24, 18, 0),  # Tuesday evening; Wednesday is a holiday
        hours=NINE_TO_FIVE | {"sat": ["10:00-13:00"]},
        holidays=[{"start": "2026-11-25", "name": "Staff day"}],
        replies={"away": away},
    ) as (jola, _):
        [reply] = await whatsapp(jola).says("Hi")
        assert reply.text == (
            "Hi Anna, welcome to Harbour Clinic!\n"
            "Closed now. Next free time: Thursday 26 November at 08:00.\n"
            "Our hours:\nMonday–Friday: 08:00–17:00\nSaturday: 10:00–13:00\nSunday: closed\n"
            f"{ASK_SERVICE}"
        )


# Sunday-only hours, 09:00-17:00, on both DST Sundays of 2026: each instant is given in UTC, so an offset
# taken from the wrong side of the change would move the edges by an hour.
@pytest.mark.parametrize(
    ("moment", "away"),
    [
        # 2026-03-29: 02:00 CET jumps to 03:00 CEST (UTC+2 from 01:00 UTC).
        pytest.param(datetime(2026, 3, 29, 6, 59, tzinfo=UTC), True, id="spring 08:59"),
        pytest.param(datetime(2026, 3, 29, 7, 0, tzinfo=UTC), False, id="spring 09:00"),
        pytest.param(datetime(2026, 3, 29, 7, 30, tzinfo=UTC), False, id="spring 09:30"),
        pytest.param(datetime(2026, 3, 29, 14, 59, tzinfo=UTC), False, id="spring 16:59"),
        pytest.param(datetime(2026, 3, 29, 15, 0, tzinfo=UTC), True, id="spring 17:00"),
        # 2026-10-25: 03:00 CEST falls back to 02:00 CET (UTC+1 from 01:00 UTC).
        pytest.param(datetime(2026, 10, 25, 7, 59, tzinfo=UTC), True, id="autumn 08:59"),
        pytest.param(datetime(2026, 10, 25, 8, 0, tzinfo=UTC), False, id="autumn 09:00"),
        pytest.param(datetime(2026, 10, 25, 15, 59, tzinfo=UTC), False, id="autumn 16:59"),
        pytest.param(datetime(2026, 10, 25, 16, 0, tzinfo=UTC), True, id="autumn 17:00"),
        pytest.param(datetime(2026, 10, 25, 16, 30, tzinfo=UTC), True, id="autumn 17:30"),
    ],
)
async def test_the_away_message_across_dst_changes(
    database: DatabaseTarget, fake_graph: FakeGraph, moment: datetime, away: bool
) -> None:
    replies = {"away": "Closed now.", "greeting": "Hello!", "greeting_channels": []}
    async with clinic(database, fake_graph, now=moment, hours={"sun": ["09:00-17:00"]}, replies=replies) as (
        jola,
        _,
    ):
        [reply] = await whatsapp(jola).says("hi")
        assert reply.text == ("Closed now.\n" if away else "") + ASK_SERVICE


# ------------------------------------------------------------------------------------------------ holidays

CHRISTMAS = {"start": "2026-12-24", "end": "2026-12-26", "name": "Christmas"}
HOURS_SAID = "Our opening hours: Monday–Friday 08:00–12:00 and 13:00–17:00. Closed Saturday–Sunday."


async def test_no_times_on_a_holiday(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    holiday = [{"start": "2026-11-25", "name": "Staff day"}]
    async with clinic(database, fake_graph, now=local(2026, 11, 24, 18, 0), holidays=holiday) as (jola, _):
        client = whatsapp(jola)
        [first] = await client.says("massage")
        assert first.options == [
            "Thu 26 Nov 08:00",
            "Thu 26 Nov 09:00",
            "Thu 26 Nov 10:00",
            "Thu 26 Nov 11:00",
        ]
        [wednesday] = await client.says("wednesday at 10")
        assert (wednesday.text or "").startswith(
            "Sorry, we're closed tomorrow, Wednesday 25 November, at 10:00."
        )
        assert all(option.startswith("Thu 26 Nov") for option in wednesday.options)


@pytest.mark.parametrize(
    ("today", "closed"),
    [
        pytest.param(local(2026, 10, 24, 12, 0), "", id="61 days before: not yet"),
        pytest.param(
            local(2026, 10, 26, 12, 0), " We are also closed 24–26 December (Christmas).", id="59 days"
        ),
        pytest.param(
            local(2026, 11, 25, 9, 0), " We are also closed 24–26 December (Christmas).", id="a month"
        ),
        pytest.param(
            local(2026, 12, 25, 9, 0), " We are also closed 24–26 December (Christmas).", id="during"
        ),
        pytest.param(local(2026, 12, 27, 9, 0), "", id="after"),
    ],
)
async def test_the_hours_answer_names_holidays_coming_within_60_days(
    database: DatabaseTarget, fake_graph: FakeGraph, today: datetime, closed: str
) -> None:
    async with clinic(database, fake_graph, now=today, holidays=[CHRISTMAS]) as (jola, _):
        [answer] = await whatsapp(jola).says("What are your opening hours?")
        assert after_greeting(answer.text) == HOURS_SAID + closed


async def test_holidays_in_the_hours_answer_in_danish_and_across_a_new_year(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    holidays = [
        {"start": "2026-12-31", "end": "2027-01-01", "name": "nytår"},
        {"start": "2026-12-24", "end": "2026-12-26", "name": "jul"},
        {"start": "2026-12-07"},
    ]
    async with clinic(database, fake_graph, locale="da", holidays=holidays) as (jola, _):
        [answer] = await whatsapp(jola, "Mette Hansen").says("Hvornår har I åbent?")
        assert after_greeting(answer.text) == (
            "Vores åbningstider: mandag–fredag kl. 08.00–12.00 og 13.00–17.00. Lukket lørdag–søndag. "
            "Vi holder også lukket 7. december, 24.–26. december (jul), 31. december–1. januar (nytår)."
        )


# -------------------------------------------------------------------------------------- automated answers

PARKING = {"keywords": ["parking", "parkering"], "answer": "Free parking behind {{ business.name }}."}
PRICE_ON_REQUEST = {"keywords": ["price"], "answer": "Prices on request."}
PRICED = [
    {"id": "massage", "name": "Massage", "duration_minutes": 60, "price": 450},
    {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45, "price": 500},
]
PRICES_SAID = "Our prices:\nMassage (60 min): 450 DKK\nPhysiotherapy (45 min): 500 DKK"


@contextlib.asynccontextmanager
async def answering(
    database: DatabaseTarget, fake_graph: FakeGraph, faq: list[dict[str, Any]]
) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, channels=CHANNELS, faq=faq, services=PRICED) as (jola, _):
        yield jola


@pytest.mark.parametrize(
    ("faq", "question", "said"),
    [
        pytest.param(
            [PARKING, PRICE_ON_REQUEST],
            "what's the parking price?",
            "Free parking behind Harbour Clinic.",
            id="first",
        ),
        pytest.param(
            [PRICE_ON_REQUEST, PARKING], "what's the parking price?", "Prices on request.", id="reordered"
        ),
        pytest.param(
            [PRICE_ON_REQUEST], "what is the price?", "Prices on request.", id="own answers before built-in"
        ),
        pytest.param(
            [{"builtin": "prices"}, PRICE_ON_REQUEST],
            "what is the price?",
            PRICES_SAID,
            id="built-in placed first",
        ),
        pytest.param(
            [PRICE_ON_REQUEST, {"builtin": "prices"}],
            "what is the price?",
            "Prices on request.",
            id="placed after",
        ),
        pytest.param(
            [{"keywords": ["open"], "answer": "Ask us."}],
            "when are you open?",
            "Ask us.",
            id="own answer before built-in hours",
        ),
        pytest.param(
            [PARKING], "is there parkinng near you?", "Free parking behind Harbour Clinic.", id="a typo"
        ),
        pytest.param(
            [PARKING], "Er der parkeringspladser?", "Free parking behind Harbour Clinic.", id="danish plural"
        ),
        pytest.param([PARKING], "PARKERINGEN??", "Free parking behind Harbour Clinic.", id="danish definite"),
    ],
)
async def test_the_first_answer_in_the_list_that_matches_wins(
    database: DatabaseTarget, fake_graph: FakeGraph, faq: list[dict[str, Any]], question: str, said: str
) -> None:
    async with answering(database, fake_graph, faq) as jola:
        [answer] = await whatsapp(jola).says(question)
        assert after_greeting(answer.text) == said
        # The button speaks the client's language (the business's answer is as the business wrote it).
        assert answer.options in (["Book an appointment"], ["Book en tid"])


async def test_an_answer_only_on_the_channels_it_is_for(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with answering(database, fake_graph, [{**PARKING, "channels": ["whatsapp"]}]) as jola:
        [answer] = await whatsapp(jola).says("is there parking?")
        assert after_greeting(answer.text) == "Free parking behind Harbour Clinic."
        [page] = await PageClient(jola, "messenger").says("is there parking?")
        assert "parking" not in (page.text or "").casefold()


async def test_built_in_answers_follow_their_channels_too(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with answering(database, fake_graph, [{"builtin": "prices", "channels": ["messenger"]}]) as jola:
        [page] = await PageClient(jola, "messenger").says("what are your prices?")
        assert after_greeting(page.text) == PRICES_SAID
        [chat] = await whatsapp(jola).says("what are your prices?")
        assert "Our prices" not in (chat.text or "")


@pytest.mark.parametrize(("offer_booking", "options"), [(True, ["Book an appointment"]), (False, [])])
async def test_the_book_button_under_an_answer(
    database: DatabaseTarget, fake_graph: FakeGraph, offer_booking: bool, options: list[str]
) -> None:
    faq = [{**PARKING, "offer_booking": offer_booking}, {"builtin": "hours", "offer_booking": offer_booking}]
    async with answering(database, fake_graph, faq) as jola:
        client = whatsapp(jola)
        [parking] = await client.says("is there parking?")
        assert after_greeting(parking.text) == "Free parking behind Harbour Clinic."
        assert parking.options == options
        [hours] = await client.says("what are your opening hours?")
        assert hours.options == options


async def test_a_question_mid_booking_is_answered_and_the_booking_goes_on(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with answering(database, fake_graph, [PARKING]) as jola:
        client = whatsapp(jola)
        await client.says("hi")
        [when] = await client.taps("Massage")
        assert (when.text or "").startswith("Massage, 60 min. When would you like to come?")

        answer, again = await client.says("is there parking?")
        assert answer.text == "Free parking behind Harbour Clinic."
        assert answer.options == []  # mid-booking: no Book button, the booking is under way
        assert again.text == f"Back to where we were:\n{when.text}"
        assert again.options == when.options

        [summary] = await client.taps("Today 13:00")
        assert (summary.text or "").startswith(
            "Shall I book this?\nMassage (60 min)\ntoday, Wednesday 25 November, at 13:00"
        )
        [booked] = await client.taps("Yes, book it")
        assert (booked.text or "").startswith("You're booked: Massage")


async def test_two_questions_mid_booking_go_back_once(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with answering(database, fake_graph, [PARKING]) as jola:
        client = whatsapp(jola)
        [when] = await client.says("massage friday")
        await client.says("is there parking?")
        _, again = await client.says("what are your opening hours?")
        assert again.text == f"Back to where we were:\n{after_greeting(when.text)}"


# ----------------------------------------------------------------------------------- service names, active

NAMED = [
    {
        "id": "massage",
        "name": "Massage",
        "duration_minutes": 60,
        "price": 450,
        "names": {"da": "Massage (dansk)"},
    },
    {
        "id": "physio",
        "name": "Physiotherapy",
        "duration_minutes": 45,
        "price": 500,
        "names": {"da": "Fysioterapi"},
    },
    {"id": "cupping", "name": "Cupping", "duration_minutes": 30, "price": 300, "active": False},
]


@pytest.fixture
async def named(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, services=NAMED) as (jola, _):
        yield jola


async def test_a_client_writing_danish_sees_the_danish_names(named: Jola) -> None:
    client = whatsapp(named, "Mette Hansen")
    [hello] = await client.says("Hej, jeg vil gerne booke en tid")
    assert hello.text == "Hej Mette, velkommen til Harbour Clinic!\nHvad vil du gerne booke?"
    assert hello.options == ["Massage (dansk)", "Fysioterapi", "Tal med en person"]
    [when] = await client.taps("Fysioterapi")
    assert (when.text or "").startswith("Fysioterapi, 45 min. Hvornår vil du gerne komme?")
    [summary] = await client.says("fredag kl 10")
    assert summary.text == (
        "Skal jeg booke dette?\nFysioterapi (45 min)\nfredag den 27. november kl. 10.00\nNavn: Mette Hansen"
    )
    [booked] = await client.taps("Ja, book den")
    assert (booked.text or "").startswith("Du er booket: Fysioterapi, fredag den 27. november kl. 10.00.")
    [appointment] = await appointments(named)
    assert appointment.service_key == "physio"
    [cancel] = await client.says("Jeg vil gerne aflyse")
    assert cancel.text == "Skal jeg aflyse din Fysioterapi, fredag den 27. november kl. 10.00?"

    [english] = await whatsapp(named, "Anna Jensen").says("Hi, I'd like to book")
    assert english.options == ["Massage", "Physiotherapy", "Talk to a person"]


async def test_a_client_writing_danish_sees_the_danish_name_in_their_appointments(named: Jola) -> None:
    client = whatsapp(named, "Mette Hansen")
    await client.says("Hej, jeg vil gerne booke fysioterapi fredag kl 10")
    await client.taps("Ja, book den")
    [mine] = await client.says("mine aftaler")
    assert mine.text == "Dine kommende tider:\n• Fysioterapi, fredag den 27. november kl. 10.00"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # One word does not tell the client's language: understood, answered in the business's.
        ("fysioterapi", "Physiotherapy, 45 min. When would you like to come?"),
        ("Kan jeg få en tid til fysioterapi?", "Fysioterapi, 45 min. Hvornår vil du gerne komme?"),
        ("Jeg vil gerne booke massage", "Massage (dansk), 60 min. Hvornår vil du gerne komme?"),
        ("physiotherapy please", "Physiotherapy, 45 min. When would you like to come?"),
    ],
)
async def test_a_service_is_understood_by_its_name_in_either_language(
    named: Jola, text: str, said: str
) -> None:
    [reply] = await whatsapp(named, "Mette Hansen").says(text)
    assert after_greeting(reply.text).startswith(said)


async def test_an_inactive_service_is_not_offered_understood_or_priced(named: Jola) -> None:
    client = whatsapp(named)
    [hello] = await client.says("Hi")
    assert hello.options == ["Massage", "Physiotherapy", "Talk to a person"]
    [cupping] = await client.says("can I book cupping?")
    assert cupping.text == ASK_SERVICE  # not understood: which service, again
    assert "Cupping" not in cupping.options
    [prices] = await whatsapp(named).says("what are your prices?")
    assert (
        after_greeting(prices.text)
        == "Our prices:\nMassage (60 min): 450 DKK\nPhysiotherapy (45 min): 500 DKK"
    )


# ------------------------------------------------------------------------------- settings changed at runtime


async def save_settings(jola: Jola, change: Callable[[dict[str, Any]], None], *, put: bool = False) -> int:
    """What the settings pages do: load the document, change it, save it in this process's database;
    `put`: and use it in this process at once. Returns the new version."""
    profiles = jola.app[keys.PROFILES]
    async with jola.db.write() as session:
        stored = await store.load(session, BUSINESS)
        assert stored is not None
        document = copy.deepcopy(stored.document)
        change(document)
        business, version, changes = await save(
            session,
            profiles.base(BUSINESS),
            document,
            expected_version=stored.version,
            section="replies",
            actor="Mia Holm",
            staff_id=None,
            now=jola.app[keys.CLOCK].now(),
        )
    assert changes
    if put:
        profiles.put(business, version)
    return version


def new_replies(document: dict[str, Any]) -> None:
    document["replies"]["greeting"] = "Welcome to {{ business.name }}, {{ client.first_name }}!"
    document["replies"]["away"] = "We are closed on Wednesdays now."
    document["hours"].pop("wed")
    document["faq"].insert(0, PARKING)


def deactivate_cupping(document: dict[str, Any]) -> None:
    next(s for s in document["services"] if s["id"] == "cupping")["active"] = False


async def test_a_save_is_used_on_the_very_next_message(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph) as (jola, _):
        anna = whatsapp(jola, "Anna Jensen")
        [hello] = await anna.says("Hi")
        assert hello.text == f"Hi Anna, welcome to Harbour Clinic!\n{ASK_SERVICE}"
        [unknown] = await anna.says("is there parking?")
        assert "Free parking" not in (unknown.text or "")

        await save_settings(jola, new_replies)

        [parking] = await anna.says("is there parking?")
        assert parking.text == "We are closed on Wednesdays now.\nFree parking behind Harbour Clinic."
        [bo] = await whatsapp(jola, "Bo Berg").says("Hi")
        assert bo.text == f"Welcome to Harbour Clinic, Bo!\nWe are closed on Wednesdays now.\n{ASK_SERVICE}"


async def test_a_button_for_a_service_switched_off_since_books_nothing(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    services = [*PRICED, {"id": "cupping", "name": "Cupping", "duration_minutes": 30}]
    async with clinic(database, fake_graph, services=services) as (jola, _):
        client = whatsapp(jola)
        [hello] = await client.says("Hi")
        assert "Cupping" in hello.options
        await save_settings(jola, deactivate_cupping)
        [reply] = await client.taps("Cupping")
        assert not (reply.text or "").startswith("Cupping, 30 min.")


@contextlib.asynccontextmanager
async def only(handling: Jola, other: Jola) -> AsyncIterator[None]:
    """Only `handling` handles messages and sends replies meanwhile; `other` waits (its workers stopped)."""
    pipeline = other.app[keys.PIPELINE]
    await pipeline.dispatcher.stop()
    await pipeline.sender.stop()
    try:
        yield
    finally:
        pipeline.dispatcher.start()
        pipeline.sender.start()


async def test_a_save_through_one_process_is_used_by_another_on_its_next_message(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Two processes on one database (two `jola serve` behind a load balancer): each has read the settings
    and answered with them; a save through either reaches the other with its next message."""
    clock = SettableClock(NOW)
    config = make_config(database, fake_graph.url, business={"hours": NINE_TO_FIVE, "services": PRICED})
    first = await start_jola(config, fake_graph, clock=clock)
    second = await start_jola(config, fake_graph, clock=clock)
    try:
        anna, bo = whatsapp(first, "Anna Jensen"), whatsapp(second, "Bo Berg")
        async with only(first, second):
            [hello] = await anna.says("Hi")
            assert hello.text == f"Hi Anna, welcome to Harbour Clinic!\n{ASK_SERVICE}"
        async with only(second, first):
            [hello] = await bo.says("Hi")
            assert hello.text == f"Hi Bo, welcome to Harbour Clinic!\n{ASK_SERVICE}"

        await save_settings(first, new_replies, put=True)

        async with only(second, first):
            [parking] = await bo.says("is there parking?")
            assert parking.text == "We are closed on Wednesdays now.\nFree parking behind Harbour Clinic."
            [cleo] = await whatsapp(second, "Cleo Holm").says("Hi")
            assert (
                cleo.text
                == f"Welcome to Harbour Clinic, Cleo!\nWe are closed on Wednesdays now.\n{ASK_SERVICE}"
            )

        def faster(document: dict[str, Any]) -> None:
            document["faq"][0]["answer"] = "Parking is in the yard."
            document["replies"]["away"] = None

        version = await save_settings(second, faster, put=True)

        async with only(first, second):
            [yard] = await anna.says("and is there parking nearby?")
            assert yard.text == "Parking is in the yard."
        assert (
            first.app[keys.PROFILES].version(BUSINESS)
            == second.app[keys.PROFILES].version(BUSINESS)
            == version
        )
    finally:
        await first.client.close()
        await second.client.close()


async def test_the_config_is_not_applied_again_on_a_restart(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    clock = SettableClock(NOW)
    before = make_config(
        database, fake_graph.url, business={"replies": {"greeting": "Hello from the first file!"}}
    )
    jola = await start_jola(before, fake_graph, clock=clock)
    try:
        [hello] = await whatsapp(jola).says("Hi")
        assert (hello.text or "").startswith("Hello from the first file!\n")
    finally:
        await jola.client.close()

    after = make_config(
        database, fake_graph.url, business={"replies": {"greeting": "Hello from the edited file!"}}
    )
    jola = await start_jola(after, fake_graph, clock=clock)
    try:
        [hello] = await whatsapp(jola).says("Hi")
        assert (hello.text or "").startswith("Hello from the first file!\n")
        async with jola.db.read() as session:
            stored = await store.load(session, BUSINESS)
        assert stored is not None
        assert (stored.version, stored.document["replies"]["greeting"]) == (1, "Hello from the first file!")
    finally:
        await jola.client.close()
