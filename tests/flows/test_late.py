"""Running late, as clients say it (flows/understanding/late.py)."""

from __future__ import annotations

import pytest

from flows.understanding.late import Late, read_late

CASES = [
    ("I'm running 10 minutes late", Late(10)),
    ("Sorry, running late", Late(None)),
    ("I will be 5-10 min late", Late(10)),
    ("I'm about ten minutes late", Late(10)),
    ("stuck in traffic, 15 min", Late(15)),
    ("I might be a few minutes late", Late(None)),
    ("we are running late", Late(None)),
    ("jeg er 10 minutter forsinket", Late(10)),
    ("jeg kommer et kvarter for sent", Late(15)),
    ("kommer lidt for sent", Late(None)),
    ("jeg er lidt sent på den", Late(None)),
    ("holder i kø, 20 min", Late(20)),
    # Not running late:
    ("Is it too late to book?", None),
    ("will it be too late to cancel", None),
    ("er det for sent at aflyse", None),
    ("can I come later", None),
    ("later please", None),
    ("a late appointment on friday", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_running_late(text: str, expected: Late | None) -> None:
    assert read_late(text) == expected
