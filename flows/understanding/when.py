"""Reads the day and time a client means from English or Danish text; a wrong date is worse than asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from flows.understanding.when_grammar import Clock, Day, Either, Finding, NextWeek, Part, Weekday, scan

_V = TypeVar("_V")


class PartOfDay(StrEnum):
    """A window of the day a client names instead of a time; its hours are `flows.picking.WINDOWS`."""

    MORNING = "morning"  # formiddag / morgen: 06:00-12:00
    AFTERNOON = "afternoon"  # eftermiddag: 12:00-17:00
    EVENING = "evening"  # aften: 17:00-22:00
    EARLY = "early"  # "before work", "first thing", "tidligt om morgenen": 06:00-09:00
    LATE_MORNING = "late_morning"  # "late morning", "sidst på formiddagen": 10:00-12:00
    LUNCH = "lunch"  # "lunchtime", "frokost", "middag": 11:00-14:00
    AFTER_WORK = "after_work"  # "after work", "efter arbejde": 16:00-22:00


@dataclass(frozen=True, slots=True, kw_only=True)
class When:
    day: date | None = None  # the local calendar day the client means
    at: time | None = None  # a clock time, if they gave one
    part: PartOfDay | None = None  # "morning", "formiddag", "in the afternoon" ...
    # Other open readings of the same words, which the flow settles by the business's opening hours (or
    # asks about): a bare hour may be twelve hours later or earlier ("at 8": 08:00 or 20:00), and an
    # undecided "14.05" may be 14 May rather than 14:05. Not part of what the reading equals.
    flip: bool = field(default=False, compare=False)
    or_day: date | None = field(default=None, compare=False)

    def readings(self) -> tuple[When, ...]:
        """This reading first (the one the default rules chose), then the others."""
        found = [self]
        if self.flip and self.at is not None:
            flipped = time((self.at.hour + 12) % 24, self.at.minute)
            found.append(When(day=self.day, at=flipped, part=self.part))
        if self.or_day is not None:
            found.append(When(day=self.or_day))
        return tuple(found)

    def local(self, zone: ZoneInfo) -> datetime | None:
        """Day and time as an aware datetime in zone: a wall time in a spring-forward gap moves forward by
        the gap (02:30 becomes 03:30), an ambiguous fall-back one takes the first occurrence (fold=0)."""
        if self.day is None or self.at is None:
            return None
        wall = datetime.combine(self.day, self.at, tzinfo=zone)
        return wall.astimezone(UTC).astimezone(zone)


def read_when(text: str, locale: str, now: datetime) -> When | None:
    """now is an aware datetime already in the business's time zone; locale "en" or "da" is a hint — accept
    words of BOTH languages regardless (clients mix), but use the locale to break ties in numeric date
    order (both locales use day/month: "24/11" is 24 November; also accept ISO 2026-11-24).
    Returns None when the text has no day or time in it.

    A small grammar of our own rather than dateparser, which reads Danish wrong (DESIGN.md, "Well-kept
    libraries"). The rules:

    - Days: "today"/"i dag", "tomorrow"/"i morgen", "overmorgen", "in 3 days"/"om 3 dage", "in a week"/
      "om en uge". A bare weekday ("friday", "på fredag", "this friday") is the next such day from today
      on, today included: "friday" said on a Friday is that day. "next tuesday"/"næste tirsdag" is the
      first Tuesday after today, even when that is within the next 6 days (said on a Wednesday it is the
      coming Tuesday, said on a Tuesday the one a week later). "next week"/"i næste uge" alone gives no
      day (the bot asks which day); with a weekday ("tuesday next week", "næste uge tirsdag") it is that
      weekday in next (Monday-based) week. "tonight"/"i aften"/"this morning" mean today unless another
      day is named.
    - Dates are day first in both locales: "24/11", "24.11", "24-11", "24/11/2026", "2026-11-24",
      "24. november", "Nov 24th", "the 24th", "den 24.". With locale "en" only, a date impossible as
      day/month but possible as month/day ("11/24") is read the American way. A date without a year that
      has passed this year is next year's; "the 24th" is the next 24th from today on. An impossible date
      (31/2) gives no day. A weekday and a date that agree ("fredag den 4. december") give that date.
    - Times: a bare number is a time only where it plausibly is one: after "at"/"kl."/"klokken"/"ved"/
      "omkring", before "am"/"pm"/"o'clock"/"-tiden"/"in the morning", right after a day ("tomorrow
      10"), or as the whole message ("10"). Bare hours 1-7 are the afternoon (13-19), 8-12 the morning,
      13-23 as written; a part of day overrides ("7 in the morning", "i aften kl 10" = 22:00), so does a
      leading zero ("07:30"). "halv elleve" is 10:30 and "kvart i fem" 16:45: the rule applies to the
      hour named (elleve, fem).
    - "10.10" is a time or 10 October: "kl."/"at" make it a time, "den"/"d." a date; otherwise a day
      named elsewhere makes it a time (unless it is that day), a time named elsewhere a date, and with
      neither it is read as a time with the date as another reading (`When.readings`). Minutes that are
      not a multiple of 5 make it a date ("1.12" is 1 December).
    - Readings that disagree ("tomorrow or friday", "kl 10 eller kl 11") give None for that part, and so
      does a reading right after "after"/"before"/"between"/"not"/"efter"/"før"/"ikke"… ("after 2pm" is
      not a time to book).
    """
    today = now.date()
    return _resolve(scan(text, today, english=locale.casefold().startswith("en")), today)


# --- putting the findings together --------------------------------------------------------------------


def _resolve(found: list[Finding], today: date) -> When | None:
    part = _one({PartOfDay(item.part) for item in found if isinstance(item, Part)})
    clocks = [item for item in found if isinstance(item, Clock)]
    days = [item for item in found if isinstance(item, Day)]
    weekdays = [item for item in found if isinstance(item, Weekday)]
    named = bool(weekdays) or any(not day.weak for day in days)
    undecided = []
    for either in (item for item in found if isinstance(item, Either)):
        if named and _fits(either.day.value, days, weekdays):
            days.append(either.day)
        elif named and not clocks:
            clocks.append(either.clock)
        elif clocks and not named:
            days.append(either.day)
        else:
            undecided.append(either)
    or_day = None
    if len(undecided) == 1 and not clocks and not named and undecided[0].day.value is not None:
        clocks.append(undecided[0].clock)  # "14.05" alone: 14:05, or 14 May (the flow settles which)
        or_day = undecided[0].day.value
    next_week = any(isinstance(item, NextWeek) for item in found)
    day = _pick_day(days, weekdays, today, next_week=next_week)
    at = _one({_clock_time(clock, part) for clock in clocks})
    if day is None and at is None and part is None:
        return None
    flip = at is not None and len(clocks) == 1 and _flips(clocks[0], part)
    return When(day=day, at=at, part=part, flip=flip, or_day=or_day)


def _flips(clock: Clock, part: PartOfDay | None) -> bool:
    """A bare hour ("at 8", "halv ni") said without am/pm or a part of the day: 12 hours either way."""
    return not clock.literal and clock.meridiem is None and part is None and 1 <= clock.hour <= 11


def _fits(value: date | None, days: list[Day], weekdays: list[Weekday]) -> bool:
    """Whether a date agrees with the days named elsewhere: "tirsdag" and "1.12" (a Tuesday) do."""
    named = {day.value for day in days if not day.weak}
    return value is not None and named <= {value} and all(w.index == value.weekday() for w in weekdays)


def _pick_day(days: list[Day], weekdays: list[Weekday], today: date, *, next_week: bool) -> date | None:
    """A date wins over a weekday that agrees with it ("fredag den 4. december"); any disagreement is None."""
    dates = {day.value for day in days if not day.weak}
    if dates:
        day = _one(dates)
        return day if day is not None and _fits(day, days, weekdays) else None
    if weekdays:
        return _one({_weekday(weekday, today, next_week) for weekday in weekdays})
    return _one({day.value for day in days if day.weak})


def _one(values: set[_V]) -> _V | None:
    return next(iter(values)) if len(values) == 1 else None


def _weekday(weekday: Weekday, today: date, next_week: bool) -> date:
    if next_week and weekday.mode != "last":
        return today + timedelta(days=7 - today.weekday() + weekday.index)
    ahead = (weekday.index - today.weekday()) % 7
    if weekday.mode == "next":
        ahead = ahead or 7
    elif weekday.mode == "last":
        ahead -= 7
    return today + timedelta(days=ahead)


_NO_SAY = (None, PartOfDay.LUNCH)  # "lunch at 1" is 13:00, as a bare "at 1" is
_LATE = (PartOfDay.AFTERNOON, PartOfDay.EVENING, PartOfDay.AFTER_WORK)


def _clock_time(clock: Clock, part: PartOfDay | None) -> time | None:
    hour = clock.hour
    if clock.meridiem is not None:
        if hour > 12 and clock.meridiem == "am":
            return None
        hour = hour % 12 + (12 if clock.meridiem == "pm" else 0) if hour <= 12 else hour
    elif not clock.literal and 1 <= hour <= 11 and (part in _LATE or (part in _NO_SAY and hour <= 7)):
        hour += 12
    minutes = (hour * 60 + clock.offset) % (24 * 60)
    return time(minutes // 60, minutes % 60)
