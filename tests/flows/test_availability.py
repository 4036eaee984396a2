"""Availability: opening ranges, notice, horizon, buffers, DST days, alternatives, and why not."""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.availability import (
    BookingRules,
    Busy,
    Unavailable,
    first_free,
    free_slots,
    is_bookable,
    nearest_free,
    why_not,
)

ZONE = ZoneInfo("Europe/Copenhagen")
WEEKDAY_HOURS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
MON, TUE, WED, THU, FRI, SAT = (date(2027, 3, day) for day in range(1, 7))
NEXT_MON = date(2027, 3, 8)
SPRING_FORWARD = date(2027, 3, 28)  # Copenhagen: 02:00 jumps to 03:00
FALL_BACK = date(2027, 10, 31)  # Copenhagen: 03:00 falls back to 02:00
HOUR = timedelta(hours=1)
MINUTES = timedelta(minutes=1)


def rules(**overrides: Any) -> BookingRules:
    """Weekday hours with a lunch break in Copenhagen, the contract's defaults unless overridden."""
    settings = {"timezone": "Europe/Copenhagen", "hours": WEEKDAY_HOURS} | overrides
    return BookingRules.from_strings(**settings)


def at(day: date, hhmm: str, fold: int = 0) -> datetime:
    """A Copenhagen wall time on `day`."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZONE).replace(fold=fold)


def busy(day: date, span: str) -> Busy:
    """An appointment from "HH:MM-HH:MM" on `day`."""
    first, last = span.split("-")
    return Busy(at(day, first), at(day, last))


def later(moment: datetime, delta: timedelta) -> datetime:
    """`moment` plus real elapsed time (aware arithmetic within one zone is wall-clock arithmetic)."""
    return (moment.astimezone(UTC) + delta).astimezone(ZONE)


def elapsed(first: datetime, last: datetime) -> timedelta:
    """Real time between two instants, whatever their zones."""
    return last.astimezone(UTC) - first.astimezone(UTC)


def hhmm(slots: Sequence[datetime]) -> list[str]:
    """Slots as wall-clock strings, so expectations read like a schedule."""
    return [slot.strftime("%H:%M") for slot in slots]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """Wall times from `first` to `last` inclusive, every `step` minutes."""
    moment, end, found = at(MON, first), at(MON, last), []
    while moment <= end:
        found.append(moment.strftime("%H:%M"))
        moment += timedelta(minutes=step)
    return found


EARLY = at(date(2027, 2, 26), "12:00")  # a Friday before the test week; notice and horizon never interfere


# --- rules -----------------------------------------------------------------------------------------


def test_from_strings_reads_the_config_shapes() -> None:
    """The config's weekday names, "HH:MM-HH:MM" ranges and "24:00" become typed rules."""
    built = BookingRules.from_strings(
        timezone="Europe/Copenhagen",
        hours={"mon": ["13:00-17:00", "08:00-12:00"], "sun": ["20:00-24:00"]},
        slot_step_minutes=30,
        buffer_minutes=10,
        min_notice=timedelta(hours=4),
        max_ahead=timedelta(days=30),
    )
    assert built.zone == ZONE
    assert built.hours == {0: ((time(8), time(12)), (time(13), time(17))), 6: ((time(20), None),)}
    assert (built.slot_step, built.buffer) == (timedelta(minutes=30), timedelta(minutes=10))
    assert (built.min_notice, built.max_ahead) == (timedelta(hours=4), timedelta(days=30))


@pytest.mark.parametrize(
    "overrides",
    [
        {"hours": {"funday": ["08:00-12:00"]}},
        {"hours": {"mon": ["8-12"]}},
        {"hours": {"mon": ["12:00-08:00"]}},
        {"slot_step_minutes": 0},
        {"buffer_minutes": -5},
    ],
)
def test_unusable_rules_are_refused(overrides: dict[str, Any]) -> None:
    """A typo in the hours or a nonsense step fails loudly instead of silently closing the business."""
    with pytest.raises(ValueError):
        rules(**overrides)


