"""Misspelt day words put right, and words that meant a day (flows/understanding/day_words.py)."""

from __future__ import annotations

import pytest

from flows.understanding.day_words import counted_from, counts_from_a_day, mended, names_a_day

MENDED = [
    ("wensday at 11", "wednesday at 11"),
    ("Wensday at 11", "wednesday at 11"),  # a capital that starts the message is a slip
    ("thrusday", "thursday"),
    ("tomorrw at 10", "tomorrow at 10"),
    ("tuesdy", "tuesday"),
    ("onsdg kl 10", "onsdag kl 10"),
    ("fredg", "fredag"),
    ("lordag", "lørdag"),
    ("sondag", "søndag"),
    ("imorgn", "imorgen"),
    # Left alone:
    ("monkey business", "monkey business"),  # an everyday word two edits away
    ("sunny", "sunny"),
    ("this is Frida", "this is Frida"),  # a name
    ("frida", "frida"),
    ("can I come Wensday", "can I come Wensday"),  # capital inside a sentence: maybe a name
    ("moday", "moday"),  # Monday or today? not guessed
    ("fridag", "fridag"),  # fredag or friday? not guessed
    ("massage at 10", "massage at 10"),
]


@pytest.mark.parametrize(("text", "expected"), MENDED, ids=[c[0] for c in MENDED])
def test_misspelt_day_words_are_put_right(text: str, expected: str) -> None:
    assert mended(text) == expected


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("two weeks from tomorrow at 10", True),
        ("in a fortnight at 10", True),
        ("the 20th of next month at 10", True),
        ("om to uger kl 10", True),
        ("moday at 10", True),
        ("at 10 on the 3rd", True),
        ("at 10 please", False),
        ("massage at 10", False),
        ("kl. 10 tak", False),
    ],
)
def test_words_that_mean_a_day(text: str, meant: bool) -> None:
    assert names_a_day(text) is meant


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("two weeks from tomorrow at 10", True),
        ("3 days after friday", True),
        ("om to uger fra i morgen", True),
        ("tre dage efter fredag", True),
        ("from 10 to 12 tomorrow", False),
        ("tomorrow at 10", False),
        ("after work on friday", False),
        ("the day after tomorrow at 11", False),
        ("dagen efter i morgen", False),
    ],
)
def test_a_day_counted_from_another(text: str, counted: bool) -> None:
    assert counts_from_a_day(text) is counted


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("two weeks from tomorrow at 10", (14, "tomorrow at 10")),
        ("3 days after friday", (3, "friday")),
        ("a week from monday", (7, "monday")),
        ("om to uger fra i morgen", (14, "i morgen")),
        ("tre dage efter fredag", (3, "fredag")),
        ("from monday", None),
        ("two weeks", None),
    ],
)
def test_days_counted_from_a_day(text: str, counted: tuple[int, str] | None) -> None:
    assert counted_from(text) == counted
