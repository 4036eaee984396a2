"""The booking conversation at its edges, read as chats: what a client says that the happy path does not.

Same clinic as `test_booking_conversation.py`: open weekdays 08:00-12:00 and 13:00-17:00
(Europe/Copenhagen), two hours' notice, 60 days ahead; it is Wednesday 25 November 2026, 09:00 there.
Each test was written from a review of the flows; the ones that first failed named a bug, since fixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from storage.appointments import change_status, history_for
from storage.models import Conversation
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import BUSINESS, WEEKDAYS, appointments, booked_client, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_button, whatsapp_message


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        yield running


@pytest.fixture
async def danish(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, locale="da") as (running, _):
        yield running


async def press(client: WhatsAppClient, payload: str, title: str, wamid: str | None = None) -> list[Any]:
    """A reminder template's quick-reply button: WhatsApp sends it as type "button" with our payload."""
    content = {"type": "button", "button": {"payload": payload, "text": title}}
    await client.jola.deliver(
        whatsapp_message(content, wa_id=client.wa_id, user_id=client.user_id, name=client.name, wamid=wamid)
    )
    return await client._replies()


async def sends(client: WhatsAppClient, content: dict[str, Any]) -> list[Any]:
    """Anything that is not text or a tap: a sticker, an image, a location."""
    await client.jola.deliver(
        whatsapp_message(content, wa_id=client.wa_id, user_id=client.user_id, name=client.name)
    )
    return await client._replies()


async def staff_cancels(jola: Jola, appointment_id: int, now: datetime) -> None:
    async with jola.db.write() as session:
        await change_status(
            session, BUSINESS, appointment_id, to="cancelled", actor="staff", action="cancelled", now=now
        )


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


ASK_TIME = "Massage, 60 min. When would you like to come?"


# ----------------------------------------------------------------------------------------- what comes first