def test_bad_weekday_number_is_refused() -> None:
    """Weekday numbers are 0..6, as `date.weekday()` gives them."""
    with pytest.raises(ValueError):
        BookingRules(zone=ZONE, hours={7: ((time(8), time(12)),)})


def test_naive_datetimes_and_empty_durations_are_refused() -> None:
    """A naive time or a zero duration is a caller bug, not something to guess about."""
    with pytest.raises(ValueError):
        free_slots(rules(), HOUR, [], datetime(2027, 3, 1, 8), TUE)
    with pytest.raises(ValueError):
        why_not(rules(), timedelta(0), [], EARLY, at(TUE, "10:00"))


# --- opening hours ---------------------------------------------------------------------------------


def test_slots_stay_inside_one_range_and_never_span_lunch() -> None:
    """An hour-long service starts at 11:00 at the latest before lunch and resumes at 13:00."""
    slots = free_slots(rules(), HOUR, [], EARLY, TUE)
    assert hhmm(slots) == grid("08:00", "11:00") + grid("13:00", "16:00")
    assert all(slot.tzinfo == ZONE for slot in slots)


def test_a_closed_day_has_no_slots() -> None:
    """Saturday is missing from the hours, so it is closed."""
    assert free_slots(rules(), HOUR, [], EARLY, SAT) == []
    assert why_not(rules(), HOUR, [], EARLY, at(SAT, "10:00")) is Unavailable.CLOSED


def test_24_00_ends_the_day() -> None:
    """ "24:00" closes at midnight: the last hour-long slot starts at 23:00."""
    late = rules(hours={"fri": ["20:00-24:00"]})
    assert hhmm(free_slots(late, HOUR, [], EARLY, FRI)) == grid("20:00", "23:00")
    assert why_not(late, HOUR, [], EARLY, at(FRI, "23:15")) is Unavailable.DOES_NOT_FIT
    assert why_not(late, HOUR, [], EARLY, at(SAT, "00:00")) is Unavailable.CLOSED


def test_durations_that_are_not_a_multiple_of_the_step() -> None:
    """A 50-minute service stays on the 15-minute grid and frees the grid slot right after it."""
    fifty = timedelta(minutes=50)
    slots = free_slots(rules(), fifty, [busy(TUE, "09:00-09:50")], EARLY, TUE)
    assert hhmm(slots)[:6] == ["08:00", "10:00", "10:15", "10:30", "10:45", "11:00"]
    assert "11:15" not in hhmm(slots)  # would end at 12:05
    assert why_not(rules(), fifty, [], EARLY, at(TUE, "11:10")) is Unavailable.OFF_GRID


def test_a_coarser_step_and_ranges_starting_off_the_hour() -> None:
    """Slots step from each range's own start, not from the top of the hour."""
    odd = rules(hours={"tue": ["08:10-10:00"]}, slot_step_minutes=30)
    assert hhmm(free_slots(odd, timedelta(minutes=30), [], EARLY, TUE)) == ["08:10", "08:40", "09:10"]


# --- notice and horizon ----------------------------------------------------------------------------


def test_min_notice_hides_slots_that_start_too_soon() -> None:
    """With 2h notice at 08:50 the first hour-long slot is 11:00, then the afternoon."""
    now = at(TUE, "08:50")
    assert hhmm(free_slots(rules(), HOUR, [], now, TUE)) == ["11:00", *grid("13:00", "16:00")]
    assert why_not(rules(), HOUR, [], now, at(TUE, "10:45")) is Unavailable.TOO_SOON


def test_min_notice_boundary_is_inclusive() -> None:
    """A start exactly min_notice away is bookable."""
    assert is_bookable(rules(), HOUR, [], at(TUE, "08:00"), at(TUE, "10:00"))


def test_max_ahead_boundary_is_inclusive() -> None:
    """With a week's horizon from Tuesday 10:00, next Tuesday offers slots up to 10:00 and no later."""
    week = rules(max_ahead=timedelta(days=7))
    now, next_tue = at(TUE, "10:00"), TUE + timedelta(days=7)
    assert hhmm(free_slots(week, HOUR, [], now, next_tue)) == grid("08:00", "10:00")
    assert why_not(week, HOUR, [], now, at(next_tue, "10:15")) is Unavailable.TOO_FAR
    assert free_slots(week, HOUR, [], now, next_tue + timedelta(days=1)) == []


