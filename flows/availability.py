"""When a service can be booked: opening hours, existing appointments, buffers, notice and horizon.

Pure and synchronous: no database, no clock, no config objects. The caller builds `BookingRules` (for
example with `BookingRules.from_strings` from a business's config) and passes the busy intervals it read.

Semantics, shared by every function here:

- Opening hours are wall-clock ranges per weekday in `rules.zone`; an end of `None` ("24:00") is the next
  midnight. Candidate starts lie on a wall-clock grid: each range's start, then every `slot_step`.
- An appointment `[start, start + duration)` must lie inside ONE opening range (it never spans a lunch
  break, nor two ranges that merely touch). Durations are real elapsed time, so on DST days a range can hold
  an hour more or less than its wall-clock length suggests.
- Buffer: an existing appointment `[s, e)` blocks `[s, e + buffer)`, and a new one `[t, t + d)` needs
  `[t, t + d + buffer)` free. Together: they clash exactly when `[t, t + d + buffer)` and
  `[s, e + buffer)` overlap. The buffer may run past closing time. Busy intervals with `end <= start` are
  ignored.
- Intervals are half-open: with no buffer, an appointment ending at 10:00 does not block one at 10:00.
- Notice and horizon: `now + min_notice <= start <= now + max_ahead` (both ends inclusive).
- DST: wall times skipped by a spring-forward jump are not slot starts. On a fall-back day, repeated wall
  times are slot starts only at their first occurrence (fold=0), so a day never lists the same clock time
  twice; a start at the second occurrence is `OFF_GRID`. An opening-range bound that is repeated means its
  first occurrence; one that is skipped means the moment of the jump.
- Inputs may be aware datetimes in any zone (compared as instants); naive ones raise `ValueError`.
  Every returned datetime is in `rules.zone`, ascending, without duplicates.
- `busy` is all that is known to be taken: a caller that loads only a window of appointments must only
  trust answers inside that window (plus duration and buffer), since time outside it looks free.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Range = tuple[time, time | None]
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)


class Unavailable(StrEnum):
    """Why a start cannot be booked, most fundamental reason first (see `why_not`)."""

    PAST = "past"  # before now
    TOO_FAR = "too_far"  # after now + max_ahead
    CLOSED = "closed"  # outside every opening range
    OFF_GRID = "off_grid"  # inside opening hours but not on the slot step
    DOES_NOT_FIT = "does_not_fit"  # would run past the end of its opening range
    TOO_SOON = "too_soon"  # before now + min_notice
    TAKEN = "taken"  # clashes with a busy interval (buffers included), or no fitting room is free
    # Reasons only a business with practitioners or classes gives (see flows.calendars):
    AWAY = "away"  # the practitioner asked for has time off then
    NOT_WORKING = "not_working"  # the business is open, but the practitioner asked for does not work then
    NO_SESSION = "no_session"  # a class that does not meet at that time
    FULL = "full"  # a class session with no places left


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingRules:
    """A business's booking rules: zone, weekly opening hours (0=Mon..6=Sun; end None = 24:00), steps."""

    zone: ZoneInfo
    hours: Mapping[int, tuple[Range, ...]]
    slot_step: timedelta = timedelta(minutes=15)
    buffer: timedelta = timedelta(0)  # kept free after each appointment
    min_notice: timedelta = timedelta(hours=2)
    max_ahead: timedelta = timedelta(days=60)
    closed: frozenset[date] = frozenset()  # local dates closed all day (holidays), whatever the weekday

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        """The local day's opening ranges: none on a closed date."""
        if day in self.closed:
            return ()
        return self.hours.get(day.weekday(), ())

    def __post_init__(self) -> None:
        """Reject rules that would make slots meaningless, and keep each day's ranges sorted."""
        if self.slot_step <= _ZERO:
            raise ValueError("slot_step must be positive")
        if min(self.buffer, self.min_notice, self.max_ahead) < _ZERO:
            raise ValueError("buffer, min_notice and max_ahead must not be negative")
        hours: dict[int, tuple[Range, ...]] = {}
        for weekday, ranges in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
            for start, end in ranges:
                if end is not None and end <= start:
                    raise ValueError(f"opening range {start}-{end} ends before it starts")
            hours[weekday] = tuple(sorted(ranges, key=lambda item: (item[0], item[1] or time.max)))
        object.__setattr__(self, "hours", hours)

    @classmethod
    def from_strings(
        cls,
        *,
        timezone: str,
        hours: Mapping[str, Sequence[str]],
        slot_step_minutes: int = 15,
        buffer_minutes: int = 0,
        min_notice: timedelta = timedelta(hours=2),
        max_ahead: timedelta = timedelta(days=60),
        closed: Iterable[date] = (),
    ) -> BookingRules:
        """Build rules from config shapes: {"mon": ["08:00-12:00"]}, "24:00" ending the day."""
        parsed: dict[int, tuple[Range, ...]] = {}
        for day, ranges in hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f'"{day}" is not a weekday ({", ".join(WEEKDAYS)})')
            items = [ranges] if isinstance(ranges, str) else ranges
            parsed[WEEKDAYS.index(day)] = tuple(_parse_range(item) for item in items)
        return cls(
            zone=ZoneInfo(timezone),
            hours=parsed,
            slot_step=timedelta(minutes=slot_step_minutes),
            buffer=timedelta(minutes=buffer_minutes),
            min_notice=min_notice,
            max_ahead=max_ahead,
            closed=frozenset(closed),
        )


