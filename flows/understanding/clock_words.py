"""Clock talk the date-and-time grammar does not read, rewritten so it does, and times counted from now.

`spelled_out` turns "3 15 pm" into "3:15 pm" (it once read as 15:00), "at 1545" into "at 15:45", a message
that is only "1030" into "10:30", and "ten thirty" into "10:30". `from_now` reads "in 30 minutes", "in an
hour", "om en halv time", "om et kvarter" as today (or tomorrow, past midnight) at that time, rounded up
to the next five minutes; the flow then offers what is free nearest to it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flows.understanding.normalise import fold

_HOURS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS = {
    "oh five": 5, "o five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty five": 45, "forty-five": 45, "fortyfive": 45, "fifty": 50,
}  # fmt: skip
_SPACED_MERIDIEM = re.compile(r"\b(\d{1,2})\s+(\d{2})\s*(am|pm|a\.m\.|p\.m\.)", re.IGNORECASE)
_AFTER_AT = re.compile(r"\b(at|kl\.?|klokken|around|omkring|ved)\s+([01]\d|2[0-3])([0-5]\d)\b", re.IGNORECASE)
_ALONE = re.compile(r"^\s*([01]\d|2[0-3])([0-5]\d)\s*$")
_SPOKEN = re.compile(
    r"\b(" + "|".join(_HOURS) + r")\s+(" + "|".join(sorted(_MINUTE_WORDS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)

_AMOUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty-five": 45, "en": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5,
    "ti": 10, "femten": 15, "tyve": 20, "tredive": 30,
}  # fmt: skip
_AMOUNT = r"(\d{1,3}|" + "|".join(sorted(_AMOUNTS, key=len, reverse=True)) + r")"
_FROM_NOW = re.compile(
    r"\b(?:in|om)\s+(?:(half an hour|half en time|en halv time|a quarter of an hour|et kvarter)|"
    + _AMOUNT
    + r"\s+(minutes?|mins?|minutter|minut|hours?|hrs?|timer|time))\b"
)
_FIXED = {
    "half an hour": 30,
    "half en time": 30,
    "en halv time": 30,
    "a quarter of an hour": 15,
    "et kvarter": 15,
}
_STEP = 5


def spelled_out(text: str) -> str:
    """`text` with the clock talk above rewritten as the grammar reads it."""
    text = _SPACED_MERIDIEM.sub(r"\1:\2 \3", text)
    text = _AFTER_AT.sub(r"\1 \2:\3", text)
    text = _ALONE.sub(r"\1:\2", text)
    return _SPOKEN.sub(_spoken, text)


def _spoken(match: re.Match[str]) -> str:
    hour = _HOURS[match.group(1).lower()]
    minutes = _MINUTE_WORDS[match.group(2).lower()]
    return f"{hour}:{minutes:02d}"


def from_now(text: str, now: datetime) -> datetime | None:
    """The moment "in 30 minutes" and the like mean, rounded up to five minutes; None when not said."""
    found = _FROM_NOW.search(fold(text))
    if found is None:
        return None
    if found.group(1):
        minutes = _FIXED[found.group(1)]
    else:
        amount = found.group(2)
        count = int(amount) if amount.isdigit() else _AMOUNTS[amount]
        minutes = count * (60 if found.group(3).startswith(("hour", "hr", "time")) else 1)
    if not 0 < minutes <= 12 * 60:
        return None
    moment = now + timedelta(minutes=minutes)
    extra = (-moment.minute) % _STEP
    return (moment + timedelta(minutes=extra)).replace(second=0, microsecond=0)
