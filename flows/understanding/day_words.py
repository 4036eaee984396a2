"""Day words as clients type them in a hurry, and the words that say a day was meant.

`mended` puts right a misspelt weekday or relative day ("wensday", "thrusday", "tomorrw", "onsdg",
"fredg") before the grammar reads the text: a word at most one edit from a day word (two for words of
seven letters or more; a swap of two letters is one edit) is taken as that word, unless it is an everyday
word or a first name of its own ("monkey", "Frida"), is capitalised inside a sentence (a name), or is as
close to two day words ("moday": Monday or today?). `names_a_day` says whether a text
holds a word that only makes sense with a day ("two weeks from tomorrow", "the 20th", "next month"): when
the grammar found a time in it but no day, the flow asks which day instead of assuming today.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import OSA

from flows.understanding.lexicon import DANISH_SPELLINGS, ENGLISH
from flows.understanding.normalise import danish_ascii

DAY_WORDS = (
    *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    *("today", "tomorrow", "tonight"),
    *("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    *("idag", "imorgen", "overmorgen"),
)
_ASCII_DAYS = {danish_ascii(word): word for word in DAY_WORDS}
# First names one edit from a day word: "Frida" is not Friday.
_NAMES = frozenset(("frida", "freda", "sunna", "mona"))
_KNOWN = (ENGLISH | DANISH_SPELLINGS | _NAMES) - frozenset(DAY_WORDS)
_WORD = re.compile(r"[^\W\d_]{4,}")
# Words that only make sense with a day: left over when the grammar read no day, they mean it missed one.
_DAYISH = re.compile(
    r"\b(?:weeks?|uger?|ugers|months?|måned(?:er)?|maaned(?:er)?|fortnight|days?|dage?|dagen|weekend|"
    r"weekenden|tomorrow|morgen|overmorgen|from|fra|after|efter|next|næste|naeste|following|"
    r"\d{1,2}(?:st|nd|rd|th)|den \d{1,2}\.?|(?!mid)\w+(?:day|dag|dg))\b"
)


# Chat shorthands for days. The short forms that are also words ("sat", "sun", "wed", "man") only next to
# a time or after "on"/"this"/"next"/"på": "fri at 2", "on sat", not "I sat down".
_SHORTHAND = re.compile(r"\b(?:2morrow|2moro|2morow|tmrw|tmr|tmrow|tomoz)\b", re.IGNORECASE)
_SHORT_DAYS = {
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday",
    "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
}  # fmt: skip
_SHORT_DAY = re.compile(
    r"(?:\b(on|this|next|på)\s+)?\b(" + "|".join(_SHORT_DAYS) + r")\b\.?",
    re.IGNORECASE,
)


def mended(text: str) -> str:
    """`text` with misspelt day words and chat shorthands put right; everything else as it was."""
    text = _SHORTHAND.sub("tomorrow", text)
    text = _SHORT_DAY.sub(_short_day, text)
    return _WORD.sub(_mend, text)


def _short_day(match: re.Match[str]) -> str:
    lead, short = match.group(1), match.group(2)
    end = match.end()
    rest = match.string[end : end + 6].lstrip()
    timed = rest.startswith(("at", "@", "kl")) or rest[:1].isdigit()
    if not (lead or timed):
        return match.group(0)
    day = _SHORT_DAYS[short.lower()]
    return f"{lead} {day}" if lead else day


def _mend(match: re.Match[str]) -> str:
    word = match.group(0)
    if word[0].isupper() and not word.isupper() and match.start() > 0:
        return word  # a capital inside a sentence is a name ("this is Frida"), not a slip
    fixed = _closest(word.casefold())
    return fixed if fixed is not None else word


@lru_cache(maxsize=4096)
def _closest(word: str) -> str | None:
    ascii_word = danish_ascii(word)
    if ascii_word in _ASCII_DAYS or word in _KNOWN or ascii_word in _KNOWN:
        return None
    budget = 1 if len(word) <= 6 else 2
    scored = sorted(
        (OSA.distance(ascii_word, day, score_cutoff=budget), day)
        for day in _ASCII_DAYS
        if abs(len(day) - len(ascii_word)) <= budget
    )
    scored = [(d, day) for d, day in scored if d <= budget]
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return _ASCII_DAYS[scored[0][1]]


# "two weeks from tomorrow", "3 dage efter fredag": a day counted from another day, which the grammar reads
# as one of the two. Such a day is asked for rather than guessed. "The day after tomorrow" the grammar
# reads itself.
_COUNTED_FROM = re.compile(
    r"\b(?<!day )(?<!dagen )(?:from|after|fra|efter)\s+(?:i\s+|on\s+|på\s+)?(?:"
    + "|".join(DAY_WORDS)
    + r"|morgen|dag|next|this|næste|naeste|denne)\b"
)


def counts_from_a_day(text: str) -> bool:
    """Whether the text counts a day from another ("two weeks from tomorrow", "om to uger fra i morgen")."""
    return bool(_COUNTED_FROM.search(text.casefold()))


def names_a_day(text: str) -> bool:
    """Whether the text holds a word that only makes sense with a day (see the module's docstring)."""
    return bool(_DAYISH.search(text.casefold()))


_COUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "en": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6,
}  # fmt: skip
_COUNTED = re.compile(
    r"\b(\d{1,2}|" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + r")\s+"
    r"(days?|weeks?|dage?|uger?)\s+(?:from|after|fra|efter)\s+(.+)$"
)


def counted_from(text: str) -> tuple[int, str] | None:
    """(days to add, the day counted from) in "two weeks from tomorrow", "3 dage efter fredag"; None when
    the text counts no day from another. The caller reads the day counted from."""
    found = _COUNTED.search(text.casefold())
    if found is None:
        return None
    amount = found.group(1)
    count = int(amount) if amount.isdigit() else _COUNTS[amount]
    days = count * (7 if found.group(2).startswith(("week", "uge")) else 1)
    return (days, found.group(3)) if 0 < days <= 366 else None