def narrowed(rules: BookingRules, hours: Mapping[str, Sequence[str] | str]) -> BookingRules:
    """The rules for someone who works `hours` (config shapes) inside the business's opening hours: each
    day's ranges intersected with theirs; a day either leaves out is closed."""
    own: dict[int, list[Range]] = {}
    for day, ranges in hours.items():
        items = [ranges] if isinstance(ranges, str) else ranges
        own[WEEKDAYS.index(day)] = [_parse_range(item) for item in items]
    result: dict[int, tuple[Range, ...]] = {}
    for weekday, ranges in rules.hours.items():
        parts: list[Range] = []
        for open_at, close_at in ranges:
            for start, end in own.get(weekday, ()):
                begin = max(open_at, start)
                finish = end if close_at is None else close_at if end is None else min(close_at, end)
                if finish is None or finish > begin:
                    parts.append((begin, finish))
        if parts:
            result[weekday] = tuple(dict.fromkeys(parts))
    return replace(rules, hours=result)


@dataclass(frozen=True, slots=True)
class Busy:
    """An existing active appointment or a blocked period: aware datetimes, any zone, `[start, end)`."""

    start: datetime
    end: datetime


Rooms = Sequence[Sequence[Busy]] | None
"""The busy time of each room that fits a service: a start also needs one of them free for the whole
appointment (buffer included). None: the service needs no room."""


def is_bookable(
    rules: BookingRules,
    duration: timedelta,
    busy: Sequence[Busy],
    now: datetime,
    start: datetime,
    rooms: Rooms = None,
) -> bool:
    """True when `start` is a slot `free_slots` would offer; the same as `why_not(...) is None`."""
    return why_not(rules, duration, busy, now, start, rooms) is None


def why_not(
    rules: BookingRules,
    duration: timedelta,
    busy: Sequence[Busy],
    now: datetime,
    start: datetime,
    rooms: Rooms = None,
) -> Unavailable | None:
    """Why `start` cannot be booked, or None if it can; reasons are checked in `Unavailable`'s order.

    O(len(busy)) without sorting, so a single check stays cheap.
    """
    _check_duration(duration)
    now, start = _utc(now, "now"), _utc(start, "start")
    if start < now:
        return Unavailable.PAST
    if start > now + rules.max_ahead:
        return Unavailable.TOO_FAR
    local = start.astimezone(rules.zone)
    openings = [o for o in _openings(rules, local.date()) if o.open_at <= start < o.close_at]
    if not openings:
        return Unavailable.CLOSED
    wall = local.replace(tzinfo=None)
    on_grid = [o for o in openings if local.fold == 0 and (wall - o.wall_start) % rules.slot_step == _ZERO]
    if not on_grid:
        return Unavailable.OFF_GRID
    if all(start + duration > o.close_at for o in on_grid):
        return Unavailable.DOES_NOT_FIT
    if start < now + rules.min_notice:
        return Unavailable.TOO_SOON
    if clashes(busy, start, start + duration, rules.buffer):
        return Unavailable.TAKEN
    if rooms is not None and all(clashes(room, start, start + duration, rules.buffer) for room in rooms):
        return Unavailable.TAKEN
    return None


