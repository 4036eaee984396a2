"""Time as a dependency, so tests can set it."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """The real clock; every module asks this, never datetime.now()."""

    def now(self) -> datetime:
        return datetime.now(UTC)