# --- busy time and buffers -------------------------------------------------------------------------


def test_overlap_is_half_open() -> None:
    """Back-to-back appointments are fine: one ending at 09:00 or starting at 10:00 does not clash."""
    taken = [busy(TUE, "09:00-10:00")]
    assert is_bookable(rules(), HOUR, taken, EARLY, at(TUE, "08:00"))
    assert is_bookable(rules(), HOUR, taken, EARLY, at(TUE, "10:00"))
    assert why_not(rules(), HOUR, taken, EARLY, at(TUE, "08:15")) is Unavailable.TAKEN
    assert why_not(rules(), HOUR, taken, EARLY, at(TUE, "09:45")) is Unavailable.TAKEN


def test_buffer_is_kept_after_existing_and_after_new_appointments() -> None:
    """A 15-minute buffer follows the existing 10:00-11:00 and must also follow the new booking."""
    buffered, half_hour, taken = rules(buffer_minutes=15), timedelta(minutes=30), [busy(TUE, "10:00-11:00")]
    morning = hhmm(free_slots(buffered, half_hour, taken, EARLY, TUE))[:10]
    assert morning == [*grid("08:00", "09:15"), "11:15", "11:30", "13:00", "13:15"]
    assert why_not(buffered, half_hour, taken, EARLY, at(TUE, "09:30")) is Unavailable.TAKEN  # new's buffer
    assert why_not(buffered, half_hour, taken, EARLY, at(TUE, "11:00")) is Unavailable.TAKEN  # existing's


def test_buffer_may_run_past_closing() -> None:
    """The buffer is for cleaning up, so the last appointment may end exactly at closing time."""
    assert is_bookable(rules(buffer_minutes=30), HOUR, [], EARLY, at(TUE, "16:00"))


def test_empty_busy_intervals_are_ignored() -> None:
    """A zero-length or inverted busy interval blocks nothing."""
    odd = [Busy(at(TUE, "10:00"), at(TUE, "10:00")), Busy(at(TUE, "11:00"), at(TUE, "10:30"))]
    assert free_slots(rules(), HOUR, odd, EARLY, TUE) == free_slots(rules(), HOUR, [], EARLY, TUE)


def test_inputs_in_other_zones_are_compared_as_instants() -> None:
    """Busy times in New York and a `now` in UTC still line up; answers come back in the business zone."""
    new_york = ZoneInfo("America/New_York")
    taken = [Busy(datetime(2027, 3, 2, 4, tzinfo=new_york), datetime(2027, 3, 2, 5, tzinfo=new_york))]
    now = datetime(2027, 3, 2, 5, tzinfo=UTC)  # 06:00 in Copenhagen
    assert why_not(rules(), HOUR, taken, now, datetime(2027, 3, 2, 9, tzinfo=UTC)) is Unavailable.TAKEN
    slots = free_slots(rules(), HOUR, taken, now, TUE)
    assert hhmm(slots)[:2] == ["08:00", "08:15"] and "10:00" not in hhmm(slots) and "11:00" in hhmm(slots)
    assert {slot.tzinfo for slot in slots} == {ZONE}


# --- why_not ---------------------------------------------------------------------------------------

WHY_NOT_NOW = at(TUE, "08:00")
WHY_NOT_BUSY = [busy(TUE, "14:00-15:00")]


WHY_NOT_CASES = [
    (at(MON, "10:00"), Unavailable.PAST),
    (at(MON, "10:00") + timedelta(days=63), Unavailable.TOO_FAR),
    (at(SAT, "10:00"), Unavailable.CLOSED),
    (at(TUE, "12:30"), Unavailable.CLOSED),
    (at(WED, "07:45"), Unavailable.CLOSED),
    (at(WED, "10:10"), Unavailable.OFF_GRID),
    (at(WED, "11:30"), Unavailable.DOES_NOT_FIT),
    (at(TUE, "09:00"), Unavailable.TOO_SOON),
    (at(TUE, "14:30"), Unavailable.TAKEN),
    (at(TUE, "15:00"), None),
]


