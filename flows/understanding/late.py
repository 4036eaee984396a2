"""A client telling us they are running late ("I'm running 10 minutes late", "jeg er 10 min forsinket"),
and by how much when they say it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.understanding.normalise import fold

_LATE = re.compile(
    r"\b(?:i'?m|i am|am|running|run|be|being|will be|'ll be|gonna be|we'?re|we are)\b"
    r"(?:\s+\S+){0,4}?\s+late\b|"
    r"\brunning behind\b|\bstuck in traffic\b|\bdelayed\b|"
    r"\bforsinke[td]\b|\bkommer(?:\s+\S+){0,4}?\s+for sent\b|\bbliver(?:\s+\S+){0,2}?\s+(?:sen|forsinket)\b|"
    r"\bsent på den\b|\b(?:holder|sidder|står) i kø\b"
)
_NOT_LATE = re.compile(r"\btoo late\b|\bfor sent til at\b|\bfor sent at\b")
_MINUTES = re.compile(r"\b(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?(?:min|mins|minute|minutes|minutter|minut|m)\b")
_WORDS = {
    "five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "half an hour": 30, "thirty": 30,
    "fem": 5, "ti": 10, "kvarter": 15, "tyve": 20, "halv time": 30, "en halv time": 30,
}  # fmt: skip
_WORD_MINUTES = re.compile(
    r"\b(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")\b(?:\s*(?:min|minutes|minutter))?"
)


@dataclass(frozen=True, slots=True)
class Late:
    minutes: int | None = None  # None: they did not say


def read_late(text: str) -> Late | None:
    """A `Late` when the client says they are running late, else None."""
    words = fold(text)
    if not _LATE.search(words) or _NOT_LATE.search(words):  # "is it too late to cancel?" is a question
        return None
    found = _MINUTES.search(words)
    if found:  # "5-10 min": the longer
        return Late(int(found.group(2) or found.group(1)))
    named = _WORD_MINUTES.search(words)
    return Late(_WORDS[named.group(1)] if named else None)
