"""Free time across practitioners, rooms and classes (flows/calendars.py), without a database: who is
free when, why not, who is picked, and what a class has left."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.availability import BookingRules, Unavailable, first_free, free_slots, narrowed, nearest_free
from flows.calendars import Calendar, Slot
from flows.context import BusinessProfile, PractitionerInfo, RoomInfo, ServiceInfo, SessionInfo
from storage.appointments import Booked
from storage.time_off import Away

ZONE = ZoneInfo("Europe/Copenhagen")
WEEKDAYS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
RULES = BookingRules.from_strings(timezone="Europe/Copenhagen", hours=WEEKDAYS)
NOW = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # Monday 1 March 2027, 08:00 in Copenhagen
MON, TUE, WED, THU = (date(2027, 3, d) for d in (1, 2, 3, 4))
MASSAGE = ServiceInfo("massage", "Massage", 60)
PHYSIO = ServiceInfo("physio", "Physiotherapy", 45)
YOGA = ServiceInfo(
    "yoga",
    "Yoga",
    60,
    capacity=2,
    sessions=(
        SessionInfo(at=time(18), weekdays=(1,), practitioner="ida", room="studio"),  # Tuesdays
        SessionInfo(at=time(10), on=date(2027, 3, 6), practitioner="ida"),  # Saturday 6 March, once
    ),
)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZONE)


def person(
    key: str, services: tuple[str, ...] | None = None, hours: dict[str, Any] | None = None
) -> PractitionerInfo:
    return PractitionerInfo(
        key,
        key.title(),
        None if services is None else frozenset(services),
        narrowed(RULES, hours) if hours else RULES,
    )


def clinic(*people: PractitionerInfo, rooms: tuple[RoomInfo, ...] = ()) -> BusinessProfile:
    return BusinessProfile(
        "clinic",
        "Clinic",
        "en",
        "Europe/Copenhagen",
        services=(MASSAGE, PHYSIO, YOGA),
        rules=RULES,
        practitioners=people,
        rooms=rooms,
    )


def booked(day: date, span: str, who: str | None, room: str | None = None, service: str = "physio") -> Booked:
    first, last = span.split("-")
    return Booked(at(day, first), at(day, last), service, who, room)


def calendar(business: BusinessProfile, *appointments: Booked, away: tuple[Away, ...] = ()) -> Calendar:
    return Calendar(business, appointments, away, NOW - timedelta(days=1), NOW + timedelta(days=70))


MIA, JONAS = person("mia", ("massage", "physio")), person("jonas", ("massage", "physio"))
IDA = person("ida", ("yoga",))


def starts(slots: list[Slot]) -> list[str]:
    return [s.start.strftime("%a %H:%M") for s in slots]


# ------------------------------------------------------------------------------------------ one calendar


def test_a_business_without_practitioners_is_the_single_calendar_it_was() -> None:
    """Same answers as flows.availability on the same busy time, and no one named."""
    business = clinic()
    appointments = [booked(MON, "10:00-11:00", None), booked(TUE, "08:00-12:00", None)]
    found = calendar(business, *appointments)
    busy = found.busy_of(None)
    duration = timedelta(minutes=45)
    assert [s.start for s in found.soonest(PHYSIO, NOW, 12)] == first_free(RULES, duration, busy, NOW, 12)
    assert [s.start for s in found.on_day(PHYSIO, NOW, TUE)] == free_slots(RULES, duration, busy, NOW, TUE)
    wanted = at(MON, "10:00")
    assert [s.start for s in found.nearest(PHYSIO, NOW, wanted, 3)] == nearest_free(
        RULES, duration, busy, NOW, wanted, 3
    )
    assert all(s.practitioners == () for s in found.soonest(PHYSIO, NOW, 12))
    assert found.why_not(PHYSIO, NOW, wanted) == Unavailable.TAKEN
    assert found.at(PHYSIO, NOW, at(MON, "13:00")) == Slot(at(MON, "13:00"))


# ------------------------------------------------------------------------------------------ practitioners


def test_a_time_taken_with_one_practitioner_is_still_offered_with_the_other() -> None:
    found = calendar(clinic(MIA, JONAS), booked(MON, "10:00-11:00", "mia"))
    assert found.at(PHYSIO, NOW, at(MON, "10:00")) == Slot(at(MON, "10:00"), ("jonas",))
    both = calendar(
        clinic(MIA, JONAS), booked(MON, "10:00-11:00", "mia"), booked(MON, "10:00-11:00", "jonas")
    )
    assert both.at(PHYSIO, NOW, at(MON, "10:00")) is None
    assert both.why_not(PHYSIO, NOW, at(MON, "10:00")) == Unavailable.TAKEN
    assert both.why_not(PHYSIO, NOW, at(MON, "10:00"), who="mia") == Unavailable.TAKEN


def test_someone_who_does_not_perform_a_service_is_never_offered_for_it() -> None:
    found = calendar(clinic(MIA, IDA))
    assert all(s.practitioners == ("mia",) for s in found.soonest(PHYSIO, NOW, 20))
    assert found.soonest(PHYSIO, NOW, 5, who="ida") == []


def test_narrowed_hours_are_the_only_starts_and_outside_them_is_not_working() -> None:
    jonas = person("jonas", ("physio",), {"mon": ["09:00-12:00"]})
    found = calendar(clinic(jonas))
    day = found.on_day(PHYSIO, NOW, MON, who="jonas")
    assert starts(day)[0] == "Mon 10:00" and starts(day)[-1] == "Mon 11:15"  # 2 hours' notice from 08:00
    assert found.on_day(PHYSIO, NOW, TUE, who="jonas") == []
    assert found.why_not(PHYSIO, NOW, at(TUE, "10:00"), who="jonas") == Unavailable.NOT_WORKING
    assert found.why_not(PHYSIO, NOW, at(MON, "14:00"), who="jonas") == Unavailable.NOT_WORKING
    assert found.why_not(PHYSIO, NOW, at(MON, "20:00"), who="jonas") == Unavailable.CLOSED


def test_time_off_takes_a_practitioner_out_for_its_span() -> None:
    whole_tuesday = Away(1, "mia", at(TUE, "00:00"), at(WED, "00:00"))
    found = calendar(clinic(MIA, JONAS), away=(whole_tuesday,))
    assert {s.practitioners for s in found.on_day(PHYSIO, NOW, TUE)} == {("jonas",)}
    assert found.why_not(PHYSIO, NOW, at(TUE, "10:00"), who="mia") == Unavailable.AWAY
    assert found.why_not(PHYSIO, NOW, at(TUE, "10:00")) is None
    assert found.on_day(PHYSIO, NOW, WED, who="mia") != []


def test_an_appointment_with_no_practitioner_keeps_everyone_busy() -> None:
    """Booked before practitioners were set up: nobody may be double-booked over it."""
    found = calendar(clinic(MIA, JONAS), booked(MON, "10:00-11:00", None))
    assert found.at(PHYSIO, NOW, at(MON, "10:00")) is None


def test_a_buffer_applies_to_each_practitioner() -> None:
    rules = BookingRules.from_strings(timezone="Europe/Copenhagen", hours=WEEKDAYS, buffer_minutes=15)
    mia = PractitionerInfo("mia", "Mia", None, rules)
    business = BusinessProfile(
        "c", "C", "en", "Europe/Copenhagen", services=(PHYSIO,), rules=rules, practitioners=(mia,)
    )
    found = calendar(business, booked(MON, "10:00-11:00", "mia"))
    assert found.at(PHYSIO, NOW, at(MON, "11:00")) is None
    assert found.at(PHYSIO, NOW, at(MON, "11:15")) == Slot(at(MON, "11:15"), ("mia",))


# ------------------------------------------------------------------------------------------ rooms


def test_two_practitioners_sharing_one_room_cannot_both_take_the_hour() -> None:
    room = RoomInfo("room-1", "Room 1", frozenset({"massage"}))
    one_room = calendar(
        clinic(MIA, JONAS, rooms=(room,)), booked(MON, "10:00-11:00", "mia", "room-1", "massage")
    )
    assert one_room.at(MASSAGE, NOW, at(MON, "10:00")) is None
    assert one_room.at(PHYSIO, NOW, at(MON, "10:00")) == Slot(at(MON, "10:00"), ("jonas",))  # no room needed
    assert one_room.room_for(MASSAGE, at(MON, "11:00")) == "room-1"

    second = RoomInfo("room-2", "Room 2", frozenset({"massage"}))
    two_rooms = calendar(
        clinic(MIA, JONAS, rooms=(room, second)), booked(MON, "10:00-11:00", "mia", "room-1", "massage")
    )
    assert two_rooms.at(MASSAGE, NOW, at(MON, "10:00")) == Slot(at(MON, "10:00"), ("jonas",))
    assert two_rooms.room_for(MASSAGE, at(MON, "10:00")) == "room-2"


# ------------------------------------------------------------------------------------------ classes


def test_class_sessions_expand_weekly_and_once_with_their_places() -> None:
    found = calendar(clinic(MIA, IDA), booked(TUE, "18:00-19:00", "ida", "studio", "yoga"))
    slots = found.soonest(YOGA, NOW, 4)
    assert [(s.start, s.practitioners, s.places_left) for s in slots] == [
        (at(TUE, "18:00"), ("ida",), 1),
        (at(date(2027, 3, 6), "10:00"), ("ida",), 2),
        (at(date(2027, 3, 9), "18:00"), ("ida",), 2),
        (at(date(2027, 3, 16), "18:00"), ("ida",), 2),
    ]


def test_a_full_session_is_not_offered_and_says_full() -> None:
    full = calendar(
        clinic(IDA),
        booked(TUE, "18:00-19:00", "ida", service="yoga"),
        booked(TUE, "18:00-19:00", "ida", service="yoga"),
    )
    assert full.soonest(YOGA, NOW, 1)[0].start == at(date(2027, 3, 6), "10:00")
    assert full.why_not(YOGA, NOW, at(TUE, "18:00")) == Unavailable.FULL
    assert full.why_not(YOGA, NOW, at(TUE, "17:00")) == Unavailable.NO_SESSION
    assert full.why_not(YOGA, NOW, at(MON, "07:00")) == Unavailable.PAST
    assert full.why_not(YOGA, at(TUE, "17:00"), at(TUE, "18:00")) == Unavailable.TOO_SOON


def test_a_session_whose_holder_is_away_is_not_offered() -> None:
    away = Away(1, "ida", at(TUE, "00:00"), at(WED, "00:00"))
    found = calendar(clinic(IDA), away=(away,))
    assert at(TUE, "18:00") not in [s.start for s in found.soonest(YOGA, NOW, 3)]
    assert found.why_not(YOGA, NOW, at(TUE, "18:00")) == Unavailable.AWAY


def test_a_session_keeps_its_practitioner_and_room_busy() -> None:
    ida = person("ida", ("yoga", "physio"), {"tue": ["08:00-20:00"]})
    studio = RoomInfo("studio", "Studio", frozenset({"massage"}))
    business = clinic(ida, MIA, rooms=(studio,))
    found = calendar(business)
    assert found.at(PHYSIO, NOW, at(TUE, "18:00"), who="ida") is None  # she is teaching
    assert found.at(MASSAGE, NOW, at(TUE, "17:00"), who="mia") is None  # the studio is set for the class


@pytest.mark.parametrize(
    ("session_day", "hhmm", "count"),
    [(date(2027, 3, 28), "02:30", 0), (date(2027, 10, 31), "02:30", 1)],
    ids=["spring forward skips it", "fall back has it once"],
)
def test_sessions_on_dst_days(session_day: date, hhmm: str, count: int) -> None:
    night = ServiceInfo(
        "night",
        "Night class",
        30,
        capacity=5,
        sessions=(SessionInfo(at=time.fromisoformat(hhmm), on=session_day),),
    )
    business = BusinessProfile("c", "C", "en", "Europe/Copenhagen", services=(night,), rules=RULES)
    start = datetime.combine(session_day - timedelta(days=3), time(0), ZONE)
    found = Calendar(business, [], [], start, start + timedelta(days=6))
    assert len(found.soonest(night, start - timedelta(days=1), 5)) == count


# ------------------------------------------------------------------------------------------ who is picked


def test_the_pick_is_the_one_seen_last_else_the_least_booked_that_day_else_config_order() -> None:
    found = calendar(
        clinic(MIA, JONAS), booked(MON, "08:00-09:00", "mia"), booked(TUE, "08:00-09:00", "jonas")
    )
    monday, tuesday, wednesday = (Slot(at(d, "14:00"), ("mia", "jonas")) for d in (MON, TUE, WED))
    assert found.pick(monday) == "jonas"
    assert found.pick(tuesday) == "mia"
    assert found.pick(wednesday) == "mia"  # a tie: config order
    assert found.pick(monday, seen_last="mia") == "mia"
    assert found.pick(Slot(at(MON, "14:00"), ("jonas",)), seen_last="mia") == "jonas"  # not free: not her


def test_nearest_merges_practitioners_without_repeating_a_start() -> None:
    found = calendar(clinic(MIA, JONAS), booked(MON, "13:00-17:00", "mia"))
    near = found.nearest(PHYSIO, NOW, at(MON, "14:00"), 3)
    assert starts(near) == ["Mon 13:45", "Mon 14:00", "Mon 14:15"]
    assert all(s.practitioners == ("jonas",) for s in near)
    assert len({s.start for s in found.soonest(PHYSIO, NOW, 30)}) == 30