@pytest.mark.parametrize(("start", "reason"), WHY_NOT_CASES)
def test_why_not_names_the_reason(start: datetime, reason: Unavailable | None) -> None:
    """Each reason the bot can explain, plus a free slot that has none."""
    assert why_not(rules(), HOUR, WHY_NOT_BUSY, WHY_NOT_NOW, start) is reason
    assert is_bookable(rules(), HOUR, WHY_NOT_BUSY, WHY_NOT_NOW, start) is (reason is None)


def test_why_not_cases_cover_every_reason() -> None:
    """A new reason must get a test case above (those only a business with practitioners or classes gives
    are tested in test_calendars.py)."""
    calendars_only = {Unavailable.AWAY, Unavailable.NOT_WORKING, Unavailable.NO_SESSION, Unavailable.FULL}
    assert {reason for _, reason in WHY_NOT_CASES} - {None} == set(Unavailable) - calendars_only


# --- alternatives ----------------------------------------------------------------------------------


def test_nearest_free_offers_the_closest_times_on_the_same_day() -> None:
    """10:00 is taken: 09:00 and 11:00 are an hour away; a tie for third goes to the earlier time."""
    taken = [busy(TUE, "10:00-11:00")]
    assert hhmm(nearest_free(rules(), HOUR, taken, EARLY, at(TUE, "10:00"), count=2)) == ["09:00", "11:00"]
    assert hhmm(nearest_free(rules(), HOUR, taken, EARLY, at(TUE, "10:00"))) == ["08:45", "09:00", "11:00"]


def test_nearest_free_includes_the_wanted_time_when_it_is_free() -> None:
    """Asking for a free time gets that time first among its neighbours."""
    assert hhmm(nearest_free(rules(), HOUR, [], EARLY, at(TUE, "10:00"))) == ["09:45", "10:00", "10:15"]


def test_nearest_free_rolls_over_the_weekend() -> None:
    """Friday has only 15:00 left, so Monday's first slots fill up the offer."""
    taken = [busy(FRI, "08:00-15:00"), busy(FRI, "16:00-17:00")]
    offered = nearest_free(rules(), HOUR, taken, EARLY, at(FRI, "10:00"))
    assert offered == [at(FRI, "15:00"), at(NEXT_MON, "08:00"), at(NEXT_MON, "08:15")]


def test_nearest_free_for_a_closed_day_offers_the_next_open_day() -> None:
    """Asking for Saturday offers Monday morning."""
    assert nearest_free(rules(), HOUR, [], EARLY, at(SAT, "10:00"), count=1) == [at(NEXT_MON, "08:00")]


def test_nearest_free_stops_at_max_ahead() -> None:
    """When everything up to the horizon is booked there is nothing to offer."""
    short = rules(max_ahead=timedelta(days=5))
    everything = [Busy(EARLY, EARLY + timedelta(days=30))]
    assert nearest_free(short, HOUR, everything, EARLY, at(MON, "10:00")) == []


def test_first_free_gives_the_soonest_starts() -> None:
    """From Tuesday 06:00 the soonest slots are Tuesday's first ones."""
    assert hhmm(first_free(rules(), HOUR, [], at(TUE, "06:00"))) == ["08:00", "08:15", "08:30"]


def test_first_free_after_a_given_time() -> None:
    """`after` moves the search forward; starts are on the grid at or after it."""
    found = first_free(rules(), HOUR, [], EARLY, count=2, after=at(THU, "09:10"))
    assert found == [at(THU, "09:15"), at(THU, "09:30")]


def test_first_free_within_a_part_of_the_day() -> None:
    """ "In the afternoon": Tuesday afternoon is partly booked, then fully, and the search moves on."""
    afternoon = (time(12), time(17))
    now = at(TUE, "06:00")
    partly = first_free(rules(), HOUR, [busy(TUE, "13:00-15:00")], now, part=afternoon)
    assert partly == [at(TUE, "15:00"), at(TUE, "15:15"), at(TUE, "15:30")]
    fully = first_free(rules(), HOUR, [busy(TUE, "13:00-17:00")], now, count=1, part=afternoon)
    assert fully == [at(WED, "13:00")]


