"""Phone numbers as clients type them, read to E.164, or refused rather than guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding.phones import country_code_for, read_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+45 12 34 56 78", "+4512345678"),
        ("0045 12345678", "+4512345678"),
        ("12 34 56 78", "+4512345678"),
        ("my number is 20304050", "+4520304050"),
        ("mit nummer er 20-30-40-50", "+4520304050"),
        ("+1 (555) 010-0000", "+15550100000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("it is 4512345678", "+4512345678"),
        ("24/11 at 10", None),
        ("call 12345678 or 87654321", None),
        ("123", None),
        ("555-0100", None),
        ("+123", None),
        ("massage tomorrow at 10", None),
        ("", None),
    ],
    ids=lambda value: str(value),
)
def test_typed_numbers(text: str, expected: str | None) -> None:
    assert read_phone(text, "45") == expected


def test_without_a_country_a_national_number_is_not_guessed() -> None:
    assert read_phone("12 34 56 78", None) is None
    assert read_phone("+45 12 34 56 78", None) == "+4512345678"


def test_the_country_comes_from_the_business_zone() -> None:
    assert country_code_for("Europe/Copenhagen") == "45"
    assert country_code_for("America/New_York") is None


@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    found = read_phone(text)
    assert found is None or (found.startswith("+") and found[1:].isdigit() and 8 <= len(found) - 1 <= 15)
