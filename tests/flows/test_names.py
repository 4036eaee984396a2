"""Names read from answers to "what is your name?", and the answers that are not names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding.names import read_name

NAMES = [
    ("Anna Jensen", "Anna Jensen"),
    ("anna jensen", "Anna Jensen"),
    ("ANNA JENSEN", "Anna Jensen"),
    ("my name is anna", "Anna"),
    ("My name is Anna Jensen.", "Anna Jensen"),
    ("name: Anna", "Anna"),
    ("I'm Anna", "Anna"),
    ("I’m Anna", "Anna"),
    ("im anna", "Anna"),
    ("Hi, I'm Anna", "Anna"),
    ("Anna here", "Anna"),
    ("Anna, thanks", "Anna"),
    ("Anna 😊", "Anna"),
    ("Call me Will", "Will"),
    ("it's Per", "Per"),
    ("My name is Anna and I want a massage", "Anna"),
    ("my name is Dr. Anna Jensen", "Anna Jensen"),
    ("jeg hedder Anna", "Anna"),
    ("Jeg hedder Anna, tak", "Anna"),
    ("det er Anna Jensen", "Anna Jensen"),
    ("Jeg er Anna", "Anna"),
    ("Mit navn er Lars Løkke", "Lars Løkke"),
    ("Søren Ørsted", "Søren Ørsted"),
    ("Anne-Marie O'Brien", "Anne-Marie O'Brien"),
    ("anne-marie o'brien", "Anne-Marie O'Brien"),
    ("Anna B. Jensen", "Anna B. Jensen"),
    ("ludwig van beethoven", "Ludwig van Beethoven"),
    ("Hans", "Hans"),
    ("Bo Jensen", "Bo Jensen"),
    ("Mette", "Mette"),
]

NOT_NAMES = [
    "yes",
    "ja",
    "ok",
    "hej",
    "I don't know",
    "jeg ved det ikke",
    "I'm not sure",
    "I'm busy",
    "jeg er syg",
    "det er fint",
    "tomorrow",
    "next week",
    "Next Week",
    "Mandag",
    "10/12",
    "12345",
    "Anna 2",
    "https://example.com",
    "www.example.dk",
    "anna@example.dk",
    "massage",
    "what do you need my name for",
    "a",
    "Anna Jensen Hansen Nielsen Larsen Berg",
    "A" * 81,
    "",
    "   ",
    "👍",
]


@pytest.mark.parametrize(("text", "name"), NAMES, ids=[text for text, _ in NAMES])
def test_names_in_answers(text: str, name: str) -> None:
    """The name comes out of the usual ways of giving it, title-cased when typed all in one case."""
    assert read_name(text) == name


@pytest.mark.parametrize("text", NOT_NAMES, ids=[text[:30] or "empty" for text in NOT_NAMES])
def test_answers_that_are_not_names(text: str) -> None:
    """Answers, dates, numbers, links and sentences are refused rather than stored as a name."""
    assert read_name(text) is None


@given(st.text(max_size=200))
def test_never_raises_and_returns_a_short_name(text: str) -> None:
    """Any text at all gives None or a short, trimmed name; nothing raises."""
    name = read_name(text)
    assert name is None or (0 < len(name) <= 80 and name == name.strip())
