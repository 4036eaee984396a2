"""Questions a client asks beside booking: the business's opening hours and prices (answered from its own
data, no setup), and the business's own answers (`[[businesses.faq]]`), found by their keywords.

Keywords match whole words of the message in any of the business's languages, tolerant of case,
punctuation, Danish letters written without them, plural and definite endings ("parkering",
"parkeringen", "parkeringspladser" for "parkering"; "prices" for "price") and one slip in a word of five
letters or more ("parkinng"). A keyword of several words matches those words in a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from flows.context import FaqInfo
from flows.understanding.normalise import danish_ascii, fold, tokens

HOURS = re.compile(
    r"\b(?:opening hours?|opening times?|business hours|when are you open|when do you open|when do you close|"
    r"what time do you (?:open|close)|are you open|what are your hours|your hours|"
    r"aabningstid(?:er|erne)?|hvornaar (?:har i|har du|er i) (?:aabent|aaben)|har i aabent|"
    r"hvornaar aabner i|hvornaar lukker i|hvad er jeres aabningstider)\b"
)
PRICES = re.compile(
    r"\b(?:how much|what does (?:it|a|an|the)\b.{0,40}\bcost|what do you charge|price list|prices?|pricing|"
    r"costs?|fees?|hvad koster|hvad koster det|prisen|priser(?:ne)?|prisliste|pris)\b"
)
# Endings a keyword may carry in the message: plural and definite forms, English and Danish, and the
# Danish linking "s" of a compound's first part ("parkeringsplads").
_ENDINGS = ("erne", "ene", "ers", "er", "en", "et", "es", "e", "s", "n", "r")
_TYPO_FROM = 5


@dataclass(frozen=True, slots=True)
class Asked:
    """What the client asked about: "hours", "prices" (with the services named), or a business answer."""

    kind: str  # hours | prices | faq
    answer: str | None = None  # the business's own answer (faq)
    services: tuple[str, ...] = ()
    offer_booking: bool = True


def _words(text: str) -> list[str]:
    return [danish_ascii(word.replace("'", "")) for word in tokens(fold(text))]


@lru_cache(maxsize=256)
def _keyword(keyword: str) -> tuple[str, ...]:
    return tuple(_words(keyword))


def _same(word: str, key: str) -> bool:
    if word == key:
        return True
    if word.startswith(key) and (
        word[len(key) :] in _ENDINGS or (len(key) >= _TYPO_FROM and len(word) > len(key) + 3)
    ):
        return True  # "parkeringen", "prices"; "parkeringspladser" (a compound starting with the keyword)
    return (
        len(key) >= _TYPO_FROM
        and abs(len(word) - len(key)) <= 1
        and OSA.distance(word, key, score_cutoff=1) <= 1
    )


def _contains(words: list[str], keyword: tuple[str, ...]) -> bool:
    size = len(keyword)
    if not size or size > len(words):
        return False
    return any(
        all(_same(words[i + j], keyword[j]) for j in range(size)) for i in range(len(words) - size + 1)
    )


_BUILTIN = {"hours": HOURS, "prices": PRICES}


def read_question(
    text: str, answers: Sequence[FaqInfo], services: tuple[str, ...] = (), *, builtins: bool = True
) -> Asked | None:
    """The question in `text`, if one of `answers` (in order: the first that matches wins) answers it.
    The built-in answers not placed in `answers` come after them, unless `builtins` is False."""
    if not isinstance(text, str) or not text.strip():
        return None
    clipped = text[:600]
    words = _words(clipped)
    plain = " ".join(words)
    placed = {item.builtin for item in answers if item.builtin}
    extra = [FaqInfo((), "", builtin=kind) for kind in _BUILTIN if builtins and kind not in placed]
    for item in (*answers, *extra):
        matched = any(_contains(words, _keyword(keyword)) for keyword in item.keywords)
        if item.builtin is None:
            if matched:
                return Asked("faq", answer=item.answer, offer_booking=item.offer_booking)
        elif matched or _BUILTIN[item.builtin].search(plain):
            found = services if item.builtin == "prices" else ()
            return Asked(item.builtin, services=found, offer_booking=item.offer_booking)
    return None