def test_a_part_of_the_day_may_wrap_midnight() -> None:
    """A window from 23:00 to 01:00 spans two calendar days."""
    night = rules(hours={"fri": ["20:00-24:00"], "sat": ["00:00-04:00"]})
    found = first_free(night, timedelta(minutes=30), [], at(THU, "12:00"), count=4, part=(time(23), time(1)))
    assert found == [at(FRI, "23:00"), at(FRI, "23:15"), at(FRI, "23:30"), at(SAT, "00:00")]


def test_a_business_without_hours_answers_at_once() -> None:
    """No hours at all: no looping through the horizon, just nothing."""
    closed = rules(hours={}, max_ahead=timedelta(days=100_000))
    started = clock.perf_counter()
    assert first_free(closed, HOUR, [], EARLY) == []
    assert nearest_free(closed, HOUR, [], EARLY, at(TUE, "10:00")) == []
    assert clock.perf_counter() - started < 0.05


def test_a_fully_booked_horizon_ends_the_search() -> None:
    """With every day booked, the search gives up at max_ahead instead of running on."""
    everything = [Busy(EARLY, EARLY + timedelta(days=400))]
    assert first_free(rules(), HOUR, everything, EARLY) == []
    assert nearest_free(rules(), HOUR, everything, EARLY, at(TUE, "10:00")) == []


# --- daylight saving time --------------------------------------------------------------------------

ALL_DAY = {"sun": ["00:00-24:00"]}
DST_NOW = {SPRING_FORWARD: at(date(2027, 3, 20), "12:00"), FALL_BACK: at(date(2027, 10, 20), "12:00")}


def test_spring_forward_skips_the_missing_hour() -> None:
    """02:00-03:00 does not exist on 28 March 2027, so the day has 92 quarter-hour slots, none at 02:xx."""
    slots = free_slots(rules(hours=ALL_DAY), 15 * MINUTES, [], DST_NOW[SPRING_FORWARD], SPRING_FORWARD)
    assert len(slots) == len(set(slots)) == 92
    assert hhmm(slots)[6:10] == ["01:30", "01:45", "03:00", "03:15"]
    assert slots[7].utcoffset() == HOUR and slots[8].utcoffset() == 2 * HOUR
    assert elapsed(slots[7], slots[8]) == 15 * MINUTES


def test_spring_forward_durations_are_elapsed_time() -> None:
    """The day is 23 hours long: a 23-hour booking fits only from midnight; 01:30 + 1h ends at 03:30."""
    spring = rules(hours=ALL_DAY)
    assert hhmm(free_slots(spring, 23 * HOUR, [], DST_NOW[SPRING_FORWARD], SPRING_FORWARD)) == ["00:00"]
    crossing = Busy(at(SPRING_FORWARD, "01:30"), later(at(SPRING_FORWARD, "01:30"), HOUR))
    assert crossing.end.astimezone(ZONE).strftime("%H:%M") == "03:30"
    slots = hhmm(free_slots(spring, HOUR, [crossing], DST_NOW[SPRING_FORWARD], SPRING_FORWARD))
    assert "00:30" in slots and "00:45" not in slots and "03:30" in slots and "03:15" not in slots


def test_fall_back_lists_each_wall_time_once() -> None:
    """02:00-03:00 happens twice on 31 October 2027; only its first occurrence offers slots."""
    slots = free_slots(rules(hours=ALL_DAY), 15 * MINUTES, [], DST_NOW[FALL_BACK], FALL_BACK)
    assert len(slots) == len(set(hhmm(slots))) == 96
    assert hhmm(slots)[8:13] == ["02:00", "02:15", "02:30", "02:45", "03:00"]
    assert all(slot.fold == 0 for slot in slots)
    assert elapsed(slots[11], slots[12]) == 75 * MINUTES  # 02:45 (summer time) to 03:00 (winter time)


