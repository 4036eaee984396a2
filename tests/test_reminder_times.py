"""When a reminder falls due: its lead time before the start, moved earlier (never later) out of quiet hours
kept in the business's wall-clock time, across midnight and on both DST nights (Europe/Copenhagen)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.reminders import due_time

ZONE = ZoneInfo("Europe/Copenhagen")


def local(*parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=ZONE, fold=fold).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "lead", "quiet", "due"),
    [
        pytest.param(
            local(2026, 11, 27, 10), "2h", ["21:00-08:00"], local(2026, 11, 27, 8), id="08:00 is not quiet"
        ),
        pytest.param(
            local(2026, 11, 27, 9),
            "2h",
            ["21:00-08:00"],
            local(2026, 11, 26, 20, 59),
            id="07:00 -> 20:59 before",
        ),
        pytest.param(local(2026, 11, 27, 9), "2h", [], local(2026, 11, 27, 7), id="no quiet hours"),
        pytest.param(
            local(2026, 11, 27, 22, 30),
            "1h",
            ["21:00-08:00"],
            local(2026, 11, 27, 20, 59),
            id="21:30 -> 20:59 same evening",
        ),
        pytest.param(
            local(2026, 11, 27, 13), "24h", ["12:00-14:00"], local(2026, 11, 26, 11, 59), id="a lunch break"
        ),
        pytest.param(
            local(2026, 11, 27, 9),
            "2h",
            ["21:00-24:00", "00:00-08:00"],
            local(2026, 11, 26, 20, 59),
            id="two ranges that touch",
        ),
        # Spring forward, Sunday 29 March 2026: 02:00 -> 03:00. A 10:00 appointment's 2h reminder is 08:00.
        pytest.param(
            local(2026, 3, 29, 10), "2h", ["21:00-08:00"], local(2026, 3, 29, 8), id="spring: 08:00 local"
        ),
        pytest.param(
            local(2026, 3, 29, 9), "2h", ["21:00-08:00"], local(2026, 3, 28, 20, 59), id="spring: into quiet"
        ),
        pytest.param(
            local(2026, 3, 29, 4),
            "2h",
            ["01:00-03:30"],
            local(2026, 3, 29, 0, 59),
            id="spring: quiet starts before the gap",
        ),
        # Fall back, Sunday 25 October 2026: 03:00 -> 02:00; the night is an hour longer.
        pytest.param(
            local(2026, 10, 25, 10), "2h", ["21:00-08:00"], local(2026, 10, 25, 8), id="autumn: 08:00 local"
        ),
        pytest.param(
            local(2026, 10, 25, 9, 30),
            "2h",
            ["21:00-08:00"],
            local(2026, 10, 24, 20, 59),
            id="autumn: into quiet",
        ),
        pytest.param(
            local(2026, 10, 25, 4),
            "2h",
            ["02:30-03:30"],
            local(2026, 10, 25, 2, fold=1),
            id="autumn: 02:00 again, not quiet",
        ),
        pytest.param(
            local(2026, 10, 25, 4),
            "2h",
            ["01:30-02:30"],
            local(2026, 10, 25, 1, 29),
            id="autumn: quiet from its first 01:30",
        ),
    ],
)
def test_due_time(start: datetime, lead: str, quiet: list[str], due: datetime) -> None:
    hours = {"h": 3600, "m": 60}[lead[-1]] * int(lead[:-1])
    found = due_time(start, timedelta(seconds=hours), ZONE, quiet)
    assert found == due, (found.astimezone(ZONE), due.astimezone(ZONE))
    assert found <= start - timedelta(seconds=hours)  # never later than the lead time asks
