"""Booking on WhatsApp, read as the chat it is: the client says this, the bot offers that.

The clinic is open weekdays 08:00-12:00 and 13:00-17:00 (Europe/Copenhagen); it is Wednesday
25 November 2026, 09:00 there, and bookings need two hours' notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from storage.appointments import history_for
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import appointments, booked_client, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_button


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        yield running


@pytest.fixture
async def danish(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, locale="da") as (running, _):
        yield running


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ----------------------------------------------------------------------------------------- booking


async def test_everything_said_at_once_goes_straight_to_the_summary(jola: Jola) -> None:
    anna = WhatsAppClient(jola, name="Anna Jensen")

    [summary] = await anna.says("Hi, can I book a massage tomorrow at 10?")
    assert summary.text == (
        "Hi Anna, welcome to Harbour Clinic!\n"
        "Shall I book this?\nMassage (60 min)\ntomorrow, Thursday 26 November, at 10:00\nName: Anna Jensen"
    )
    assert summary.options == ["Yes, book it", "Change something"]

    [booked] = await anna.taps("Yes, book it")
    assert booked.text == (
        "You're booked: Massage, tomorrow, Thursday 26 November, at 10:00. See "
        "you then! Write here if you need to change or cancel."
    )
    [appointment] = await appointments(jola)
    assert appointment.status == "booked"
    assert appointment.start == local("2026-11-26T10:00:00+01:00")
    assert appointment.end == local("2026-11-26T11:00:00+01:00")
    assert (appointment.service_key, appointment.client_name, appointment.channel) == (
        "massage",
        "Anna Jensen",
        "whatsapp",
    )


async def test_step_by_step_with_taps_and_a_new_name(jola: Jola) -> None:
    client = WhatsAppClient(jola, name="Test Customer One")

    [hello] = await client.says("hello")
    assert hello.text == "Hi Test, welcome to Harbour Clinic!\nWhat would you like to book?"
    assert hello.options == ["Massage", "Physiotherapy", "Talk to a person"]

    [when] = await client.taps("Massage")
    assert when.text.startswith("Massage, 60 min. When would you like to come?")
    assert when.options == ["Today 11:00", "Today 13:00", "Today 14:00", "Today 15:00"]

    [friday] = await client.says("friday afternoon")
    assert friday.text == "Free times Friday 27 November in the afternoon. Pick one, or tell me another time."
    assert friday.options == ["Fri 27 Nov 13:00", "Fri 27 Nov 14:00", "Fri 27 Nov 15:00", "Fri 27 Nov 16:00"]

    [summary] = await client.taps("Fri 27 Nov 14:00")
    assert "Friday 27 November at 14:00\nName: Test Customer One" in summary.text

    [what] = await client.taps("Change something")
    assert what.text == "What would you like to change?"
    assert what.options == ["The service", "The day or time", "The name"]
    [name] = await client.taps("The name")
    assert name.text == "What name should the booking be under?"
    [summary] = await client.says("my name is anna jensen")
    assert summary.text.endswith("Friday 27 November at 14:00\nName: Anna Jensen")
    await client.taps("Yes, book it")

    [appointment] = await appointments(jola)
    assert appointment.start == local("2026-11-27T14:00:00+01:00")
    assert appointment.client_name == "Anna Jensen"


async def test_a_taken_time_gets_the_nearest_free_ones_as_options(jola: Jola) -> None:
    first = WhatsAppClient(jola, wa_id="15550000001", user_id=None, name="First")
    await first.says("massage tomorrow at 10")
    await first.taps("Yes, book it")

    second = WhatsAppClient(jola, wa_id="15550000002", user_id=None, name="Second")
    [taken] = await second.says("massage tomorrow at 10")
    assert taken.text.startswith(
        "Hi Second, welcome to Harbour Clinic!\nSorry, tomorrow, Thursday 26 November, at 10:00 is taken."
    )
    assert "Tomorrow 10:00" not in taken.options
    assert {"Tomorrow 09:00", "Tomorrow 11:00"} <= set(taken.options)

    [summary] = await second.taps("Tomorrow 11:00")
    assert "tomorrow, Thursday 26 November, at 11:00" in summary.text


async def test_a_closed_day_is_said_and_alternatives_offered(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")
    await client.taps("Physiotherapy")

    [closed] = await client.says("sunday at 10")
    assert closed.text.startswith("Sorry, we're closed Sunday 29 November at 10:00.")
    assert closed.options and all(option.startswith(("Fri", "Mon")) for option in closed.options)


async def test_a_service_with_a_typo_is_understood(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [reply] = await client.says("I want a masage on friday at 9")
    assert "Massage (60 min)\nFriday 27 November at 09:00" in reply.text


async def test_two_clients_confirming_one_slot_at_once_get_one_booking(jola: Jola) -> None:
    """One wins; the other is told at once and offered the nearest free times, never double-booked."""
    one = WhatsAppClient(jola, wa_id="15550000011", user_id=None, name="One")
    two = WhatsAppClient(jola, wa_id="15550000012", user_id=None, name="Two")
    await one.says("massage tomorrow at 10")
    await two.says("massage tomorrow at 10")

    await asyncio.gather(
        jola.deliver(whatsapp_button("yes", "Yes, book it", wa_id=one.wa_id, user_id=None, name="One")),
        jola.deliver(whatsapp_button("yes", "Yes, book it", wa_id=two.wa_id, user_id=None, name="Two")),
    )
    replies = [*(await one._replies()), *(await two._replies())]

    booked = [r for r in replies if r.text.startswith("You're booked")]
    lost = [
        r
        for r in replies
        if r.text.startswith("Sorry, someone booked tomorrow, Thursday 26 November, at 10:00 a moment ago.")
    ]
    assert len(booked) == 1 and len(lost) == 1
    assert "Tomorrow 10:00" not in lost[0].options and lost[0].options
    assert [a.start for a in await appointments(jola)] == [local("2026-11-26T10:00:00+01:00")]


# ----------------------------------------------------------------------------------------- changes


async def test_rescheduling_the_only_appointment(jola: Jola) -> None:
    client = await booked_client(jola)

    [summary] = await client.says("Can I move my appointment to friday at 14?")
    assert (
        summary.text == "Move your Massage from tomorrow, Thursday 26 November, "
        "at 10:00 to Friday 27 November at 14:00?"
    )
    [moved] = await client.taps("Yes, move it")
    assert moved.text == "Done: your Massage is now Friday 27 November at 14:00."

    [appointment] = await appointments(jola)
    assert appointment.start == local("2026-11-27T14:00:00+01:00") and appointment.status == "booked"
    async with jola.db.read() as session:
        history = (await history_for(session, [appointment.id]))[appointment.id]
    assert [h["action"] for h in history] == ["booked", "rescheduled"]
    assert history[1]["details"]["from"]["start"].startswith("2026-11-26T09:00")


async def test_rescheduling_asks_for_a_time_when_none_was_given(jola: Jola) -> None:
    client = await booked_client(jola)
    [ask] = await client.says("I need to reschedule")
    assert ask.text.startswith(
        "Your Massage is tomorrow, Thursday 26 November, at 10:00. When would you like to move it to?"
    )
    [summary] = await client.says("monday at 8")
    assert summary.text.endswith("to Monday 30 November at 08:00?")


async def test_cancelling_asks_which_appointment_then_for_confirmation(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("massage friday at 9")
    await client.taps("Yes, book it")

    [which] = await client.says("I want to cancel")
    assert which.text == "Which appointment would you like to cancel?"
    assert which.options == ["Tomorrow 10:00", "Fri 27 Nov 09:00"]
    [sure] = await client.taps("Fri 27 Nov 09:00")
    assert sure.text == "Cancel your Massage, Friday 27 November at 09:00?"
    assert sure.options == ["Yes, cancel it", "No, keep it"]
    [done] = await client.taps("Yes, cancel it")
    assert done.text == "Your Massage, Friday 27 November at 09:00, is cancelled."

    statuses = {a.start.isoformat(): a.status for a in await appointments(jola)}
    assert statuses == {"2026-11-26T09:00:00+00:00": "booked", "2026-11-27T08:00:00+00:00": "cancelled"}


async def test_saying_no_keeps_the_appointment(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("cancel my appointment")
    [kept] = await client.says("no")
    assert kept.text == "Good, I've kept your Massage, tomorrow, Thursday 26 November, at 10:00."
    assert [a.status for a in await appointments(jola)] == ["booked"]


async def test_nothing_to_cancel_offers_to_book(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [reply] = await client.says("cancel my appointment")
    assert reply.text.endswith("You have no upcoming appointments to cancel. Would you like to book one?")
    assert reply.options == ["Book an appointment"]
    [book] = await client.says("yes please")
    assert book.text == "What would you like to book?"


async def test_a_client_without_a_name_is_asked_for_one(jola: Jola) -> None:
    """A number is not a name, nor (here) a time: the question comes again."""
    client = WhatsAppClient(jola, name=None)
    await client.says("physio on friday at 13")
    [again] = await client.says("1")
    assert again.text == "Sorry, I didn't catch that.\nAlmost done. What is your name?"
    [summary] = await client.says("It's Ole Hansen")
    assert summary.text.endswith("Friday 27 November at 13:00\nName: Ole Hansen")


async def test_reconfirming_from_a_reminder_button(jola: Jola) -> None:
    client = await booked_client(jola)
    [appointment] = await appointments(jola)

    await jola.deliver(
        whatsapp_button(
            f"confirm:{appointment.id}", "Yes, I'm coming", wa_id=client.wa_id, user_id=client.user_id
        )
    )
    [thanks] = await client._replies()
    assert (
        thanks.text == "Thanks for confirming! See you tomorrow, Thursday 26 "
        "November, at 10:00 for your Massage."
    )
    [appointment] = await appointments(jola)
    assert appointment.status == "confirmed"


async def test_my_appointments_lists_them(jola: Jola) -> None:
    client = await booked_client(jola)
    [listing] = await client.says("when is my appointment?")
    assert listing.text == "Your upcoming appointments:\n• Massage, tomorrow, Thursday 26 November, at 10:00"
    assert listing.options == ["Move a booking", "Cancel a booking", "Book an appointment"]


# ----------------------------------------------------------------------------------------- never stuck


async def test_start_over_help_and_a_person_work_in_the_middle_of_a_booking(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage please")

    [help_] = await client.says("help")
    assert help_.text.startswith("I can book you in, move or cancel an appointment")
    assert help_.options == ["Book an appointment", "My appointments", "Talk to a person"]

    [again] = await client.says("start over")
    assert again.text == "What would you like to book?"

    [person] = await client.says("can I talk to a human?")
    assert person.text == "I'll ask a member of our team to help you. They will answer you here."


async def test_two_turns_not_understood_offer_choices_then_a_person(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")

    [first] = await client.says("blorp")
    assert first.text == "Sorry, I didn't catch that.\nWhat would you like to book?"
    assert first.options == ["Massage", "Physiotherapy", "Talk to a person"]
    [second] = await client.says("zzzz qqq")
    assert second.text.startswith("Sorry, I'm still not getting it. Pick one of these")
    assert second.options == ["Book an appointment", "My appointments", "Talk to a person"]
    [third] = await client.says("wub wub")
    assert third.text.startswith("Sorry, I'm not getting it. I'll ask a member of our team")

    async with jola.db.read() as session:
        from sqlalchemy import select

        from storage.models import Conversation

        needs_staff = (await session.execute(select(Conversation.needs_staff))).scalar()
    assert needs_staff is True


# ----------------------------------------------------------------------------------------- language


async def test_a_danish_booking_from_start_to_end(danish: Jola) -> None:
    client = WhatsAppClient(danish, name="Mette Hansen")
    [summary] = await client.says("Hej, kan jeg booke en massage i morgen kl. 10?")
    assert summary.text == (
        "Hej Mette, velkommen til Harbour Clinic!\n"
        "Skal jeg booke dette?\nMassage (60 min)\ni morgen, torsdag den "
        "26. november, kl. 10.00\nNavn: Mette Hansen"
    )
    assert summary.options == ["Ja, book den", "Ret noget"]
    [booked] = await client.says("ja tak")
    assert booked.text.startswith("Du er booket: Massage, i morgen, torsdag den 26. november, kl. 10.00.")
    assert [a.status for a in await appointments(danish)] == ["booked"]


async def test_a_danish_cancellation(danish: Jola) -> None:
    client = await booked_client(danish, "massage fredag kl 9", "Ja, book den")
    [sure] = await client.says("jeg vil gerne aflyse min tid")
    assert sure.text == "Skal jeg aflyse din Massage, fredag den 27. november kl. 09.00?"
    [done] = await client.taps("Ja, aflys den")
    assert done.text == "Din Massage, fredag den 27. november kl. 09.00, er aflyst."


async def test_a_client_writing_danish_to_an_english_business_gets_danish(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [reply] = await client.says("Hej, jeg vil gerne bestille en tid")
    assert reply.text == "Hej Test, velkommen til Harbour Clinic!\nHvad vil du gerne booke?"
    [english] = await client.says("can you write in English please")
    assert english.text == "What would you like to book?"
