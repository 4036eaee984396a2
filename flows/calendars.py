"""Free time across a business's people, rooms and classes: the one answer the bot and the API share.

A business without practitioners is one calendar, as `flows.availability` describes. With practitioners,
a start is free for a service when someone who performs it is free then: inside their own hours (the
business's, narrowed to theirs), not away, clear of their appointments (buffers included); and, when the
service needs a room, one of the rooms that fit it is free for the whole appointment too. An appointment
without a practitioner in a business that has them (booked before they were set up) keeps everyone busy.

A class (a service with capacity N > 1) is free at its sessions that still have places, unless the one
who holds it is away. A session keeps its practitioner and room busy whether or not anyone has booked it.

Who is picked when several are free at one start (`Calendar.pick`): the one the client saw last (their
latest appointment that has begun), if free then; else whoever has the fewest appointments that local day;
ties go to the order of the config. The bot shows the pick beside each time it offers, and books it.

Only answers inside the window a `Calendar` was read for are trusted (see `flows.availability`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flows.availability import (
    Busy,
    Unavailable,
    clashes,
    first_free,
    free_slots,
    instant_of,
    is_bookable,
    nearest_free,
    why_not,
)
from flows.context import BusinessProfile, PractitionerInfo, ServiceInfo
from storage.appointments import Booked
from storage.time_off import Away

_ONE_DAY = timedelta(days=1)
# Reasons about the time itself, not about who is free: the same for everyone.
_GENERAL = (Unavailable.PAST, Unavailable.TOO_FAR, Unavailable.CLOSED)
# When nobody is free and they are not all free for the same reason, the client hears "taken".
_SHARED = (Unavailable.OFF_GRID, Unavailable.DOES_NOT_FIT, Unavailable.TOO_SOON)


@dataclass(frozen=True, slots=True)
class Slot:
    """A start the bot may offer: who is free then (config order; empty for a business that is one
    calendar), and for a class how many places are left."""

    start: datetime  # aware, in the business's zone
    practitioners: tuple[str, ...] = ()
    places_left: int | None = None
    chosen: str | None = None  # who the bot would book (`Calendar.pick`), filled in by the desk


@dataclass(frozen=True, slots=True)
class Session:
    """One meeting of a class."""

    service: str
    start: datetime  # UTC
    end: datetime
    practitioner: str | None
    room: str | None


class Calendar:
    """The busy time of every resource of one business, as read for the window [since, until)."""

    def __init__(
        self,
        business: BusinessProfile,
        booked: Iterable[Booked],
        away: Iterable[Away],
        since: datetime,
        until: datetime,
    ) -> None:
        self.business = business
        self.since, self.until = since.astimezone(UTC), until.astimezone(UTC)
        self.zone = business.rules.zone
        self._order = {p.key: i for i, p in enumerate(business.practitioners)}
        self._own: defaultdict[str | None, list[Busy]] = defaultdict(list)
        self._rooms: defaultdict[str, list[Busy]] = defaultdict(list)
        self._away: defaultdict[str, list[Busy]] = defaultdict(list)
        self._seats: Counter[tuple[str, datetime]] = Counter()
        classes = {s.key for s in business.services if s.is_class}
        for b in booked:
            span = Busy(b.start, b.end)
            self._own[b.practitioner].append(span)  # None: the business's one calendar, or unassigned
            if b.room is not None:
                self._rooms[b.room].append(span)
            if b.service in classes:
                self._seats[(b.service, b.start.astimezone(UTC))] += 1
        for a in away:
            self._away[a.practitioner].append(Busy(a.start, a.end))
        self._sessions: dict[str, list[Session]] = {}
        for service in business.services:
            sessions = self._expand(service)
            self._sessions[service.key] = sessions
            for session in sessions:
                span = Busy(session.start, session.end)
                self._own[session.practitioner].append(span)
                if session.room is not None:
                    self._rooms[session.room].append(span)

    # ------------------------------------------------------------------------------------- offering

    def soonest(
        self,
        service: ServiceInfo,
        now: datetime,
        count: int,
        *,
        after: datetime | None = None,
        part: tuple[time, time] | None = None,
        who: str | None = None,
    ) -> list[Slot]:
        """The `count` soonest free starts at or after `after` (and never before now + notice)."""
        if service.is_class:
            found = [s for s in self._class_slots(service, now, who) if after is None or s.start >= after]
            if part is not None:
                found = [s for s in found if _in_part(s.start.time(), part)]
            return found[:count]
        per_person = {
            key: first_free(rules, _minutes(service), busy, now, count, after=after, part=part, rooms=rooms)
            for key, rules, busy, rooms in self._people(service, who)
        }
        return self._merged(per_person)[:count]

    def on_day(self, service: ServiceInfo, now: datetime, day: date, who: str | None = None) -> list[Slot]:
        """Every free start on the local `day`."""
        if service.is_class:
            return [s for s in self._class_slots(service, now, who) if s.start.date() == day]
        per_person = {
            key: free_slots(rules, _minutes(service), busy, now, day, rooms=rooms)
            for key, rules, busy, rooms in self._people(service, who)
        }
        return self._merged(per_person)

    def nearest(
        self, service: ServiceInfo, now: datetime, wanted: datetime, count: int, who: str | None = None
    ) -> list[Slot]:
        """Up to `count` alternatives to `wanted`: the closest on its day first, then the following days."""
        day = wanted.astimezone(self.zone).date()
        if service.is_class:
            found = [s for s in self._class_slots(service, now, who) if s.start.date() >= day]
        else:
            found = self._merged(
                {
                    key: nearest_free(rules, _minutes(service), busy, now, wanted, count, rooms=rooms)
                    for key, rules, busy, rooms in self._people(service, who)
                }
            )
        ranked = sorted(
            found,
            key=lambda s: (0, abs(s.start - wanted), s.start) if s.start.date() == day else (1, s.start),
        )
        return sorted(ranked[:count], key=lambda s: s.start)

    def at(self, service: ServiceInfo, now: datetime, start: datetime, who: str | None = None) -> Slot | None:
        """The slot at exactly `start`, with everyone free then; None when nobody is."""
        if service.is_class:
            wanted = start.astimezone(UTC)
            # Compared in UTC: a local time in the hour repeated in autumn never equals a UTC one.
            return next(
                (s for s in self._class_slots(service, now, who) if s.start.astimezone(UTC) == wanted), None
            )
        free = [
            key
            for key, rules, busy, rooms in self._people(service, who)
            if is_bookable(rules, _minutes(service), busy, now, start, rooms)
        ]
        if not free:
            return None
        return Slot(start.astimezone(self.zone), tuple(k for k in free if k is not None))

    def why_not(
        self, service: ServiceInfo, now: datetime, start: datetime, who: str | None = None
    ) -> Unavailable | None:
        """Why nobody (or `who`) can take `start`, or None when someone can."""
        if service.is_class:
            return self._class_why_not(service, now, start, who)
        duration = _minutes(service)
        general = why_not(self.business.rules, duration, [], now, start)
        if general in _GENERAL:
            return general
        reasons = []
        for key, rules, busy, rooms in self._people(service, who):
            if key is not None and self.is_away(key, start, start.astimezone(UTC) + duration):
                reasons.append(Unavailable.AWAY)
                continue
            reason = why_not(rules, duration, busy, now, start, rooms)
            if reason is None:
                return None
            if reason == Unavailable.CLOSED and key is not None:
                reason = Unavailable.NOT_WORKING
            reasons.append(reason)
        if not reasons:
            return Unavailable.TAKEN
        if who is not None or (len(set(reasons)) == 1 and reasons[0] in _SHARED):
            return reasons[0]
        return Unavailable.TAKEN

    # ------------------------------------------------------------------------------------- choosing

    def pick(self, slot: Slot, seen_last: str | None = None) -> str | None:
        """Who takes `slot` when the client did not ask for anyone (the rule in the module's docstring)."""
        if not slot.practitioners:
            return None
        if seen_last in slot.practitioners:
            return seen_last
        day = slot.start.astimezone(self.zone).date()
        begin = datetime.combine(day, time(0), self.zone).astimezone(UTC)
        end = datetime.combine(day + _ONE_DAY, time(0), self.zone).astimezone(UTC)

        def load(key: str) -> int:
            return sum(1 for b in self._own[key] if begin <= b.start < end)

        return min(slot.practitioners, key=lambda k: (load(k), self._order.get(k, 0)))

    def room_for(self, service: ServiceInfo, start: datetime) -> str | None:
        """The first room (config order) that fits the service and is free for the whole appointment; a
        class meets in its session's room."""
        if service.is_class:
            session = self.session_at(service, start)
            return session.room if session else None
        start = start.astimezone(UTC)  # elapsed time: local arithmetic is wall-clock, wrong on DST nights
        end = start + _minutes(service)
        for room in self.business.rooms_for(service.key):
            if not clashes(self._rooms[room.key], start, end, self.business.rules.buffer):
                return room.key
        return None

    def session_at(self, service: ServiceInfo, start: datetime) -> Session | None:
        wanted = start.astimezone(UTC)
        return next((s for s in self._sessions.get(service.key, ()) if s.start == wanted), None)

    def places_left(self, service: ServiceInfo, start: datetime) -> int:
        return max(0, service.capacity - self._seats[(service.key, start.astimezone(UTC))])

    def is_away(self, practitioner: str, start: datetime, end: datetime) -> bool:
        return bool(
            clashes(self._away[practitioner], start.astimezone(UTC), end.astimezone(UTC), timedelta(0))
        )

    def busy_of(self, practitioner: str | None) -> list[Busy]:
        """What keeps `practitioner` (None: the business's one calendar) from a new appointment."""
        if practitioner is None:
            return [span for spans in self._own.values() for span in spans]
        return [*self._own[practitioner], *self._own[None], *self._away[practitioner]]

    def rooms_busy(self, service: ServiceInfo) -> list[list[Busy]] | None:
        fitting = self.business.rooms_for(service.key)
        return [self._rooms[r.key] for r in fitting] if fitting else None

    # ------------------------------------------------------------------------------------- internals

    def _people(
        self, service: ServiceInfo, who: str | None
    ) -> list[tuple[str | None, object, list[Busy], list[list[Busy]] | None]]:
        """(key, rules, busy, rooms) of everyone who may take the service: the business itself when it
        has no practitioners, else those who perform it (only `who`, when asked for)."""
        rooms = self.rooms_busy(service)
        if not self.business.practitioners:
            return [(None, self.business.rules, self.busy_of(None), rooms)]
        people: Sequence[PractitionerInfo] = self.business.qualified(service.key)
        if who is not None:
            people = [p for p in people if p.key == who]
        return [(p.key, p.rules, self.busy_of(p.key), rooms) for p in people]

    def _merged(self, per_person: dict[str | None, list[datetime]]) -> list[Slot]:
        free: dict[datetime, list[str]] = defaultdict(list)
        for key, starts in per_person.items():
            for start in starts:
                people = free[start]
                if key is not None:
                    people.append(key)
        return [
            Slot(start.astimezone(self.zone), tuple(sorted(people, key=lambda k: self._order.get(k, 0))))
            for start, people in sorted(free.items())
        ]

    def _expand(self, service: ServiceInfo) -> list[Session]:
        """The class's sessions that start inside the window, soonest first."""
        if not service.sessions:
            return []
        found = []
        day, last = self.since.astimezone(self.zone).date(), self.until.astimezone(self.zone).date()
        length = _minutes(service)
        while day <= last:
            for session in service.sessions:
                if session.on != day and day.weekday() not in session.weekdays:
                    continue
                if session.on != day and day in self.business.rules.closed:
                    continue  # a weekly class does not meet on a holiday; one set for that date does
                start = instant_of(self.zone, datetime.combine(day, session.at))
                if start is not None and self.since <= start < self.until:
                    found.append(
                        Session(service.key, start, start + length, session.practitioner, session.room)
                    )
            day += _ONE_DAY
        return sorted(found, key=lambda s: s.start)

    def _class_slots(self, service: ServiceInfo, now: datetime, who: str | None) -> list[Slot]:
        rules = self.business.rules
        earliest, latest = now + rules.min_notice, now + rules.max_ahead
        slots = []
        for session in self._sessions.get(service.key, ()):
            if not earliest <= session.start <= latest:
                continue
            if who is not None and session.practitioner != who:
                continue
            if session.practitioner and self.is_away(session.practitioner, session.start, session.end):
                continue
            left = self.places_left(service, session.start)
            if left > 0:
                held_by = (session.practitioner,) if session.practitioner else ()
                slots.append(Slot(session.start.astimezone(self.zone), held_by, left))
        return slots

    def _class_why_not(
        self,
        service: ServiceInfo,
        now: datetime,
        start: datetime,
        who: str | None,
    ) -> Unavailable | None:
        """Sessions are set times, so opening hours and the slot grid do not apply to them."""
        rules = self.business.rules
        if start < now:
            return Unavailable.PAST
        if start > now + rules.max_ahead:
            return Unavailable.TOO_FAR
        session = self.session_at(service, start)
        if session is None:
            return Unavailable.NO_SESSION
        if start < now + rules.min_notice:
            return Unavailable.TOO_SOON
        if who is not None and session.practitioner != who:
            return Unavailable.NOT_WORKING
        if session.practitioner and self.is_away(session.practitioner, session.start, session.end):
            return Unavailable.AWAY
        return Unavailable.FULL if self.places_left(service, start) <= 0 else None


def _minutes(service: ServiceInfo) -> timedelta:
    return timedelta(minutes=service.duration_minutes)


def _in_part(moment: time, part: tuple[time, time]) -> bool:
    begin, end = part
    return begin <= moment < end if begin < end else moment >= begin or moment < end
