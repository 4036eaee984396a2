"""Ordinary answers the bot once stumbled on (issue 14): typed option labels, a word two services share,
names that hold a word the bot knows, and a bare "yes" to a question that wanted something else.

The clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00 there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.appointments import history_for
from storage.models import Conversation
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import appointments, clinic
from tests.support.fake_graph import FakeGraph
from tests.test_page_conversations import CHANNELS, PageClient

PHYSIO_TWICE = [
    {"id": "massage", "name": "Massage", "duration_minutes": 60},
    {"id": "physio-first", "name": "Physiotherapy, first visit", "duration_minutes": 45},
    {"id": "physio-follow-up", "name": "Physiotherapy, follow-up", "duration_minutes": 30},
]


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, services=PHYSIO_TWICE, channels=CHANNELS) as (running, _):
        yield running


@pytest.fixture
async def danish(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, locale="da", services=PHYSIO_TWICE) as (running, _):
        yield running


async def test_typing_an_options_label_is_tapping_it(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    [summary] = await client.says("massage tomorrow at 10")
    assert summary.options == ["Yes, book it", "Change something"]
    [what] = await client.says("change something")
    assert what.text == "What would you like to change?"
    [when] = await client.says("The day or time.")
    assert "When would you like to come?" in when.text
    [summary] = await client.says(when.options[1].upper())
    assert summary.text.startswith("Shall I book this?")


async def test_a_word_two_services_share_asks_which(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    [which] = await client.says("physio")
    assert which.text.endswith("Which one do you mean?")
    assert [o[:16] for o in which.options] == ["Physiotherapy, f"] * 2  # cut to WhatsApp's row titles
    [when] = await client.says("the follow-up")
    assert when.text.startswith("Physiotherapy, follow-up, 30 min.")
    [summary] = await WhatsAppClient(jola, wa_id="15550000009", name="Bo").says(
        "fysio first visit tomorrow, Thursday 26 November, at 10"
    )
    assert "Physiotherapy, first visit (45 min)" in summary.text


@pytest.mark.parametrize("name", ["Anna Test", "Mia Book", "Frida Mandag", "Per Fredag"])
async def test_a_name_that_holds_a_word_the_bot_knows_is_a_name(jola: Jola, name: str) -> None:
    client = WhatsAppClient(jola, name=None, user_id=None)
    await client.says("massage friday at 10")
    [summary] = await client.says(name)
    assert summary.text.endswith(f"Friday 27 November at 10:00\nName: {name}"), summary.text
    await client.taps("Yes, book it")
    [appointment] = await appointments(jola)
    assert (appointment.client_name, appointment.start.isoformat()) == (name, "2026-11-27T09:00:00+00:00")


async def test_a_bare_yes_to_the_phone_question_asks_for_the_number_and_counts(jola: Jola) -> None:
    """Once a question that repeated eight times; now "yes" asks for the number, and the client who keeps
    answering "yes" is offered choices, then a person."""
    client = PageClient(jola, "messenger")
    await client.says("massage friday at 10")
    [phone] = await client.says("Anna Jensen")
    assert phone.text.startswith("What phone number can we reach you on")
    [again] = await client.says("yes")
    assert again.text == (
        "Sorry, I didn't catch that.\n"
        "Please write the number, with the country code if it is not Danish (like +45 12 34 56 78), "
        "or tap Skip."
    )
    [lost] = await client.says("yes")
    assert lost.text.startswith("Sorry, I'm still not getting it.")
    [person] = await client.says("yes")
    assert (
        person.text
        == "Sorry, I'm not getting it. I'll ask a member of our team to help you. They will answer you here."
    )


async def test_no_to_the_phone_question_skips_it(jola: Jola) -> None:
    client = PageClient(jola, "messenger")
    await client.says("massage friday at 10")
    await client.says("Anna Jensen")
    [summary] = await client.says("no thanks")
    assert summary.text.startswith("Shall I book this?")


async def test_danish_physio_and_a_typed_label(danish: Jola) -> None:
    client = WhatsAppClient(danish, name="Mette Hansen")
    [which] = await client.says("fysio i morgen kl. 10")
    assert which.text.endswith("Hvilken mener du?")
    [summary] = await client.says("Physiotherapy, first visit")
    assert (
        "Physiotherapy, first visit (45 min)\ni morgen, torsdag den 26. november, kl. 10.00" in summary.text
    )
    [what] = await client.says("ret noget")
    assert what.text == "Hvad vil du gerne ændre?"


@pytest.fixture
async def greeting(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    replies = {"greeting": "Hi {{ client.first_name }}, welcome to {{ business.name }}!"}
    async with clinic(database, fake_graph, channels=CHANNELS, replies=replies) as (running, _):
        yield running


async def test_the_business_greeting_without_a_name_reads_well(greeting: Jola) -> None:
    [hello] = await PageClient(greeting, "messenger").says("Hi")  # Messenger gives no name
    assert hello.text.startswith("Hi, welcome to Harbour Clinic!\n")
    [named] = await WhatsAppClient(greeting, name="Anna Jensen").says("Hi")
    assert named.text.startswith("Hi Anna, welcome to Harbour Clinic!\n")


async def test_a_danish_client_is_greeted_in_danish_before_the_danish_menu(greeting: Jola) -> None:
    [hello] = await WhatsAppClient(greeting, name="Mette Hansen").says("Hej, jeg vil gerne bestille en tid")
    assert hello.text == "Hej Mette, velkommen til Harbour Clinic!\nHvad vil du gerne booke?"


# ---------------------------------------------------------------------------------- never a silent wrong day


@pytest.mark.parametrize(
    ("said", "summary_day"),
    [
        ("massage wensday at 11", "today, Wednesday 25 November, at 11:00"),  # it is Wednesday
        ("massage thrusday at 10", "tomorrow, Thursday 26 November, at 10:00"),
        ("massage tomorrw at 10", "tomorrow, Thursday 26 November, at 10:00"),
        ("massage fredg kl 10", "fredag den 27. november kl. 10.00"),  # written in Danish: answered in Danish
    ],
)
async def test_a_misspelt_day_is_read(jola: Jola, said: str, summary_day: str) -> None:
    [summary] = await WhatsAppClient(jola, name="Anna Jensen").says(said)
    assert f"Massage (60 min)\n{summary_day}\n" in summary.text, summary.text


@pytest.mark.parametrize(
    "said",
    [
        "massage after friday at 10",
        "massage moday at 10",
        "massage in a fortnight at 10",
    ],
)
async def test_a_day_meant_but_not_read_is_asked_for_never_today(jola: Jola, said: str) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    [which] = await client.says(said)
    assert "Which day would you like, at 10:00? I didn't catch the day." in which.text
    assert "today" not in which.text.lower().split("?")[0]
    assert which.options[0] == "Tomorrow 10:00"  # today's 10:00 is within the notice
    [summary] = await client.says("monday")
    assert "Massage (60 min)\nMonday 30 November at 10:00\n" in summary.text


async def test_danish_which_day(danish: Jola) -> None:
    [which] = await WhatsAppClient(danish, name="Mette").says("massage efter fredag kl. 10")
    assert "Hvilken dag vil du gerne, kl. 10.00? Jeg fangede ikke dagen." in which.text


# ------------------------------------------------------------------------------------ running late


async def test_running_late_reassures_notes_it_and_tells_staff(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    await client.says("massage today at 11")
    await client.taps("Yes, book it")
    [reply] = await client.says("Sorry, I'm running 10 minutes late!")
    assert reply.text == (
        "Thanks for letting us know. I've told the team you'll be about 10 minutes late for your Massage at "
        "11:00. See you soon!"
    )
    [appointment] = await appointments(jola)
    async with jola.db.read() as session:
        history = (await history_for(session, [appointment.id]))[appointment.id]
        [conversation] = (await session.execute(select(Conversation))).scalars().all()
    assert [(h["action"], h["details"]) for h in history][-1] == ("running_late", {"minutes": 10})
    assert conversation.needs_staff and conversation.handled_by == "bot"


async def test_running_late_without_an_appointment_today(jola: Jola) -> None:
    [reply] = await WhatsAppClient(jola, name="Anna Jensen").says("running late, sorry")
    assert reply.text.endswith(
        'I can\'t find an appointment of yours today; write "person" if you need someone from Harbour Clinic.'
    )


async def test_running_late_in_danish(danish: Jola) -> None:
    client = WhatsAppClient(danish, name="Mette Hansen")
    await client.says("massage i dag kl. 11")
    await client.says("ja")
    [reply] = await client.says("jeg er 10 minutter forsinket")
    assert reply.text == (
        "Tak for besked. Jeg har sagt til teamet, at du kommer ca. 10 minutter for sent til din Massage kl. "
        "11.00. Vi ses snart!"
    )


# ------------------------------------------------------------------------------------ clock talk


async def test_in_30_minutes_is_understood_and_answered_with_the_nearest(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    await client.says("hello")
    await client.taps("Massage")
    [soon] = await client.says("can I come in 30 minutes?")
    assert soon.text.startswith("Sorry, today, Wednesday 25 November, at 09:30 is too soon to book online.")
    assert soon.options[0] == "Today 11:00"


async def test_a_spaced_time_with_pm_keeps_its_minutes(jola: Jola) -> None:
    [summary] = await WhatsAppClient(jola, name="Anna Jensen").says("massage tomorrow 3 15 pm")
    assert "tomorrow, Thursday 26 November, at 15:15" in summary.text


async def test_a_turn_not_understood_does_not_repeat_an_earlier_turns_news(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    await client.says("hello")
    await client.taps("Massage")
    [passed] = await client.says("today at 8")
    assert "has already passed" in passed.text
    [again] = await client.says("hmm")
    assert again.text.startswith("Sorry, I didn't catch that.\n")
    assert "has already passed" not in again.text


async def test_a_very_long_message_is_read_at_both_ends_and_says_so(jola: Jola) -> None:
    story = "I have been having back pain for a while and my doctor said I should try something. " * 105
    [summary] = await WhatsAppClient(jola, name="Anna Jensen").says(
        story + "Could I please get a massage on Monday at 10?"
    )
    assert len(story) > 8000
    assert summary.text.startswith(
        "Hi Anna, welcome to Harbour Clinic!\nThat was a long message, so I read its beginning and its end."
    )
    assert "Massage (60 min)\nMonday 30 November at 10:00\n" in summary.text


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("massage two weeks from tomorrow at 10", "Thursday 10 December at 10:00"),
        ("massage a week from monday at 9", "Monday 7 December at 09:00"),
        ("massage om to uger fra i morgen kl. 10", "torsdag den 10. december kl. 10.00"),
    ],
)
async def test_a_day_counted_from_another_is_counted(jola: Jola, said: str, shown: str) -> None:
    [summary] = await WhatsAppClient(jola, name="Anna Jensen").says(said)
    assert f"Massage (60 min)\n{shown}\n" in summary.text, summary.text


# ------------------------------------------------------------------------------------ corrections


async def test_a_correction_changes_the_booking_and_says_so(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    await client.says("massage tomorrow at 10")
    [summary] = await client.says("make that 2pm instead")
    assert summary.text.startswith("Changed to tomorrow, Thursday 26 November, at 14:00. Shall I book this?")
    [again] = await client.says("no wait, friday")
    assert again.text.startswith("Changed to Friday 27 November at 14:00. Shall I book this?")
    await client.taps("Yes, book it")
    [appointment] = await appointments(jola)
    assert appointment.start.isoformat() == "2026-11-27T13:00:00+00:00"


async def test_a_danish_correction(danish: Jola) -> None:
    client = WhatsAppClient(danish, name="Mette Hansen")
    await client.says("massage i morgen kl. 10")
    [summary] = await client.says("nej, kl. 16 i stedet")
    assert summary.text.startswith(
        "Ændret til i morgen, torsdag den 26. november, kl. 16.00. Skal jeg booke dette?"
    )


async def test_as_late_as_possible_offers_the_days_last_times(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Anna Jensen")
    await client.says("hello")
    await client.taps("Massage")
    [late] = await client.says("as late as possible on friday")
    assert late.options == ["Fri 27 Nov 13:00", "Fri 27 Nov 14:00", "Fri 27 Nov 15:00", "Fri 27 Nov 16:00"]
    [early] = await client.says("as early as you can on friday")
    assert early.options[0] == "Fri 27 Nov 08:00"


async def test_so_sent_som_muligt(danish: Jola) -> None:
    client = WhatsAppClient(danish, name="Mette Hansen")
    [late] = await client.says("massage så sent som muligt på fredag")
    assert late.text.startswith(
        "Hej Mette, velkommen til Harbour Clinic!\nLedige tider fredag den 27. november."
    )
    assert late.options == [
        "fre 27. nov 13.00",
        "fre 27. nov 14.00",
        "fre 27. nov 15.00",
        "fre 27. nov 16.00",
    ]


async def test_a_date_just_past_is_said_to_have_passed_not_booked_next_year(jola: Jola) -> None:
    [passed] = await WhatsAppClient(jola, name="Anna Jensen").says("massage 24/11 at 10")
    assert "Tuesday 24 November at 10:00 has already passed." in passed.text
    assert passed.options and passed.options[0].startswith(("Today", "Tomorrow"))