def is_open(rules: BookingRules, now: datetime, start: datetime) -> bool:
    """Whether `start` is ahead, within the booking horizon and inside the business's opening hours: a
    reading of the client's words that could be booked at all, free or not."""
    now, start = _utc(now, "now"), _utc(start, "start")
    if not now <= start <= now + rules.max_ahead:
        return False
    local = start.astimezone(rules.zone)
    return any(o.open_at <= start < o.close_at for o in _openings(rules, local.date()))


def closed_until(rules: BookingRules, now: datetime) -> datetime | bool | None:
    """False when the business is open at `now`; else when it next opens (UTC), None if not within the
    booking horizon (or ever). Holidays and DST changes are counted as the days' openings count them."""
    now = _utc(now, "now")
    day = now.astimezone(rules.zone).date()
    last = (now + max(rules.max_ahead, timedelta(days=14))).astimezone(rules.zone).date()
    while day <= last:
        for opening in _openings(rules, day):
            if opening.open_at <= now < opening.close_at:
                return False
            if opening.open_at > now:
                return opening.open_at
        day += _ONE_DAY
    return None


def opens_on(rules: BookingRules, now: datetime, day: date) -> bool:
    """Whether the business is open on the local `day`, and it is today or later within the horizon."""
    today = _utc(now, "now").astimezone(rules.zone).date()
    last = (_utc(now, "now") + rules.max_ahead).astimezone(rules.zone).date()
    return today <= day <= last and bool(rules.ranges_on(day))


def clashes(busy: Iterable[Busy], start: datetime, end: datetime, buffer: timedelta) -> list[Busy]:
    """The busy intervals a new [start, end) clashes with: [start, end + buffer) overlaps
    [busy.start, busy.end + buffer). The rule for the bot's checks and for bookings made by staff."""
    until = end + buffer
    # The buffer is added in UTC: aware arithmetic in a local zone is wall-clock arithmetic.
    return [b for b in busy if b.start < until and b.end > b.start and start < b.end.astimezone(UTC) + buffer]


def free_slots(
    rules: BookingRules,
    duration: timedelta,
    busy: Sequence[Busy],
    now: datetime,
    day: date,
    rooms: Rooms = None,
) -> list[datetime]:
    """Every bookable start on the local calendar `day`, ascending, in `rules.zone`."""
    _check_duration(duration)
    window = _Window.of(rules, _utc(now, "now"))
    return _localize(rules, _day_slots(rules, duration, _taken(busy, rules.buffer, rooms), window, day))


def nearest_free(
    rules: BookingRules,
    duration: timedelta,
    busy: Sequence[Busy],
    now: datetime,
    wanted: datetime,
    count: int = 3,
    rooms: Rooms = None,
) -> list[datetime]:
    """Up to `count` alternatives to `wanted`, ascending: first the closest bookable starts on wanted's day.

    On wanted's local day, starts before or after it are ranked by distance (ties: the earlier one); if
    that day has fewer than `count`, the soonest starts of the following days fill up, up to max_ahead.
    `wanted` itself is included when it is bookable. Earlier days are never offered.
    """
    _check_duration(duration)
    wanted = _utc(wanted, "wanted")
    window = _Window.of(rules, _utc(now, "now"))
    if count <= 0 or not _has_hours(rules):
        return []
    taken = _taken(busy, rules.buffer, rooms)
    day = wanted.astimezone(rules.zone).date()
    same_day = _day_slots(rules, duration, taken, window, day)
    chosen = sorted(same_day, key=lambda slot: (abs(slot - wanted), slot))[:count]
    if len(chosen) < count:
        chosen += _scan(rules, duration, taken, window, day + _ONE_DAY, count - len(chosen))
    return _localize(rules, sorted(chosen))