async def test_a_time_given_before_the_service_is_kept(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [ask] = await client.says("tomorrow at 10")
    assert ask.text == "Hi Test, welcome to Harbour Clinic!\nWhat would you like to book?"
    [summary] = await client.taps("Massage")
    assert summary.text.startswith(
        "Shall I book this?\nMassage (60 min)\ntomorrow, Thursday 26 November, at 10:00"
    )


async def test_first_available_offers_the_soonest_free_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [times] = await client.says("first available massage please")
    assert ASK_TIME in times.text
    assert times.options == ["Today 11:00", "Today 13:00", "Today 14:00", "Today 15:00"]
    [summary] = await client.taps("Today 11:00")
    assert "Massage (60 min)\ntoday, Wednesday 25 November, at 11:00" in summary.text


async def test_hurtigst_muligt_offers_the_soonest_free_times_in_danish(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    [times] = await client.says("massage hurtigst muligt")
    assert "Massage, 60 min. Hvornår vil du gerne komme?" in times.text
    assert times.options == ["I dag 11.00", "I dag 13.00", "I dag 14.00", "I dag 15.00"]


async def test_next_week_offers_times_next_week(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [times] = await client.says("massage next week")
    next_week = ("Mon 30 Nov", "Tue 1 Dec", "Wed 2 Dec", "Thu 3 Dec", "Fri 4 Dec")
    assert times.options and all(option.startswith(next_week) for option in times.options)


# ------------------------------------------------------------------------------------- times that won't do


async def test_a_day_with_nothing_free_says_so_and_offers_the_next_free_day(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, hours={**WEEKDAYS, "fri": ["08:00-09:00"]}) as (jola, _):
        await booked_client(jola, "massage friday at 8", wa_id="4520000001", user_id=None)
        client = WhatsAppClient(jola, wa_id="4520000002", user_id=None)

        [friday] = await client.says("massage on friday")
        assert friday.text.endswith(
            "Sorry, there is nothing free Friday 27 November. The nearest free times are below."
        )
        assert friday.options == ["Mon 30 Nov 08:00", "Mon 30 Nov 08:15", "Mon 30 Nov 08:30"]


async def test_a_time_already_past_today_gets_todays_free_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [past] = await client.says("massage today at 8")
    assert "today, wednesday 25 november, at 08:00 has already passed." in past.text.lower()
    assert past.options == ["Today 11:00", "Today 13:00", "Today 13:15"]
    assert await appointments(jola) == []


async def test_the_past_time_sentence_starts_with_a_capital(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")
    [past] = await client.says("massage today at 8")
    assert past.text.startswith("Today, Wednesday 25 November, at 08:00 has already passed.")


async def test_a_time_beyond_the_horizon_offers_the_last_bookable_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [far] = await client.says("massage 15 march 2027 at 10")
    assert "Monday 15 March 2027 at 10:00 is too far ahead to book yet." in far.text
    assert far.options and all(" Jan " in option for option in far.options)


async def test_a_buffer_keeps_time_free_after_each_appointment(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, booking={"buffer_minutes": 15}) as (jola, _):
        first = await booked_client(jola, wa_id="4520000001", user_id=None)  # tomorrow 10:00-11:00
        second = WhatsAppClient(jola, wa_id="4520000002", user_id=None)

        [eleven] = await second.says("massage tomorrow at 11")
        assert "Sorry, tomorrow, Thursday 26 November, at 11:00 is taken." in eleven.text
        # 11:15 would end after closing at 12:00; 09:00 would end 15 minutes before the next one starts.
        assert eleven.options == ["Tomorrow 08:45", "Tomorrow 13:00", "Tomorrow 13:15"]
        [summary] = await second.taps("Tomorrow 08:45")
        assert "tomorrow, Thursday 26 November, at 08:45" in summary.text
        await second.taps("Yes, book it")

        # Moving one's own appointment half an hour: its own time and buffer are not in the way.
        [move] = await first.says("move my appointment to 10:30 tomorrow")
        assert (
            move.text == "Move your Massage from tomorrow, Thursday 26 November, at 10:00 "
            "to tomorrow, Thursday 26 November, at 10:30?"
        )
        await first.taps("Yes, move it")
        starts = sorted(a.start for a in await appointments(jola))
        assert starts == [local("2026-11-26T08:45:00+01:00"), local("2026-11-26T10:30:00+01:00")]


# ----------------------------------------------------------------------------------------- at the summary


async def test_no_at_the_summary_asks_what_to_change(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    [what] = await client.says("no")
    assert what.text == "What would you like to change?"
    assert what.options == ["The service", "The day or time", "The name"]
    [when] = await client.taps("The day or time")
    assert when.text.startswith(ASK_TIME)
    assert await appointments(jola) == []


async def test_nej_at_the_summary_asks_what_to_change_in_danish(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    await client.says("massage i morgen kl 10")
    [what] = await client.says("nej")
    assert what.text == "Hvad vil du gerne ændre?"
    assert what.options == ["Behandlingen", "Dag eller tidspunkt", "Navnet"]


async def test_another_time_at_the_summary_asks_for_a_time_and_books_nothing(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage friday at 14")
    [when] = await client.says("another time please")
    assert when.text.startswith("Here are some later times.")
    assert when.options
    [summary] = await client.says("monday at 9")
    assert "Monday 30 November at 09:00" in summary.text
    assert await appointments(jola) == []


async def test_a_bit_later_at_the_summary_offers_later_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage friday at 14")
    [later] = await client.says("a bit later")
    assert later.options
    assert not any(option.startswith(("Today", "Tomorrow")) for option in later.options)
    assert all(option > "Fri 27 Nov 14:00" for option in later.options if option.startswith("Fri"))


async def test_none_of_these_offers_other_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [first] = await client.says("massage")
    [again] = await client.says("none of these")
    assert again.options and not set(again.options) & set(first.options)


async def test_no_with_a_new_time_at_the_summary_shows_the_new_summary(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    [summary] = await client.says("no, tomorrow at 11 instead")
    assert summary.text.startswith(
        "Changed to tomorrow, Thursday 26 November, at 11:00. Shall I book this?\nMassage (60 min)\n"
        "tomorrow, Thursday 26 November, at 11:00"
    )


async def test_change_the_time_at_the_summary_changes_this_booking(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    [when] = await client.says("can we change the time?")
    assert when.text.startswith(ASK_TIME)
    [summary] = await client.says("tomorrow at 11")
    assert summary.text.startswith(
        "Shall I book this?\nMassage (60 min)\ntomorrow, Thursday 26 November, at 11:00"
    )


async def test_a_typed_answer_to_what_to_change_is_understood(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    await client.taps("Change something")
    [when] = await client.says("the time")
    assert when.text.startswith(ASK_TIME)


async def test_changing_the_service_at_the_summary_keeps_a_time_that_still_fits(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    await client.taps("Change something")
    [which] = await client.taps("The service")
    assert which.text == "What would you like to book?"
    [summary] = await client.taps("Physiotherapy")
    assert summary.text.startswith(
        "Shall I book this?\nPhysiotherapy (45 min)\ntomorrow, Thursday 26 November, at 10:00"
    )


async def test_help_keeps_the_clients_place(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage")
    [help_] = await client.says("help")
    assert help_.options == ["Book an appointment", "My appointments", "Talk to a person"]
    [summary] = await client.says("friday at 14")
    assert "Friday 27 November at 14:00" in summary.text

    [help_] = await client.says("help")
    assert help_.text.startswith("I can book you in")
    [booked] = await client.says("yes")
    assert booked.text.startswith("You're booked: Massage, Friday 27 November at 14:00.")


async def test_a_tap_on_book_from_the_help_menu_asks_the_current_question_again(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    await client.says("massage i morgen kl 10")
    [help_] = await client.says("hjælp")
    assert help_.text.startswith("Jeg kan booke en tid")
    [summary] = await client.taps("Book en tid")
    assert summary.text.startswith(
        "Skal jeg booke dette?\nMassage (60 min)\ni morgen, torsdag den 26. november, kl. 10.00"
    )


async def test_a_late_yes_is_told_the_real_reason(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    async with clinic(database, fake_graph) as (jola, clock):
        client = WhatsAppClient(jola)
        await client.says("massage today at 13")
        clock.advance(hours=3)  # 12:00: 13:00 is now inside the two hours' notice
        [late] = await client.taps("Yes, book it")
        assert late.text.startswith(
            "Sorry, today, Wednesday 25 November, at 13:00 is too soon to book online."
        )
        assert late.options
        assert await appointments(jola) == []


# ----------------------------------------------------------------------------------------- names


async def test_a_service_named_while_asked_for_a_name_is_not_the_name(jola: Jola) -> None:
    client = WhatsAppClient(jola, name=None)
    [name] = await client.says("massage tomorrow at 10")
    assert name.text.endswith("Almost done. What is your name?")
    await client.says("physio")
    [asked] = await client.says("tomorrow at 10")
    assert asked.text == "Almost done. What is your name?"


async def test_a_lower_case_danish_name_does_not_switch_the_language(danish: Jola) -> None:
    client = WhatsAppClient(danish, name=None)
    [name] = await client.says("massage i morgen kl 10")
    assert name.text.endswith("Hvad er dit navn?")
    [summary] = await client.says("mathias thomsen")
    assert summary.text.startswith("Skal jeg booke dette?")
    assert summary.text.endswith("Navn: Mathias Thomsen")


# ----------------------------------------------------------------------------------------- switching jobs


async def test_cancelling_in_the_middle_of_a_booking_then_booking_again(jola: Jola) -> None:
    client = await booked_client(jola)
    [summary] = await client.says("physio friday at 14")
    assert summary.text.startswith("Shall I book this?\nPhysiotherapy (45 min)")

    [sure] = await client.says("oh wait, first I need to cancel my appointment tomorrow")
    assert sure.text == "Cancel your Massage, tomorrow, Thursday 26 November, at 10:00?"
    [done] = await client.says("yes")
    assert done.text == "Your Massage, tomorrow, Thursday 26 November, at 10:00, is cancelled."
    assert done.options == ["Book a new time"]

    [summary] = await client.says("physio friday at 14")
    [booked] = await client.taps("Yes, book it")
    assert booked.text.startswith("You're booked: Physiotherapy, Friday 27 November at 14:00.")
    statuses = sorted((a.service_key, a.status) for a in await appointments(jola))
    assert statuses == [("massage", "cancelled"), ("physio", "booked")]


async def test_after_a_side_trip_the_booking_in_progress_is_resumed(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("physio friday at 14")
    await client.says("oh wait, first I need to cancel my appointment tomorrow")
    await client.says("yes")
    [resumed] = await client.taps("Book a new time")
    assert resumed.text.startswith("Shall I book this?\nPhysiotherapy (45 min)\nFriday 27 November at 14:00")


async def test_cancel_at_the_summary_drops_the_booking_in_progress(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage tomorrow at 10")
    [dropped] = await client.says("no, cancel")
    assert "no upcoming appointments" not in dropped.text
    assert "Would you like to book one?" not in dropped.text
    assert await appointments(jola) == []


async def test_a_tap_on_book_a_new_time_after_cancelling_starts_a_booking(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("cancel my appointment")
    await client.taps("Yes, cancel it")
    [book] = await client.taps("Book a new time")
    assert book.text == "What would you like to book?"


async def test_a_typed_yes_after_cancelling_starts_a_booking(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("cancel my appointment")
    await client.taps("Yes, cancel it")
    [book] = await client.says("yes")
    assert book.text == "What would you like to book?"


# ----------------------------------------------------------------------------------------- rescheduling


async def test_rescheduling_one_of_two_keeps_the_time_already_given(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("physio friday at 9")
    await client.taps("Yes, book it")

    [which] = await client.says("can I move my appointment to friday at 14?")
    assert which.text == "Which appointment would you like to move?"
    assert which.options == ["Tomorrow 10:00", "Fri 27 Nov 09:00"]
    [summary] = await client.taps("Tomorrow 10:00")
    assert (
        summary.text == "Move your Massage from tomorrow, Thursday 26 November, "
        "at 10:00 to Friday 27 November at 14:00?"
    )


async def test_rescheduling_one_of_two_asks_which_then_when(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("physio friday at 9")
    await client.taps("Yes, book it")

    [which] = await client.says("I need to reschedule")
    assert which.text == "Which appointment would you like to move?"
    [when] = await client.taps("Fri 27 Nov 09:00")
    assert when.text.startswith(
        "Your Physiotherapy is Friday 27 November at 09:00. When would you like to move it to?"
    )
    [summary] = await client.says("monday at 9")
    assert (
        summary.text
        == "Move your Physiotherapy from Friday 27 November at 09:00 to Monday 30 November at 09:00?"
    )
    [moved] = await client.taps("Yes, move it")
    assert moved.text == "Done: your Physiotherapy is now Monday 30 November at 09:00."
    starts = {a.service_key: a.start for a in await appointments(jola)}
    assert starts == {
        "massage": local("2026-11-26T10:00:00+01:00"),
        "physio": local("2026-11-30T09:00:00+01:00"),
    }


async def test_a_small_move_does_not_clash_with_the_appointments_own_time(jola: Jola) -> None:
    client = await booked_client(jola)
    [summary] = await client.says("could you move my massage to 10:30 tomorrow?")
    assert (
        summary.text == "Move your Massage from tomorrow, Thursday 26 November, at 10:00 "
        "to tomorrow, Thursday 26 November, at 10:30?"
    )
    await client.taps("Yes, move it")

    [appointment] = await appointments(jola)
    assert (appointment.start, appointment.end) == (
        local("2026-11-26T10:30:00+01:00"),
        local("2026-11-26T11:30:00+01:00"),
    )
    async with jola.db.read() as session:
        history = (await history_for(session, [appointment.id]))[appointment.id]
    assert [h["action"] for h in history] == ["booked", "rescheduled"]


async def test_rescheduling_onto_a_taken_time_offers_times_that_overlap_the_old_one(jola: Jola) -> None:
    await booked_client(jola, "massage tomorrow at 11", wa_id="4520000001", user_id=None)
    client = await booked_client(jola, wa_id="4520000002", user_id=None)  # tomorrow 10:00-11:00

    [taken] = await client.says("move my appointment to tomorrow at 10:30")
    assert taken.text.startswith("Sorry, tomorrow, Thursday 26 November, at 10:30 is taken.")
    # 09:30 and 09:45 overlap the client's own 10:00-11:00: that time is theirs to move within.
    assert taken.options == ["Tomorrow 09:30", "Tomorrow 09:45", "Tomorrow 10:00"]
    [summary] = await client.taps("Tomorrow 09:45")
    assert (
        summary.text == "Move your Massage from tomorrow, Thursday 26 November, at 10:00 "
        "to tomorrow, Thursday 26 November, at 09:45?"
    )
    await client.taps("Yes, move it")
    starts = sorted(a.start for a in await appointments(jola))
    assert starts == [local("2026-11-26T09:45:00+01:00"), local("2026-11-26T11:00:00+01:00")]


async def test_moving_to_the_same_time_is_not_offered_as_a_move(jola: Jola) -> None:
    client = await booked_client(jola)
    [reply] = await client.says("move my appointment to tomorrow at 10")
    assert not reply.text.startswith(
        "Move your Massage from tomorrow, Thursday 26 November, at "
        "10:00 to tomorrow, Thursday 26 November, at 10:00"
    )
    assert reply.text.startswith("Tomorrow, Thursday 26 November, at 10:00 is already your time.")


async def test_an_appointment_cancelled_meanwhile_is_not_moved_and_the_client_is_told(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph) as (jola, clock):
        client = await booked_client(jola)
        await client.says("move my appointment to friday at 14")
        [appointment] = await appointments(jola)
        await staff_cancels(jola, appointment.id, clock.now())

        answer = await client.taps("Yes, move it")
        assert len(answer) == 1
        [appointment] = await appointments(jola)
        assert appointment.status == "cancelled"
        assert await client.says("hello")


# ----------------------------------------------------------------------------------------- cancelling


@pytest.mark.parametrize("answer", ["the one on friday", "the physio one"])
async def test_which_appointment_can_be_answered_in_words(jola: Jola, answer: str) -> None:
    client = await booked_client(jola)
    await client.says("physio friday at 9")
    await client.taps("Yes, book it")
    await client.says("I want to cancel")
    [sure] = await client.says(answer)
    assert sure.text == "Cancel your Physiotherapy, Friday 27 November at 09:00?"


async def test_a_late_answer_to_cancel_it_gets_a_reply(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph) as (jola, clock):
        client = await booked_client(jola, "massage today at 13")
        [sure] = await client.says("cancel my appointment")
        assert sure.text == "Cancel your Massage, today, Wednesday 25 November, at 13:00?"
        clock.advance(hours=5)  # 14:00: the appointment has begun

        assert len(await client.says("yes")) == 1
        assert await client.says("hello")


async def test_the_other_options_work_while_asked_to_confirm_a_cancellation(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("cancel my appointment")
    [help_] = await client.says("help")
    assert help_.options == ["Book an appointment", "My appointments", "Talk to a person"]
    [kept] = await client.says("no")
    assert kept.text == "Good, I've kept your Massage, tomorrow, Thursday 26 November, at 10:00."

    await client.says("cancel my appointment")
    [person] = await client.says("I'd like to talk to a person")
    assert person.text == "I'll ask a member of our team to help you. They will answer you here."
    assert [a.status for a in await appointments(jola)] == ["booked"]


# ----------------------------------------------------------------------------------------- reconfirming


async def test_a_reminder_template_button_reconfirms(jola: Jola) -> None:
    client = await booked_client(jola)
    [appointment] = await appointments(jola)
    [thanks] = await press(client, f"confirm:{appointment.id}", "Yes, I'm coming")
    assert (
        thanks.text == "Thanks for confirming! See you tomorrow, Thursday 26 "
        "November, at 10:00 for your Massage."
    )
    assert [a.status for a in await appointments(jola)] == ["confirmed"]


async def test_a_second_confirm_changes_nothing(jola: Jola) -> None:
    client = await booked_client(jola)
    [appointment] = await appointments(jola)
    await press(client, f"confirm:{appointment.id}", "Yes, I'm coming")

    [again] = await press(client, f"confirm:{appointment.id}", "Yes, I'm coming")
    assert again.text.startswith(
        "Thanks! Your Massage, tomorrow, Thursday 26 November, at 10:00, is already confirmed."
    )
    async with jola.db.read() as session:
        history = (await history_for(session, [appointment.id]))[appointment.id]
    assert [h["action"] for h in history] == ["booked", "reconfirmed"]


async def test_the_same_confirm_delivered_twice_is_handled_once(jola: Jola) -> None:
    client = await booked_client(jola)
    [appointment] = await appointments(jola)
    payload = whatsapp_button(
        f"confirm:{appointment.id}",
        "Yes, I'm coming",
        wa_id=client.wa_id,
        user_id=client.user_id,
        wamid="wamid.CONFIRM-TWICE",
    )
    await jola.deliver(payload)
    await jola.deliver(payload)
    [thanks] = await client._replies()
    assert thanks.text.startswith("Thanks for confirming!")


async def test_confirming_a_cancelled_appointment_does_not_bring_it_back(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("cancel my appointment")
    await client.taps("Yes, cancel it")
    [appointment] = await appointments(jola)

    [reply] = await press(client, f"confirm:{appointment.id}", "Yes, I'm coming")
    assert reply.text.startswith(
        "That appointment (Massage, tomorrow, Thursday 26 November, at 10:00) is cancelled."
    )
    assert [a.status for a in await appointments(jola)] == ["cancelled"]


async def test_a_confirm_button_for_another_clients_appointment_does_nothing(jola: Jola) -> None:
    await booked_client(jola, wa_id="4520000001", user_id=None)
    [theirs] = await appointments(jola)
    other = WhatsAppClient(jola, wa_id="4520000002", user_id=None)

    [reply] = await press(other, f"confirm:{theirs.id}", "Yes, I'm coming")
    assert reply.text.endswith("(it is already confirmed, or no longer booked).")
    [cancel] = await press(other, f"cancel:{theirs.id}", "Cancel")
    assert "no upcoming appointments to cancel" in cancel.text
    assert [a.status for a in await appointments(jola)] == ["booked"]


async def test_confirming_an_already_confirmed_appointment_says_so(jola: Jola) -> None:
    client = await booked_client(jola)
    await client.says("physio friday at 9")
    await client.taps("Yes, book it")
    massage = next(a for a in await appointments(jola) if a.service_key == "massage")
    await press(client, f"confirm:{massage.id}", "Yes, I'm coming")

    [again] = await press(client, f"confirm:{massage.id}", "Yes, I'm coming")
    assert "tomorrow, Thursday 26 November, at 10:00" in again.text
    assert again.options == []


async def test_yes_im_coming_without_a_reminder_reconfirms(jola: Jola) -> None:
    """ "I'll be there" says more than "ok": it reconfirms the booked appointment, reminder or not."""
    client = await booked_client(jola)
    [reply] = await client.says("yes I'm coming")
    assert (
        reply.text == "Thanks for confirming! See you tomorrow, Thursday 26 "
        "November, at 10:00 for your Massage."
    )
    assert [a.status for a in await appointments(jola)] == ["confirmed"]


async def test_a_plain_ok_after_booking_reconfirms_nothing(jola: Jola) -> None:
    client = await booked_client(jola)
    [reply] = await client.says("ok thanks")
    assert reply.text == "You're welcome! Write any time if you need something."
    assert [a.status for a in await appointments(jola)] == ["booked"]


async def test_jeg_kommer_reconfirms_in_danish(danish: Jola) -> None:
    client = await booked_client(danish, "massage i morgen kl 10", "Ja, book den")
    [reply] = await client.says("ja, jeg kommer")
    assert (
        reply.text == "Tak fordi du bekræfter! Vi ses i morgen, torsdag den "
        "26. november, kl. 10.00 til Massage."
    )


# ----------------------------------------------------------------------------------------- never stuck


async def test_stop_then_a_new_request_is_served(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage")
    [stopped] = await client.says("STOP")
    assert stopped.text == (
        'Understood: no more reminders or messages from us here. Write "start" to have them again; you can '
        "write to us any time."
    )
    [summary] = await client.says("massage tomorrow at 10")
    assert summary.text.startswith("Shall I book this?")


async def test_stop_in_danish(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    await client.says("massage")
    [stopped] = await client.says("stop")
    assert stopped.text.endswith(
        'Forstået: ikke flere påmindelser eller beskeder fra os her. Skriv "start" for at få dem igen; '
        "du kan altid skrive til os."
    )


async def test_hello_after_stop_gets_an_answer(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")
    await client.says("stop")
    [hello] = await client.says("hello")
    assert hello.text == "What would you like to book?"


async def test_a_sticker_mid_booking_asks_for_text(jola: Jola) -> None:
    """A sticker or an image without a caption cannot be read: the client is asked to write (it does not
    count towards a person), and the booking goes on."""
    client = WhatsAppClient(jola)
    await client.says("massage")
    [again] = await sends(client, {"type": "sticker", "sticker": {"id": "9001", "mime_type": "image/webp"}})
    assert again.text == "Sorry, I can't open that kind of message. Could you write it as text?"
    [summary] = await client.says("friday at 14")
    assert "Friday 27 November at 14:00" in summary.text


async def test_an_image_caption_is_read_like_text(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    image = {
        "id": "9002",
        "mime_type": "image/jpeg",
        "caption": "massage tomorrow at 10 please",
    }
    [summary] = await sends(client, {"type": "image", "image": image})
    assert "Shall I book this?\nMassage (60 min)\ntomorrow, Thursday 26 November, at 10:00" in summary.text


async def test_three_misunderstood_turns_in_danish_hand_over_to_a_person(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    await client.says("hej")
    [first] = await client.says("blorp")
    assert first.text == "Undskyld, det forstod jeg ikke.\nHvad vil du gerne booke?"
    [second] = await client.says("zzz qqq")
    assert second.text.startswith("Undskyld, jeg forstår det stadig ikke.")
    [third] = await client.says("wub wub")
    assert third.text.startswith("Undskyld, jeg forstår det ikke. Jeg beder en fra vores team")
    async with danish.db.read() as session:
        assert (await session.execute(select(Conversation.needs_staff))).scalar() is True


# ----------------------------------------------------------------------------------------- language


async def test_asking_for_english_mid_booking_asks_the_same_question_in_english(danish: Jola) -> None:
    client = WhatsAppClient(danish)
    [times] = await client.says("massage")
    assert "Hvornår vil du gerne komme?" in times.text
    [english] = await client.says("in English please")
    assert english.text.startswith(ASK_TIME)
    assert english.options == ["Today 11:00", "Today 13:00", "Today 14:00", "Today 15:00"]
    [summary] = await client.says("friday at 14")
    assert summary.text.startswith("Shall I book this?\nMassage (60 min)\nFriday 27 November at 14:00")
    [dansk] = await client.says("på dansk tak")
    assert dansk.text.startswith("Skal jeg booke dette?\nMassage (60 min)\nfredag den 27. november kl. 14.00")
    [booked] = await client.taps("Ja, book den")
    assert booked.text.startswith("Du er booket: Massage, fredag den 27. november kl. 14.00.")


# ----------------------------------------------------------------------------------------- once only


async def test_the_same_yes_delivered_twice_books_once_and_answers_once(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage monday at 10")
    payload = whatsapp_button(
        "yes", "Yes, book it", wa_id=client.wa_id, user_id=client.user_id, wamid="wamid.YES-TWICE"
    )
    await jola.deliver(payload)
    await jola.deliver(payload)
    [booked] = await client._replies()
    assert booked.text.startswith("You're booked: Massage, Monday 30 November at 10:00.")
    assert len(await appointments(jola)) == 1


async def test_a_double_tap_on_yes_books_once(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("massage monday at 10")
    [booked] = await client.taps("Yes, book it")
    await jola.deliver(whatsapp_button("yes", "Yes, book it", wa_id=client.wa_id, user_id=client.user_id))
    [second] = await client._replies()
    assert booked.text.startswith("You're booked")
    assert second.text == "You're welcome! Write any time if you need something."
    assert len(await appointments(jola)) == 1


async def test_overlapping_times_confirmed_at_once_get_one_booking(jola: Jola) -> None:
    """Different starts, same hour: the unique index on the start cannot catch it, the calendar lock must."""
    one = WhatsAppClient(jola, wa_id="4520000011", user_id=None, name="One")
    two = WhatsAppClient(jola, wa_id="4520000012", user_id=None, name="Two")
    await one.says("massage tomorrow at 10")
    await two.says("massage tomorrow at 10:30")

    await asyncio.gather(
        jola.deliver(whatsapp_button("yes", "Yes, book it", wa_id=one.wa_id, user_id=None, name="One")),
        jola.deliver(whatsapp_button("yes", "Yes, book it", wa_id=two.wa_id, user_id=None, name="Two")),
    )
    replies = [*(await one._replies()), *(await two._replies())]
    assert len([r for r in replies if r.text.startswith("You're booked")]) == 1
    assert len([r for r in replies if "a moment ago" in r.text]) == 1
    assert len(await appointments(jola)) == 1


# ----------------------------------------------------------------------------------------- daylight saving


async def test_bookings_around_the_spring_change_are_stored_at_the_right_instant(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Thursday 25 March 2027; clocks go forward early on Sunday 28 March (CET +1 to CEST +2)."""
    hours = {**WEEKDAYS, "sat": ["08:00-12:00"], "sun": ["08:00-12:00"]}
    now = datetime(2027, 3, 25, 8, 0, tzinfo=UTC)
    async with clinic(database, fake_graph, now=now, hours=hours) as (jola, _):
        client = WhatsAppClient(jola)
        for said, shown in (
            ("massage saturday at 10", "Saturday 27 March at 10:00"),
            ("massage sunday at 10", "Sunday 28 March at 10:00"),
            ("massage monday at 10", "Monday 29 March at 10:00"),
        ):
            [summary] = await client.says(said)
            assert shown in summary.text
            [booked] = await client.taps("Yes, book it")
            assert shown in booked.text

        [sunday] = await client.says("physio on sunday")
        assert sunday.options[0] == "Sun 28 Mar 08:00"

        stored = [(a.start.astimezone(UTC), a.end.astimezone(UTC)) for a in await appointments(jola)]
        assert stored == [
            (datetime(2027, 3, 27, 9, 0, tzinfo=UTC), datetime(2027, 3, 27, 10, 0, tzinfo=UTC)),
            (datetime(2027, 3, 28, 8, 0, tzinfo=UTC), datetime(2027, 3, 28, 9, 0, tzinfo=UTC)),
            (datetime(2027, 3, 29, 8, 0, tzinfo=UTC), datetime(2027, 3, 29, 9, 0, tzinfo=UTC)),
        ]


async def test_bookings_around_the_autumn_change_in_danish(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Thursday 28 October 2027; clocks go back early on Sunday 31 October (CEST +2 to CET +1)."""
    hours = {**WEEKDAYS, "sun": ["08:00-12:00"]}
    now = datetime(2027, 10, 28, 7, 0, tzinfo=UTC)
    async with clinic(database, fake_graph, now=now, hours=hours, locale="da") as (jola, _):
        client = WhatsAppClient(jola)
        for said, shown in (
            ("massage fredag kl 10", "i morgen, fredag den 29. oktober, kl. 10.00"),
            ("massage søndag kl. 10", "søndag den 31. oktober kl. 10.00"),
            ("massage mandag kl halv elleve", "mandag den 1. november kl. 10.30"),
        ):
            [summary] = await client.says(said)
            assert shown in summary.text
            await client.taps("Ja, book den")

        stored = [a.start.astimezone(UTC) for a in await appointments(jola)]
        assert stored == [
            datetime(2027, 10, 29, 8, 0, tzinfo=UTC),
            datetime(2027, 10, 31, 9, 0, tzinfo=UTC),
            datetime(2027, 11, 1, 9, 30, tzinfo=UTC),
        ]
