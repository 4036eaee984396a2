"""Clock talk rewritten for the grammar, and times counted from now (flows/understanding/clock_words.py)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from flows.understanding.clock_words import from_now, spelled_out
from flows.understanding.when import read_when

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 25, 9, 2, tzinfo=ZONE)  # Wednesday


@pytest.mark.parametrize(
    ("said", "at"),
    [
        ("3 15 pm", time(15, 15)),  # once read as 15:00
        ("at 1545", time(15, 45)),
        ("kl 1545", time(15, 45)),
        ("1030", time(10, 30)),
        ("ten thirty", time(10, 30)),
        ("at ten fifteen tomorrow", time(10, 15)),
        ("eleven forty five", time(11, 45)),
        ("two thirty", time(14, 30)),
        ("nine oh five", time(9, 5)),
    ],
)
def test_clock_talk_is_read(said: str, at: time) -> None:
    when = read_when(spelled_out(said), "en", NOW)
    assert when is not None and when.at == at


@pytest.mark.parametrize("said", ["in 2026", "year 2026", "I have 1545 things", "ten people"])
def test_numbers_that_are_not_times_are_left_alone(said: str) -> None:
    assert spelled_out(said) == said


@pytest.mark.parametrize(
    ("said", "moment"),
    [
        ("in 30 minutes", "09:35"),
        ("can I come in 30 min?", "09:35"),
        ("in an hour", "10:05"),
        ("in half an hour", "09:35"),
        ("in 2 hours", "11:05"),
        ("om en halv time", "09:35"),
        ("om et kvarter", "09:20"),
        ("om 3 timer", "12:05"),
        ("om tyve minutter", "09:25"),
    ],
)
def test_times_counted_from_now(said: str, moment: str) -> None:
    found = from_now(said, NOW)
    assert found is not None and found.strftime("%H:%M") == moment and found.date() == NOW.date()


@pytest.mark.parametrize("said", ["in 3 days", "in a week", "om to uger", "in 900 hours", "massage at 10"])
def test_days_and_other_words_are_not_counted_from_now(said: str) -> None:
    assert from_now(said, NOW) is None
