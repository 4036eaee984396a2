"""Booking with someone, read as the chats they are: practitioners, a shared room and a class.

The clinic is open weekdays 08:00-12:00 and 13:00-17:00 (Europe/Copenhagen); it is Wednesday 25 November
2026, 09:00 there. Mia Holm and Jonas Berg do massage and physiotherapy; massage needs the one massage room.
Ida Lund holds the yoga class (3 places) on Tuesdays and Thursdays at 18:00, and does nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot import keys
from storage.appointments import resource_ids
from storage.time_off import add_time_off
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import NOW, appointments, clinic
from tests.support.fake_graph import FakeGraph

STAFF = {
    "services": [
        {"id": "massage", "name": "Massage", "duration_minutes": 60},
        {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45},
        {
            "id": "yoga",
            "name": "Yoga",
            "duration_minutes": 60,
            "capacity": 3,
            "sessions": [{"days": ["tue", "thu"], "time": "18:00", "practitioner": "ida"}],
        },
    ],
    "practitioners": [
        {"id": "mia", "name": "Mia Holm", "services": ["massage", "physio"]},
        {"id": "jonas", "name": "Jonas Berg", "services": ["massage", "physio"]},
        {"id": "ida", "name": "Ida Lund", "services": ["yoga"]},
    ],
    "rooms": [{"id": "massage-room", "name": "Massage room", "services": ["massage"]}],
}


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, **STAFF) as (running, _):
        yield running


@pytest.fixture
async def danish(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph, locale="da", **STAFF) as (running, _):
        yield running


def client(jola: Jola, number: int, name: str) -> WhatsAppClient:
    return WhatsAppClient(jola, wa_id=f"1555000{number:04d}", user_id=None, name=name)


async def with_whom(jola: Jola) -> list[tuple[str, str | None, str | None]]:
    """(start, practitioner, room) of every active appointment."""
    return [
        (a.start.isoformat(), a.practitioner_key, a.room_key)
        for a in await appointments(jola)
        if a.status in ("booked", "confirmed")
    ]


async def mia_away(jola: Jola, start: str, end: str) -> None:
    async with jola.db.write() as session:
        practitioners, _ = await resource_ids(session, "harbour-clinic")
        await add_time_off(
            session,
            "harbour-clinic",
            practitioners["mia"],
            start=datetime.fromisoformat(start),
            end=datetime.fromisoformat(end),
            note=None,
            actor="test",
            now=NOW,
        )


# ------------------------------------------------------------------------------------ no one in particular


async def test_two_clients_at_the_same_time_get_two_practitioners_and_a_third_gets_alternatives(
    jola: Jola,
) -> None:
    anna, ben, carl = (
        client(jola, 1, "Anna Jensen"),
        client(jola, 2, "Ben Olsen"),
        client(jola, 3, "Carl Dam"),
    )

    [summary] = await anna.says("physio tomorrow at 10")
    assert "Physiotherapy (45 min) with Mia Holm\ntomorrow, Thursday 26 November, at 10:00" in summary.text
    await anna.taps("Yes, book it")

    [summary] = await ben.says("physio tomorrow at 10")
    assert "Physiotherapy (45 min) with Jonas Berg\ntomorrow, Thursday 26 November, at 10:00" in summary.text
    [booked] = await ben.taps("Yes, book it")
    assert booked.text.startswith(
        "You're booked: Physiotherapy with Jonas Berg, tomorrow, Thursday 26 November, at 10:00."
    )

    [taken] = await carl.says("physio tomorrow at 10")
    assert "Sorry, tomorrow, Thursday 26 November, at 10:00 is taken." in taken.text
    assert "Tomorrow 10:00" not in taken.options
    assert {"Tomorrow 09:15", "Tomorrow 10:45"} <= set(taken.options)  # 45 minutes either side
    assert sorted(await with_whom(jola)) == [
        ("2026-11-26T09:00:00+00:00", "jonas", None),
        ("2026-11-26T09:00:00+00:00", "mia", None),
    ]


async def test_both_at_the_summary_at_once_are_booked_with_different_practitioners(jola: Jola) -> None:
    anna, ben = client(jola, 1, "Anna Jensen"), client(jola, 2, "Ben Olsen")
    [first] = await anna.says("physio tomorrow at 10")
    [second] = await ben.says("physio tomorrow at 10")
    assert "with Mia Holm" in first.text and "with Mia Holm" in second.text  # nobody has booked yet

    await anna.taps("Yes, book it")
    [booked] = await ben.taps("Yes, book it")
    assert booked.text.startswith(
        "The one shown was booked a moment ago, so Jonas Berg will see you instead. "
        "You're booked: Physiotherapy with Jonas Berg, tomorrow, Thursday 26 November, at 10:00."
    )
    assert sorted(p for _, p, _ in await with_whom(jola)) == ["jonas", "mia"]


async def test_the_first_offer_names_who_and_says_a_name_can_be_asked_for(jola: Jola) -> None:
    anna = client(jola, 1, "Anna Jensen")
    await anna.says("hello")
    [when] = await anna.taps("Physiotherapy")
    assert when.text.endswith("If you'd like someone in particular, say their name: Mia Holm, Jonas Berg.")
    last = jola.graph.sent_to(anna.wa_id)[-1]
    assert last.option_ids[0].endswith("@mia")


# ------------------------------------------------------------------------------------ asking for someone


async def test_with_mia_books_mia(jola: Jola) -> None:
    await client(jola, 9, "Someone Else").says("physio tomorrow at 10")
    await client(jola, 9, "Someone Else").taps("Yes, book it")  # Mia now has one that day, Jonas none
    anna = client(jola, 1, "Anna Jensen")

    [summary] = await anna.says("Can I see Mia for physio tomorrow at 11?")
    assert "Physiotherapy (45 min) with Mia Holm\ntomorrow, Thursday 26 November, at 11:00" in summary.text
    [booked] = await anna.taps("Yes, book it")
    assert booked.text.startswith(
        "You're booked: Physiotherapy with Mia Holm, tomorrow, Thursday 26 November, at 11:00."
    )
    assert ("2026-11-26T10:00:00+00:00", "mia", None) in await with_whom(jola)


async def test_asking_for_someone_who_does_not_do_the_service_is_answered_plainly(jola: Jola) -> None:
    anna = client(jola, 1, "Anna Jensen")
    [reply] = await anna.says("yoga with Mia please")
    assert "Mia Holm doesn't do Yoga; Ida Lund does." in reply.text
    assert reply.options[:2] == ["Tomorrow 18:00", "Tue 1 Dec 18:00"]


async def test_mia_away_on_friday_offers_jonas_then_and_mias_nearest(jola: Jola) -> None:
    await mia_away(jola, "2026-11-27T00:00:00+01:00", "2026-11-28T00:00:00+01:00")
    anna = client(jola, 1, "Anna Jensen")

    [away] = await anna.says("physio with Mia on friday at 10")
    assert away.text.startswith(
        "Hi Anna, welcome to Harbour Clinic!\n"
        "Sorry, Mia Holm is away Friday 27 November at 10:00. Jonas Berg is free then."
    )
    assert away.options[0] == "Fri 27 Nov 10:00"
    assert "Fri 27 Nov 11:00" not in away.options  # Mia is away all day: her nearest are on Monday
    assert any(option.startswith("Mon 30 Nov") for option in away.options)

    [summary] = await anna.taps("Fri 27 Nov 10:00")
    assert "Physiotherapy (45 min) with Jonas Berg" in summary.text
    await anna.taps("Yes, book it")
    assert await with_whom(jola) == [("2026-11-27T09:00:00+00:00", "jonas", None)]


async def test_the_same_as_last_time(jola: Jola) -> None:
    anna = client(jola, 1, "Anna Jensen")
    await anna.says("physio with Jonas today at 11")
    await anna.taps("Yes, book it")
    jola.app[keys.CLOCK].advance(days=2)  # Friday 27 November, 09:00: that appointment has been
    [summary] = await anna.says("massage on monday at 9 with the same as last time")
    assert "Massage (60 min) with Jonas Berg" in summary.text


# ------------------------------------------------------------------------------------ a shared room


async def test_a_room_shared_by_two_practitioners(jola: Jola) -> None:
    anna, ben = client(jola, 1, "Anna Jensen"), client(jola, 2, "Ben Olsen")
    await anna.says("massage tomorrow at 10")
    await anna.taps("Yes, book it")

    [taken] = await ben.says("massage tomorrow at 10")  # Jonas is free, but the massage room is not
    assert "Sorry, tomorrow, Thursday 26 November, at 10:00 is taken." in taken.text
    [summary] = await ben.says("physio instead")
    assert "Physiotherapy (45 min) with Jonas Berg\ntomorrow, Thursday 26 November, at 10:00" in summary.text
    await ben.taps("Yes, book it")
    assert sorted(await with_whom(jola)) == [
        ("2026-11-26T09:00:00+00:00", "jonas", None),
        ("2026-11-26T09:00:00+00:00", "mia", "massage-room"),
    ]


# ------------------------------------------------------------------------------------ rescheduling


async def test_rescheduling_keeps_the_practitioner(jola: Jola) -> None:
    anna = client(jola, 1, "Anna Jensen")
    await anna.says("physio with Jonas tomorrow at 10")
    await anna.taps("Yes, book it")

    [summary] = await anna.says("can I move my appointment to friday at 11")
    assert summary.text == (
        "Move your Physiotherapy with Jonas Berg from tomorrow, Thursday 26 "
        "November, at 10:00 to Friday 27 November at 11:00?"
    )
    [moved] = await anna.taps("Yes, move it")
    assert moved.text == "Done: your Physiotherapy with Jonas Berg is now Friday 27 November at 11:00."
    assert await with_whom(jola) == [("2026-11-27T10:00:00+00:00", "jonas", None)]


async def test_rescheduling_to_someone_else_when_asked(jola: Jola) -> None:
    anna = client(jola, 1, "Anna Jensen")
    await anna.says("physio with Jonas tomorrow at 10")
    await anna.taps("Yes, book it")

    [summary] = await anna.says("please move my appointment to friday at 11 with Mia")
    assert summary.text == (
        "Move your Physiotherapy from tomorrow, Thursday 26 November, at "
        "10:00 with Jonas Berg to Friday 27 November at 11:00"
        " with Mia Holm?"
    )
    await anna.taps("Yes, move it")
    assert await with_whom(jola) == [("2026-11-27T10:00:00+00:00", "mia", None)]


# ------------------------------------------------------------------------------------ a class


async def test_a_class_says_places_left_and_fills_up_to_its_last_place_under_a_race(jola: Jola) -> None:
    first = client(jola, 1, "Anna Jensen")
    [offer] = await first.says("I'd like to join yoga")
    assert "Yoga, 60 min. These are the next classes with places" in offer.text
    assert offer.options[:2] == ["Tomorrow 18:00", "Tue 1 Dec 18:00"]
    sent = jola.graph.sent_to(first.wa_id)[-1]
    assert sent.body["interactive"]["action"]["sections"][0]["rows"][0]["description"] == "3 places left"

    racers = [client(jola, n, f"Racer {n}") for n in range(2, 7)]
    for racer in racers:
        [summary] = await racer.says("yoga tomorrow at 18")
        assert "tomorrow, Thursday 26 November, at 18:00 (3 places left)" in summary.text
    answers = await asyncio.gather(*(racer.taps("Yes, book it") for racer in racers))
    booked = [a for [a] in answers if a.text.startswith("You're booked: Yoga with Ida Lund")]
    full = [
        a
        for [a] in answers
        if a.text.startswith("Sorry, the Yoga class tomorrow, Thursday 26 November, at 18:00 is full.")
    ]
    assert (len(booked), len(full)) == (3, 2), [a.text for [a] in answers]
    assert all(a.options[0] == "Tue 1 Dec 18:00" for a in full)

    [again] = await first.says("yoga tomorrow at 18")
    assert again.text.startswith("Sorry, the Yoga class tomorrow, Thursday 26 November, at 18:00 is full.")
    places = [(a.start.isoformat(), a.practitioner_key) for a in await appointments(jola)]
    assert places == [("2026-11-26T17:00:00+00:00", "ida")] * 3


# ------------------------------------------------------------------------------------ in Danish


async def test_danish_with_mia_and_a_reschedule_that_keeps_her(danish: Jola) -> None:
    mette = client(danish, 1, "Mette Hansen")
    [summary] = await mette.says("kan jeg få massage hos Mia i morgen kl. 10")
    assert "Massage (60 min) hos Mia Holm\ni morgen, torsdag den 26. november, kl. 10.00" in summary.text
    [booked] = await mette.says("ja tak")
    assert booked.text.startswith(
        "Du er booket: Massage hos Mia Holm, i morgen, torsdag den 26. november, kl. 10.00."
    )
    [move] = await mette.says("kan du flytte min tid til fredag kl. 11")
    assert move.text == (
        "Skal jeg flytte din Massage hos Mia Holm fra i morgen, torsdag den 26. november, kl. 10.00 "
        "til fredag den 27. november kl. 11.00?"
    )


async def test_danish_two_clients_and_mia_away(danish: Jola) -> None:
    await mia_away(danish, "2026-11-27T00:00:00+01:00", "2026-11-28T00:00:00+01:00")
    mette, søren = client(danish, 1, "Mette Hansen"), client(danish, 2, "Søren Dal")
    [away] = await mette.says("fysioterapi hos Mia fredag kl. 10")
    assert (
        "Desværre har Mia Holm fri fredag den 27. november kl. 10.00. Jonas Berg er ledig på det tidspunkt."
        in away.text
    )
    [summary] = await mette.taps("fre 27. nov 10.00")
    assert "hos Jonas Berg" in summary.text
    await mette.says("ja")
    [other] = await søren.says("fysioterapi fredag kl. 10")
    assert "Desværre er fredag den 27. november kl. 10.00 optaget." in other.text


async def test_a_class_booking_moves_to_another_session_and_is_listed_and_cancelled_with_its_teacher(
    jola: Jola,
) -> None:
    anna = client(jola, 1, "Anna Jensen")
    await anna.says("yoga tomorrow at 18")
    await anna.taps("Yes, book it")
    [move] = await anna.says("can I move my yoga to tuesday")
    assert move.text.startswith("Free times with Ida Lund Tuesday 1 December.")
    assert move.options == ["Tue 1 Dec 18:00"]
    [summary] = await anna.taps("Tue 1 Dec 18:00")
    assert (
        summary.text == "Move your Yoga with Ida Lund from tomorrow, Thursday 26 "
        "November, at 18:00 to Tuesday 1 December at 18:00?"
    )
    await anna.taps("Yes, move it")
    assert await with_whom(jola) == [("2026-12-01T17:00:00+00:00", "ida", None)]

    [mine] = await anna.says("my appointments")
    assert "• Yoga with Ida Lund, Tuesday 1 December at 18:00" in mine.text
    [sure] = await anna.says("I need to cancel")
    assert sure.text == "Cancel your Yoga with Ida Lund, Tuesday 1 December at 18:00?"
    [done] = await anna.taps("Yes, cancel it")
    assert done.text == "Your Yoga with Ida Lund, Tuesday 1 December at 18:00, is cancelled."
    assert await with_whom(jola) == []


async def test_danish_class_places_and_a_full_session(danish: Jola) -> None:
    first, second, third = (client(danish, n, f"Klient {n}") for n in (1, 2, 3))
    [summary] = await first.says("yoga i morgen kl. 18")
    assert (
        "Yoga (60 min) hos Ida Lund\ni morgen, torsdag den 26. "
        "november, kl. 18.00 (3 pladser tilbage)" in summary.text
    )
    [booked] = await first.says("ja")
    assert booked.text.startswith(
        "Du er booket: Yoga hos Ida Lund, i morgen, torsdag den 26. november, kl. 18.00."
    )
    for other in (second, third):
        await other.says("yoga i morgen kl. 18")
        await other.says("ja")
    [full] = await client(danish, 4, "Klient 4").says("yoga i morgen kl. 18")
    assert "Desværre er holdet Yoga i morgen, torsdag den 26. november, kl. 18.00 fuldt." in full.text
    assert "Her er de næste hold med ledige pladser" in full.text
    assert full.options[0] == "tir 1. dec 18.00"