def first_free(
    rules: BookingRules,
    duration: timedelta,
    busy: Sequence[Busy],
    now: datetime,
    count: int = 3,
    after: datetime | None = None,
    part: tuple[time, time] | None = None,
    rooms: Rooms = None,
) -> list[datetime]:
    """The `count` soonest bookable starts at or after `after` (and never before now + min_notice), ascending.

    `part` keeps only starts whose local time of day is in `[part[0], part[1])`, e.g. (time(12), time(17))
    for "in the afternoon"; a window with start > end wraps midnight. Only the start must be in the window.
    """
    _check_duration(duration)
    if part is not None and part[0] == part[1]:
        raise ValueError("part of day must not start and end at the same time")
    window = _Window.of(rules, _utc(now, "now"))
    if after is not None:
        window = _Window(max(window.earliest, _utc(after, "after")), window.latest)
    if count <= 0 or not _has_hours(rules):
        return []
    taken = _taken(busy, rules.buffer, rooms)
    first_day = window.earliest.astimezone(rules.zone).date()
    return _localize(rules, _scan(rules, duration, taken, window, first_day, count, part))


# --- internals -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    """The instants (UTC) a start may take: from now + min_notice to now + max_ahead, inclusive."""

    earliest: datetime
    latest: datetime

    @classmethod
    def of(cls, rules: BookingRules, now: datetime) -> _Window:
        return cls(now + rules.min_notice, now + rules.max_ahead)


@dataclass(frozen=True, slots=True)
class _Opening:
    """One opening range on one calendar day, as naive wall times and as UTC instants."""

    wall_start: datetime
    wall_end: datetime
    open_at: datetime
    close_at: datetime


