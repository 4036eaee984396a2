"""The shared shape of the per-language phrasing tables (test_phrasings_en.py, test_phrasings_da.py):
each row is a message as clients write it and what it must be read as, through the whole understanding
step. Rows that the bot does not read yet are listed as gaps: their test is an expected failure (so a fix
shows up as an unexpected pass), and benchmarks/understanding.py counts them in its share."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from flows.context import BusinessProfile, PractitionerInfo, ServiceInfo, Turn
from flows.heard import understand
from flows.messages import MessageType
from flows.understanding.when import PartOfDay, When
from tests.flows.test_when_phrasings import NOW

M, A, E = PartOfDay.MORNING, PartOfDay.AFTERNOON, PartOfDay.EVENING
EARLY, LATE_M, LUNCH, AFTER_WORK = (
    PartOfDay.EARLY, PartOfDay.LATE_MORNING, PartOfDay.LUNCH, PartOfDay.AFTER_WORK
)  # fmt: skip
# Days as seen from NOW, Wednesday 25 November 2026, 09:00 in Copenhagen.
DAYS = {
    "today": "2026-11-25", "tomorrow": "2026-11-26", "fri": "2026-11-27", "sat": "2026-11-28",
    "sun": "2026-11-29", "mon": "2026-11-30", "tue": "2026-12-01", "wed+": "2026-12-02",
}  # fmt: skip
SERVICES = (
    ServiceInfo("massage", "Massage", 60),
    ServiceInfo("physio-first", "Physiotherapy, first visit", 45),
    ServiceInfo("physio-follow-up", "Physiotherapy, follow-up", 30),
)
PEOPLE = (PractitionerInfo("mia", "Mia Holm"), PractitionerInfo("jonas", "Jonas Berg"))


def w(day: str | None = None, at: str | None = None, part: PartOfDay | None = None) -> When:
    """A reading: day as a key of DAYS or an ISO date, time as HH:MM."""
    found = DAYS.get(day, day) if day else None
    return When(
        day=date.fromisoformat(found) if found else None,
        at=time.fromisoformat(at) if at else None,
        part=part,
    )


def cases(rows: list[tuple[str, When | None]], gaps: set[str]) -> list[Any]:
    """The rows as test cases, the gaps among them expected to fail (strictly: a fix is noticed)."""
    return [
        pytest.param(text, expected, marks=pytest.mark.xfail(strict=True))
        if text in gaps
        else (text, expected)
        for text, expected in rows
    ]


def read(text: str, locale: str) -> When | None:
    business = BusinessProfile("c", "C", locale, "Europe/Copenhagen", services=SERVICES, practitioners=PEOPLE)
    return understand(Turn(MessageType.TEXT, text), business, NOW).when


def as_understood(expected: When | None) -> When | None:
    """The grammar's reading as the whole step gives it: a date without a year just past ("24/11" on 25
    November) is that date, which the flow says has passed, not next year's."""
    if expected is None or expected.day is None or expected.day.year != 2027:
        return expected
    this_year = expected.day.replace(year=2026)
    recent = 0 < (date(2026, 11, 25) - this_year).days <= 31
    return When(day=this_year, at=expected.at, part=expected.part) if recent else expected
