"""Which language a short chat message is in, English or Danish, and whether the client asked for one.

A general detector (lingua) is strong but weighs ~100 MB and guesses on every input: it calls "ok" Danish
and "Anna Jensen" Danish at 90%. We need two languages and an honest "can't tell", so we weigh everyday
words instead: a word only one language uses counts one, a word both use counts nothing, and word shapes
("hv…", "æ/ø/å", "…ing", "th") count a little. A language wins when it has at least one clear word and a
clear lead. "hej" alone counts as Danish (English speakers write "hey"); "hi", "ok", names and numbers
give None, and the caller keeps the language it had.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz.distance import OSA

from flows.understanding.lexicon import DANISH_SPELLINGS, ENGLISH, NEUTRAL, SHARED, WEAK
from flows.understanding.normalise import calm, fold

SUPPORTED = ("en", "da")
_CLEAR = 1.0  # at least one distinctive word
_LEAD = 0.5  # and this far ahead of the other language
_MAX_TOKENS = 60
_RAW_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_CLOCK_EN = re.compile(r"\d{1,2}(?:am|pm)")


def _weights() -> dict[str, tuple[float, float]]:
    table: dict[str, tuple[float, float]] = {}
    for word in ENGLISH - SHARED - NEUTRAL:
        table[word] = (0.5 if word in WEAK["en"] else 1.0, 0.0)
    for word in DANISH_SPELLINGS - SHARED - NEUTRAL:
        table[word] = (0.0, 0.5 if word in WEAK["da"] else 1.0)
    for word in WEAK["en"] | WEAK["da"]:
        table.setdefault(word, (0.5 if word in WEAK["en"] else 0.0, 0.5 if word in WEAK["da"] else 0.0))
    return table


_WEIGHTS = _weights()
_SILENT = NEUTRAL | SHARED
_EN_ENDINGS = re.compile(r"(?:(?<!n)(?<!er)ing|ly|ould|ough|ght)$")
_DA_ENDINGS = re.compile(r"(?:erne|ende|lig|lige|ligt|ning|ninger|hed|else|ene|ede)$")


@lru_cache(maxsize=2048)
def _shape(word: str) -> tuple[float, float]:
    """Weak evidence from how an unknown word is spelled; at most 0.6 for either language."""
    if len(word) < 4 or word.isdigit():
        return (0.0, 0.0)
    da = 0.6 if any(ch in "æøå" for ch in word) or word.startswith("hv") else 0.0
    da = max(da, 0.4 if _DA_ENDINGS.search(word) else 0.0)
    en = 0.6 if "th" in word or "wh" in word or "w" in word else 0.0
    en = max(en, 0.4 if _EN_ENDINGS.search(word) else 0.0)
    return (en, da)


def _scores(text: str) -> dict[str, float]:
    raw = unicodedata.normalize("NFKC", text[:1000]).replace("’", "'")
    en = da = 0.0
    for word in _RAW_TOKEN.findall(raw)[:_MAX_TOKENS]:
        folded = calm(fold(word))
        known = (1.0, 0.0) if _CLOCK_EN.fullmatch(folded) else _WEIGHTS.get(folded)
        if known is None and folded in _SILENT:
            continue
        if known is None and word[0].isupper():
            continue  # "Søren", "Whitfield": names say nothing about the language of the message
        w_en, w_da = known if known is not None else _shape(folded)
        en, da = en + w_en, da + w_da
    return {"en": en, "da": da}


def detect_language(text: str, candidates: Sequence[str] = SUPPORTED) -> str | None:
    """ "en" or "da" when the text is clearly in that language (and it is a candidate), else None."""
    wanted = [code for code in dict.fromkeys(candidates) if code in SUPPORTED]
    if not wanted or not text:
        return None
    scores = _scores(text)
    best = max(wanted, key=lambda code: scores[code])
    rival = max((score for code, score in scores.items() if code != best), default=0.0)
    if scores[best] >= _CLEAR and scores[best] - rival >= _LEAD:
        return best
    return None


_NAMES = {"english": "en", "engelsk": "en", "danish": "da", "dansk": "da"}
_OTHER = {"en": "da", "da": "en"}
_LANG = r"(?P<lang>english|engelsk|danish|dansk)"
_ALONE = re.compile(rf"^(?:(?:in|på|pa|paa)\W+)?{_LANG}(?:\W+(?:please|pls|plz|tak|thanks|ty|tack))*\W*$")
_VERB = (
    r"speak|speaks|write|talk|reply|answer|respond|text|continue|switch|change|use|prefer|understand|read"
    r"|tale|taler|tal|skrive|skriver|skriv|snakke|snakker|svare|svar|fortsætte|fortsæt|skifte|skift"
    r"|forstår|forstaar|foretrækker|læse|læser"
)
_REQUEST = re.compile(
    rf"\b(?:{_VERB})\b(?P<gap>(?:\W+[^\W\d_]+){{0,3}}?)\W+(?:(?:in|på|to|til)\W+)?{_LANG}\b"
)
_IN = re.compile(rf"\b(?:in|på|paa)\W+{_LANG}\b")
_NO = re.compile(rf"\b(?:no|not|ikke|ingen)\W+{_LANG}\b")
_NEGATION = re.compile(r"\b(?:not|ikke|no|never|aldrig|cannot|can't|cant|don't|dont)\b")
_LANG_WORD = re.compile(r"[^\W\d_]{5,8}")


@lru_cache(maxsize=1024)
def _spell_language(word: str) -> str:
    """A close misspelling of a language name spelled right ("englsh", "dannish"), else the word."""
    for name in _NAMES:
        if word[0] == name[0] and OSA.distance(word, name, score_cutoff=1) <= 1:
            return name
    return word


def asked_language(text: str) -> str | None:
    """ "en"/"da" when the client explicitly asks for that language ("in English please", "på dansk")."""
    folded = fold(text[:300])
    if not folded:
        return None
    folded = _LANG_WORD.sub(lambda m: _spell_language(m.group()), folded)
    if match := _ALONE.match(folded) or _IN.search(folded):
        return _NAMES[match["lang"]]
    if match := _NO.search(folded):
        return _OTHER[_NAMES[match["lang"]]]  # "no danish", "ikke engelsk"
    if match := _REQUEST.search(folded):
        wanted = _NAMES[match["lang"]]
        before = " ".join(folded[: match.start()].split()[-3:])
        negated = _NEGATION.search(before) or _NEGATION.search(match["gap"])
        return _OTHER[wanted] if negated else wanted
    return None