def test_fall_back_second_occurrence_is_off_grid_but_appointments_run_through_it() -> None:
    """A start in the repeated hour's second pass is not a slot; a 25-hour day fits a 25-hour booking."""
    fall, now = rules(hours=ALL_DAY), DST_NOW[FALL_BACK]
    assert why_not(fall, HOUR, [], now, at(FALL_BACK, "02:15", fold=1)) is Unavailable.OFF_GRID
    assert is_bookable(fall, HOUR, [], now, at(FALL_BACK, "02:15"))
    assert hhmm(free_slots(fall, 25 * HOUR, [], now, FALL_BACK)) == ["00:00"]
    second_pass = Busy(at(FALL_BACK, "02:00", fold=1), at(FALL_BACK, "03:00"))
    assert is_bookable(fall, HOUR, [second_pass], now, at(FALL_BACK, "02:00"))  # ends as the 2nd pass starts
    assert why_not(fall, HOUR, [second_pass], now, at(FALL_BACK, "02:15")) is Unavailable.TAKEN


def test_buffer_is_real_time_across_fall_back() -> None:
    """A buffer after 02:50 (summer time) ends at 02:05 winter time, not at a wall-clock 03:05."""
    fall, now = rules(hours=ALL_DAY, buffer_minutes=15), DST_NOW[FALL_BACK]
    local = [Busy(at(FALL_BACK, "01:50"), at(FALL_BACK, "02:50"))]
    assert is_bookable(fall, 15 * MINUTES, local, now, at(FALL_BACK, "03:00"))
    assert "03:00" in hhmm(free_slots(fall, 15 * MINUTES, local, now, FALL_BACK))


@pytest.mark.parametrize(("day", "offset"), [(SPRING_FORWARD, 2 * HOUR), (FALL_BACK, HOUR)])
def test_normal_hours_on_dst_days(day: date, offset: timedelta) -> None:
    """Daytime hours are untouched by a night-time change: 08:00 is 08:00 in the new offset."""
    sunday = rules(hours={"sun": ["08:00-12:00", "13:00-17:00"]})
    slots = free_slots(sunday, HOUR, [], DST_NOW[day], day)
    assert hhmm(slots) == grid("08:00", "11:00") + grid("13:00", "16:00")
    assert {slot.utcoffset() for slot in slots} == {offset}


def test_opening_bounds_inside_the_spring_gap_mean_the_jump() -> None:
    """Hours "00:00-02:30" close at the jump (03:00 summer time); "02:30-05:00" open at it."""
    now = DST_NOW[SPRING_FORWARD]
    closing = rules(hours={"sun": ["00:00-02:30"]})
    assert hhmm(free_slots(closing, HOUR, [], now, SPRING_FORWARD)) == grid("00:00", "01:00")
    opening = rules(hours={"sun": ["02:30-05:00"]})
    assert hhmm(free_slots(opening, HOUR, [], now, SPRING_FORWARD)) == grid("03:00", "04:00")
    assert why_not(opening, HOUR, [], now, at(SPRING_FORWARD, "01:45")) is Unavailable.CLOSED


# --- speed -----------------------------------------------------------------------------------------


def test_free_slots_is_fast_with_hundreds_of_appointments() -> None:
    """Busy lists are sorted once and searched by bisection: a day takes well under a millisecond."""
    start = at(MON, "08:00").astimezone(UTC)
    taken = [Busy(start + k * 3 * HOUR, start + k * 3 * HOUR + 45 * MINUTES) for k in range(500)]
    best = float("inf")
    for _ in range(20):
        began = clock.perf_counter()
        free_slots(rules(), HOUR, taken, EARLY, THU)
        best = min(best, clock.perf_counter() - began)
    assert best < 0.001


# --- properties ------------------------------------------------------------------------------------

