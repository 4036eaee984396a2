"""When a closed business opens next (`flows.availability.closed_until`): the away message's "closed spell"
is keyed by it, so it must be right at the edges of every opening range, over lunch breaks, weekends,
holidays and both DST nights. Every expected value is a UTC instant, so an offset taken from the wrong side
of a DST change shows as an hour's difference.

Copenhagen is UTC+1 in winter and UTC+2 in summer; 2026-03-29 jumps 02:00 → 03:00, 2026-10-25 falls back
03:00 → 02:00 (both Sundays). 2026-11-23 is a Monday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.availability import BookingRules, closed_until

ZONE = ZoneInfo("Europe/Copenhagen")
WEEKDAYS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
CHRISTMAS = [date(2026, 12, 24) + timedelta(days=n) for n in range(5)]  # Thursday 24 to Monday 28


def rules(**overrides: Any) -> BookingRules:
    """Weekdays 08:00-12:00 and 13:00-17:00 in Copenhagen unless overridden."""
    return BookingRules.from_strings(**({"timezone": "Europe/Copenhagen", "hours": WEEKDAYS} | overrides))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(utc(2026, 11, 23, 8, 0), False, id="open mid-morning"),
        pytest.param(utc(2026, 11, 23, 7, 0), False, id="open at the very opening minute"),
        pytest.param(utc(2026, 11, 23, 15, 59, 59), False, id="open the last second"),
        pytest.param(utc(2026, 11, 23, 6, 59, 59), utc(2026, 11, 23, 7, 0), id="before opening: today 08:00"),
        pytest.param(utc(2026, 11, 22, 23, 0), utc(2026, 11, 23, 7, 0), id="local midnight: today 08:00"),
        pytest.param(utc(2026, 11, 23, 11, 0), utc(2026, 11, 23, 12, 0), id="lunch starts: 13:00"),
        pytest.param(utc(2026, 11, 23, 11, 30), utc(2026, 11, 23, 12, 0), id="in the lunch break: 13:00"),
        pytest.param(utc(2026, 11, 23, 16, 0), utc(2026, 11, 24, 7, 0), id="closing time: tomorrow 08:00"),
        pytest.param(utc(2026, 11, 23, 22, 59), utc(2026, 11, 24, 7, 0), id="late evening: tomorrow"),
        pytest.param(utc(2026, 11, 27, 16, 0), utc(2026, 11, 30, 7, 0), id="friday evening: monday"),
        pytest.param(utc(2026, 11, 28, 12, 0), utc(2026, 11, 30, 7, 0), id="saturday: monday"),
    ],
)
def test_open_or_when_it_opens_next(now: datetime, expected: datetime | bool) -> None:
    assert closed_until(rules(), now) == expected


def test_the_answer_is_a_utc_instant_whatever_zone_now_is_given_in() -> None:
    reopens = closed_until(rules(), local(2026, 11, 23, 17, 0))
    assert reopens == utc(2026, 11, 24, 7, 0)
    assert isinstance(reopens, datetime) and reopens.utcoffset() == timedelta(0)
    assert closed_until(rules(), local(2026, 11, 23, 16, 59)) is False


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        closed_until(rules(), datetime(2026, 11, 23, 17, 0))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(local(2026, 12, 23, 16, 59), False, id="the day before: open"),
        pytest.param(local(2026, 12, 23, 17, 0), local(2026, 12, 29, 8, 0), id="evening before: after it"),
        pytest.param(local(2026, 12, 24, 11, 0), local(2026, 12, 29, 8, 0), id="a weekday holiday"),
        pytest.param(local(2026, 12, 26, 11, 0), local(2026, 12, 29, 8, 0), id="its weekend"),
        pytest.param(local(2026, 12, 28, 11, 0), local(2026, 12, 29, 8, 0), id="its last day, a monday"),
        pytest.param(local(2026, 12, 29, 8, 0), False, id="the day after: open"),
    ],
)
def test_a_holiday_spanning_a_weekend(now: datetime, expected: datetime | bool) -> None:
    assert closed_until(rules(closed=CHRISTMAS), now) == expected


def test_a_holiday_closes_a_day_with_ranges_that_reach_midnight() -> None:
    late = rules(
        hours={"fri": ["20:00-24:00"], "sat": ["00:00-02:00", "10:00-12:00"]}, closed=[date(2026, 11, 28)]
    )
    assert closed_until(late, local(2026, 11, 27, 23, 59)) is False
    # Saturday is a holiday: its night hours are gone, and the next opening is a week later.
    assert closed_until(late, local(2026, 11, 28, 0, 0)) == local(2026, 12, 4, 20, 0)


def test_ranges_touching_at_midnight_leave_no_closed_minute() -> None:
    night = rules(hours={"sat": ["20:00-24:00"], "sun": ["00:00-02:00"]})
    assert closed_until(night, local(2026, 11, 28, 23, 59, 59)) is False
    assert closed_until(night, local(2026, 11, 29, 0, 0)) is False
    assert closed_until(night, local(2026, 11, 29, 2, 0)) == local(2026, 12, 5, 20, 0)


@pytest.mark.parametrize(
    ("booking_rules", "now"),
    [
        pytest.param(rules(hours={}), utc(2026, 11, 23, 12, 0), id="no opening hours at all"),
        pytest.param(
            rules(
                hours={"mon": ["08:00-17:00"]},
                closed=[date(2026, 11, 30), date(2026, 12, 7)],
                max_ahead=timedelta(days=1),
            ),
            utc(2026, 11, 24, 12, 0),
            id="every opening in 14 days is a holiday (the least horizon looked at)",
        ),
        pytest.param(
            rules(
                hours={"mon": ["08:00-17:00"]},
                closed=[date(2026, 11, 23) + timedelta(days=n) for n in range(70)],
                max_ahead=timedelta(days=60),
            ),
            utc(2026, 11, 23, 12, 0),
            id="closed for longer than the booking horizon",
        ),
    ],
)
def test_nothing_open_within_the_horizon(booking_rules: BookingRules, now: datetime) -> None:
    assert closed_until(booking_rules, now) is None


@pytest.mark.parametrize(
    ("max_ahead", "closed", "expected"),
    [
        pytest.param(
            timedelta(days=1), [date(2026, 11, 30)], local(2026, 12, 7, 8, 0), id="two weeks at least"
        ),
        pytest.param(timedelta(days=1), [date(2026, 11, 30), date(2026, 12, 7)], None, id="not three weeks"),
        pytest.param(
            timedelta(days=60),
            [date(2026, 11, 30), date(2026, 12, 7)],
            local(2026, 12, 14, 8, 0),
            id="60 days",
        ),
    ],
)
def test_the_horizon_is_the_booking_horizon_and_at_least_two_weeks(
    max_ahead: timedelta, closed: list[date], expected: datetime | None
) -> None:
    mondays = rules(hours={"mon": ["08:00-17:00"]}, closed=closed, max_ahead=max_ahead)
    assert closed_until(mondays, utc(2026, 11, 24, 12, 0)) == expected


# Sunday-only hours, 09:00-17:00, on the two DST Sundays of 2026: the same wall clock is a different UTC
# instant before and after each change.
SUNDAYS = rules(hours={"sun": ["09:00-17:00"]})


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Spring forward, 2026-03-29: CET (UTC+1) until 01:00 UTC, CEST (UTC+2) after.
        pytest.param(utc(2026, 3, 28, 22, 30), utc(2026, 3, 29, 7, 0), id="spring: saturday 23:30 CET"),
        pytest.param(utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 7, 0), id="spring: 01:59 CET, before jump"),
        pytest.param(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 7, 0), id="spring: 03:00 CEST, the jump"),
        pytest.param(utc(2026, 3, 29, 6, 59), utc(2026, 3, 29, 7, 0), id="spring: 08:59 CEST closed"),
        pytest.param(utc(2026, 3, 29, 7, 0), False, id="spring: 09:00 CEST open"),
        pytest.param(utc(2026, 3, 29, 14, 59), False, id="spring: 16:59 CEST open"),
        pytest.param(utc(2026, 3, 29, 15, 0), utc(2026, 4, 5, 7, 0), id="spring: 17:00 CEST closed"),
        # Fall back, 2026-10-25: CEST (UTC+2) until 01:00 UTC, CET (UTC+1) after.
        pytest.param(utc(2026, 10, 24, 21, 30), utc(2026, 10, 25, 8, 0), id="autumn: saturday 23:30 CEST"),
        pytest.param(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 8, 0), id="autumn: first 02:30 (CEST)"),
        pytest.param(utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 8, 0), id="autumn: second 02:30 (CET)"),
        pytest.param(utc(2026, 10, 25, 7, 59), utc(2026, 10, 25, 8, 0), id="autumn: 08:59 CET closed"),
        pytest.param(utc(2026, 10, 25, 8, 0), False, id="autumn: 09:00 CET open"),
        pytest.param(utc(2026, 10, 25, 15, 59), False, id="autumn: 16:59 CET open"),
        pytest.param(utc(2026, 10, 25, 16, 0), utc(2026, 11, 1, 8, 0), id="autumn: 17:00 CET closed"),
    ],
)
def test_dst_sundays(now: datetime, expected: datetime | bool) -> None:
    assert closed_until(SUNDAYS, now) == expected


@pytest.mark.parametrize(
    ("hours", "now", "expected"),
    [
        # A range starting at a wall time the jump skips opens at the jump (03:00 CEST, 01:00 UTC).
        pytest.param(["02:30-04:00"], utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0), id="skipped start"),
        pytest.param(["02:30-04:00"], utc(2026, 3, 29, 1, 0), False, id="open from the jump"),
        pytest.param(["02:30-04:00"], utc(2026, 3, 29, 1, 59), False, id="open until 04:00 CEST"),
        pytest.param(["02:30-04:00"], utc(2026, 3, 29, 2, 0), utc(2026, 4, 5, 0, 30), id="closed at 04:00"),
        # A range across the repeated hour is open through both of its occurrences (three real hours).
        pytest.param(["01:00-03:00"], utc(2026, 10, 24, 22, 59), utc(2026, 10, 24, 23, 0), id="before 01:00"),
        pytest.param(["01:00-03:00"], utc(2026, 10, 25, 0, 30), False, id="first 02:30 open"),
        pytest.param(["01:00-03:00"], utc(2026, 10, 25, 1, 30), False, id="second 02:30 open"),
        pytest.param(["01:00-03:00"], utc(2026, 10, 25, 2, 0), utc(2026, 11, 1, 0, 0), id="03:00 CET closed"),
        # A range ending inside the repeated hour ends at its first occurrence.
        pytest.param(["00:00-02:30"], utc(2026, 10, 25, 0, 29), False, id="first 02:29 open"),
        pytest.param(["00:00-02:30"], utc(2026, 10, 25, 1, 0), utc(2026, 10, 31, 23, 0), id="second 02:00"),
    ],
)
def test_dst_nights_with_ranges_inside_the_change(
    hours: list[str], now: datetime, expected: datetime | bool
) -> None:
    assert closed_until(rules(hours={"sun": hours}), now) == expected