class _Taken:
    """Busy intervals padded by the buffer, sorted and merged once, for O(log n) clash checks."""

    __slots__ = ("ends", "starts")

    def __init__(self, busy: Iterable[Busy], buffer: timedelta) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        spans = sorted((b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in busy if b.end > b.start)
        for start, end in spans:
            end += buffer
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def clashes(self, start: datetime, until: datetime) -> bool:
        """Whether `[start, until)` overlaps a padded busy interval."""
        i = bisect_left(self.starts, until) - 1
        return i >= 0 and self.ends[i] > start


class _WithRoom:
    """A practitioner's own busy time, and the rooms a service can use: a start needs the first clear and
    at least one of the rooms clear."""

    __slots__ = ("own", "rooms")

    def __init__(self, own: _Taken, rooms: list[_Taken]) -> None:
        self.own, self.rooms = own, rooms

    def clashes(self, start: datetime, until: datetime) -> bool:
        if self.own.clashes(start, until):
            return True
        return all(room.clashes(start, until) for room in self.rooms)


def _taken(busy: Iterable[Busy], buffer: timedelta, rooms: Rooms) -> _Taken | _WithRoom:
    own = _Taken(busy, buffer)
    if rooms is None:
        return own
    return _WithRoom(own, [_Taken(room, buffer) for room in rooms])


def _parse_range(text: str) -> Range:
    """Parse "08:00-12:00" into (time(8), time(12)); an end of "24:00" becomes None."""
    try:
        first, last = text.split("-")
        start = time.fromisoformat(first.strip())
        end = None if last.strip() == "24:00" else time.fromisoformat(last.strip())
    except ValueError:
        raise ValueError(f'"{text}" is not an opening range like "08:00-12:00"') from None
    return start, end


def _utc(moment: datetime, name: str) -> datetime:
    """`moment` as a UTC instant; naive datetimes are refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration <= _ZERO:
        raise ValueError("duration must be positive")


def _has_hours(rules: BookingRules) -> bool:
    return any(rules.hours.values())


def _localize(rules: BookingRules, instants: Iterable[datetime]) -> list[datetime]:
    return [instant.astimezone(rules.zone) for instant in instants]


def instant_of(zone: ZoneInfo, wall: datetime) -> datetime | None:
    """The UTC instant of a naive wall time's first occurrence, or None if a DST jump skips it."""
    return _existing(zone, wall)


def _existing(zone: ZoneInfo, wall: datetime) -> datetime | None:
    """The UTC instant of a naive wall time's first occurrence, or None if a DST jump skips it."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    return instant if instant.astimezone(zone).replace(tzinfo=None) == wall else None


def _instant(zone: ZoneInfo, wall: datetime) -> datetime:
    """A range bound as an instant: its first occurrence, or the moment of the jump if it is skipped."""
    found = _existing(zone, wall)
    if found is not None:
        return found
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())  # post-jump offset: an instant before it
    after = int(wall.replace(tzinfo=zone, fold=0).timestamp())  # pre-jump offset: an instant after it
    while after - before > 1:  # the jump is the first second whose wall time is past `wall`
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _openings(rules: BookingRules, day: date) -> tuple[_Opening, ...]:
    """The day's opening ranges; an end of None is the next midnight."""
    return _day_openings(rules.zone, rules.ranges_on(day), day)


@lru_cache(maxsize=8192)
def _day_openings(zone: ZoneInfo, ranges: tuple[Range, ...], day: date) -> tuple[_Opening, ...]:
    """Kept: every offer walks the same days of the same few schedules (a business's, its practitioners')
    and the zone arithmetic was a fifth of an offer's cost."""
    openings = []
    for start, end in ranges:
        wall_start = datetime.combine(day, start)
        wall_end = datetime.combine(day + _ONE_DAY, time()) if end is None else datetime.combine(day, end)
        open_at, close_at = _instant(zone, wall_start), _instant(zone, wall_end)
        openings.append(_Opening(wall_start, wall_end, open_at, close_at))
    return tuple(openings)


def _day_slots(
    rules: BookingRules, duration: timedelta, taken: _Taken | _WithRoom, window: _Window, day: date
) -> list[datetime]:
    """Bookable starts (UTC) on the local `day`, ascending: the grid minus gaps, notice, fit and clashes."""
    found: list[list[datetime]] = []
    for opening in _openings(rules, day):
        if opening.close_at <= window.earliest or opening.open_at > window.latest:
            continue
        slots = []
        for start in _grid(rules, opening):
            if start < window.earliest:
                continue
            end = start + duration
            if start > window.latest or end > opening.close_at:
                break  # fold=0 starts only grow along the grid, so nothing later fits either
            if not taken.clashes(start, end + rules.buffer):
                slots.append(start)
        found.append(slots)
    found = [slots for slots in found if slots]
    if all(earlier[-1] < later[0] for earlier, later in itertools.pairwise(found)):
        return list(itertools.chain.from_iterable(found))
    return list(dict.fromkeys(heapq.merge(*found)))  # overlapping ranges may offer a start twice


def _grid(rules: BookingRules, opening: _Opening) -> Iterator[datetime]:
    """The opening's slot starts (UTC): its wall-clock grid, skipping wall times a DST jump skips."""
    wall, step = opening.wall_start, rules.slot_step
    offset = opening.open_at.astimezone(rules.zone).utcoffset()
    steady = opening.close_at - opening.open_at == opening.wall_end - opening.wall_start
    if steady and offset is not None and offset == opening.close_at.astimezone(rules.zone).utcoffset():
        start = opening.open_at
        while wall < opening.wall_end:  # no DST change inside: plain arithmetic, no zone look-ups
            yield start
            wall += step
            start += step
        return
    while wall < opening.wall_end:
        start = _existing(rules.zone, wall)
        if start is not None:
            yield start
        wall += step


def _scan(
    rules: BookingRules,
    duration: timedelta,
    taken: _Taken | _WithRoom,
    window: _Window,
    first_day: date,
    count: int,
    part: tuple[time, time] | None = None,
    rooms: Rooms = None,
) -> list[datetime]:
    """The `count` soonest starts (UTC) from `first_day` on, never looking past the window's last day."""
    day = max(first_day, window.earliest.astimezone(rules.zone).date())
    last_day = window.latest.astimezone(rules.zone).date()
    chosen: list[datetime] = []
    while day <= last_day and len(chosen) < count:
        if rules.ranges_on(day):
            for start in _day_slots(rules, duration, taken, window, day):
                if part is None or _in_part(start.astimezone(rules.zone).time(), part):
                    chosen.append(start)
                    if len(chosen) == count:
                        break
        day += _ONE_DAY
    return chosen


def _in_part(moment: time, part: tuple[time, time]) -> bool:
    """Whether a time of day is in `[part[0], part[1])`, wrapping midnight when part[0] > part[1]."""
    begin, end = part
    return begin <= moment < end if begin < end else moment >= begin or moment < end