ZONES = [ZoneInfo(name) for name in ("Europe/Copenhagen", "America/New_York", "America/Santiago")]
ZONES += [ZoneInfo(name) for name in ("Australia/Lord_Howe", "Asia/Kathmandu", "UTC")]
DAYS = [date(2027, 3, 14), date(2027, 3, 28), date(2027, 4, 4), date(2027, 6, 16), date(2027, 9, 5)]
DAYS += [date(2027, 10, 3), date(2027, 10, 31), date(2027, 11, 7)]
FIVE = timedelta(minutes=5)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[tuple[time, time | None], ...]:
    """One day's opening ranges on a five-minute grid, possibly touching or overlapping."""
    found = []
    for _ in range(draw(st.sampled_from([0, 1, 2, 2, 3]))):
        first = draw(st.integers(0, 286))
        last = draw(st.integers(first + 1, 288))
        end = None if last == 288 else time(last * 5 // 60, last * 5 % 60)
        found.append((time(first * 5 // 60, first * 5 % 60), end))
    return tuple(found)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Random rules, a DST-prone day, a `now` near it, and busy intervals in the business's or UTC time."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(DAYS)) + timedelta(days=draw(st.integers(-1, 1)))
    built = BookingRules(
        zone=zone,
        hours={day.weekday(): draw(ranges())},
        slot_step=draw(st.sampled_from([5, 10, 15, 30, 60])) * MINUTES,
        buffer=draw(st.sampled_from([0, 5, 15, 30])) * MINUTES,
        min_notice=draw(st.sampled_from([0, 30, 120])) * MINUTES,
        max_ahead=draw(st.sampled_from([1, 10, 60])) * timedelta(days=1),
    )
    midnight = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    now = midnight + draw(st.integers(-48 * 12, 12 * 12)) * FIVE
    taken = []
    for _ in range(draw(st.integers(0, 12))):
        start = midnight + draw(st.integers(-12, 30 * 12)) * FIVE
        end = start + draw(st.integers(1, 48)) * FIVE
        local = draw(st.booleans())
        taken.append(Busy(start.astimezone(zone), end.astimezone(zone)) if local else Busy(start, end))
    duration = draw(st.integers(1, 60)) * FIVE
    return {"rules": built, "duration": duration, "busy": taken, "now": now, "day": day}


def every_five_minutes(zone: ZoneInfo, day: date) -> list[datetime]:
    """Every five-minute instant whose local date is `day`, both passes of a repeated hour included."""
    moment = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC) - 3 * HOUR
    found = []
    while moment.astimezone(zone).date() <= day:
        if moment.astimezone(zone).date() == day:
            found.append(moment)
        moment += FIVE
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_free_slots_agree_with_is_bookable_and_never_clash(case: dict[str, Any]) -> None:
    """free_slots offers exactly the bookable instants of the day, and none clashes with busy time."""
    built, duration, taken, now, day = (case[key] for key in ("rules", "duration", "busy", "now", "day"))
    slots = free_slots(built, duration, taken, now, day)
    assert all(slot.tzinfo is built.zone and slot.date() == day for slot in slots)
    instants = [slot.astimezone(UTC) for slot in slots]  # arithmetic within one zone would be wall-clock
    assert instants == sorted(set(instants))
    for start in instants:
        assert now + built.min_notice <= start <= now + built.max_ahead
        until = start + duration + built.buffer
        for b in taken:
            if b.end > b.start:
                assert not (b.start < until and start < b.end.astimezone(UTC) + built.buffer), (start, b)
    bookable = [t for t in every_five_minutes(built.zone, day) if is_bookable(built, duration, taken, now, t)]
    assert instants == bookable


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(-6 * 12, 30 * 12))
def test_why_not_is_none_exactly_when_bookable(case: dict[str, Any], offset: int) -> None:
    """The reason and the yes/no answer never disagree, and alternatives are always bookable."""
    built, duration, taken, now, day = (case[key] for key in ("rules", "duration", "busy", "now", "day"))
    start = datetime.combine(day, time(), tzinfo=built.zone).astimezone(UTC) + offset * FIVE
    reason = why_not(built, duration, taken, now, start)
    assert (reason is None) == is_bookable(built, duration, taken, now, start)
    for found in (nearest_free(built, duration, taken, now, start), first_free(built, duration, taken, now)):
        instants = [slot.astimezone(UTC) for slot in found]
        assert instants == sorted(set(instants)) and len(found) <= 3
        assert all(is_bookable(built, duration, taken, now, slot) for slot in found)
