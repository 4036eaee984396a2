"""A business's booked time kept in memory between turns, brought up to date by what changed.

A busy clinic's first offer of free times may need the whole booking horizon (thousands of appointments),
and reading that per offer was most of the offer's cost. Every transaction that changes busy time raises
the business's `calendar_version` under the calendar lock (storage.appointments.calendar_changed), so
versions become visible in order, and the appointment it changed keeps the new version in `changed_in`.
A process keeps what it read under the version it read first (never older than its label), serves any
window of it while the version stands, and when it moves reads only the appointments changed since.
One cache per process (the handler's, the API's); it holds ids, times and keys, no personal data.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.appointments import Booked

# No appointment is longer than this (a service lasts at most a day): how far before a window to look.
LONGEST = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Kept:
    version: int
    since: datetime
    until: datetime
    booked: tuple[Booked, ...]  # by start
    starts: tuple[datetime, ...]


class CalendarCache:
    """Per business: the active appointments of [since, until) under one calendar version."""

    def __init__(self) -> None:
        self._kept: dict[str, _Kept] = {}

    def get(
        self,
        business_id: str,
        version: int,
        since: datetime,
        until: datetime,
        *,
        ignore: int | None = None,
        only: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> list[Booked] | None:
        """What `booked_between` would answer, or None when this window or version is not kept."""
        kept = self._kept.get(business_id)
        if kept is None or kept.version != version or since < kept.since or until > kept.until:
            return None
        first = bisect_left(kept.starts, since - LONGEST)
        last = bisect_left(kept.starts, until)
        people, rooms = (set(only[0]), set(only[1])) if only is not None else (None, None)
        found = []
        for booked in kept.booked[first:last]:
            if booked.end <= since or booked.id == ignore:
                continue
            if people is not None and rooms is not None and not _keeps_busy(booked, people, rooms):
                continue
            found.append(booked)
        return found

    def put(
        self, business_id: str, version: int, since: datetime, until: datetime, booked: list[Booked]
    ) -> None:
        ordered = tuple(sorted(booked, key=lambda b: b.start))
        self._kept[business_id] = _Kept(version, since, until, ordered, tuple(b.start for b in ordered))

    def behind(self, business_id: str, version: int, since: datetime, until: datetime) -> int | None:
        """The older version kept for a window it covers, which `changed_since` can bring up to date."""
        kept = self._kept.get(business_id)
        if kept is None or kept.version >= version or since < kept.since or until > kept.until:
            return None
        return kept.version

    def apply(self, business_id: str, version: int, changes: Sequence[tuple[Booked, bool]]) -> None:
        """Bring the kept calendar to `version`: (appointment, still active) for each one changed since."""
        kept = self._kept[business_id]
        by_id = {b.id: b for b in kept.booked}
        for booked, active in changes:
            by_id.pop(booked.id, None)
            if active and booked.start < kept.until and booked.end > kept.since:
                by_id[booked.id] = booked
        self.put(business_id, version, kept.since, kept.until, list(by_id.values()))


def _keeps_busy(booked: Booked, people: set[str], rooms: set[str]) -> bool:
    """The same rule as `booked_between(..., only=...)`."""
    return booked.practitioner is None or booked.practitioner in people or booked.room in rooms
