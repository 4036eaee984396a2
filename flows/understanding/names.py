"""The client's name from their answer to "what is your name?", or None when the answer is not a name.

The answer is unwrapped ("my name is …", "jeg hedder …", "hi, Anna here", "Anna, thanks") and what is left
must look like one to five name words: letters with an inner hyphen or apostrophe ("Anne-Marie",
"O'Brien"), or an initial ("B."). Digits, links, e-mail addresses, answers ("yes", "I don't know") and
date words are refused. After "I'm" / "jeg er", which also start "I'm busy", a lower-case everyday word
is refused too. A word that is never a name by itself ("book", "test", "mandag") may still be a
capitalised surname after a first name ("Mia Book", "Frida Mandag"). A name written all in lower or upper
case comes back title-cased.
"""

from __future__ import annotations

import re
import unicodedata

from flows.understanding.lexicon import DANISH_SPELLINGS, ENGLISH, NAME_WORDS, NEVER_NAMES, word_set
from flows.understanding.normalise import danish_ascii

_MAX_CHARS = 80
_MAX_WORDS = 5
_LINK = re.compile(r"https?:|www\.|\.(?:com|dk|net|org|io)\b|@|\d", re.IGNORECASE)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hej|hejsa|hallo|halløj|dav|goddag|god (?:morgen|dag))\b[\s,.!]*", re.I
)
# Lead-ins that can only introduce a name, and those that may introduce anything ("I'm busy").
_SURE_LEAD = re.compile(
    r"^(?:(?:my )?name(?:'s| is|:)|my full name is|you can call me|call me|they call me|i'm called"
    r"|i am called|(?:mit )?navn(?:et)?(?: er|:)|jeg hedder|hedder|du kan kalde mig|kald mig)\s*[:,-]?\s*",
    re.IGNORECASE,
)
_TITLE = re.compile(r"^(?:dr|mr|mrs|ms|miss|fru|frk|hr)\.?\s+(?=\w)", re.IGNORECASE)
_LOOSE_LEAD = re.compile(r"^(?:i'm|i am|im|it's|it is|this is|jeg er|det er|her er|it is)\s+", re.IGNORECASE)
_TRAILER = re.compile(
    r"(?:[\s,.!]+(?:here|her|thanks|thank you|thx|tak|mange tak|please|pls|:\)|:-\)))+[\s.!]*$", re.IGNORECASE
)
_CUT = re.compile(
    r"\s*(?:(?:[,;!?()]|(?<!\b\w)\.)\s|\s(?:and|og|but|men|from|fra)\s).*$", re.IGNORECASE | re.DOTALL
)
_WORD = re.compile(r"^(?:[^\W\d_]+(?:['-][^\W\d_]+)*|[^\W\d_]\.)$")
_EVERYDAY = (ENGLISH | DANISH_SPELLINGS) - NAME_WORDS
# What follows "I'm" / "jeg er" when it is not a name.
_STATES = word_set("""
    busy tired sick ill ready late early fine good back home away new interested available free here there
    done finished sorry happy unsure confused lost calling writing asking wondering customer client
    syg træt klar forsinket færdig optaget hjemme ude glad ked ny interesseret usikker kunde patient
""")


def _tidy(text: str) -> str:
    """No emoji or symbols, no stray punctuation at the ends, single spaces."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LMNPZ")
    return " ".join(kept.split()).strip(' ,.!?:;"()-')


def _unwrap(text: str) -> tuple[str, bool]:
    """The part of the answer that should be the name, and whether a lead-in like "I'm" left doubt."""
    text = _TITLE.sub("", _GREETING.sub("", _tidy(text)))
    loose = False
    if match := _SURE_LEAD.match(text):
        text = text[match.end() :]
    elif match := _LOOSE_LEAD.match(text):
        text, loose = text[match.end() :], True
    text = _TRAILER.sub("", _TITLE.sub("", text))
    return _CUT.sub("", text).strip(" ,.!?:;-"), loose


def _everyday(word: str) -> bool:
    lower = word.lower()
    return lower in _EVERYDAY or danish_ascii(lower) in _EVERYDAY


def _is_name_word(word: str, first: bool, loose: bool, shouting: bool) -> bool:
    """Whether one word can be part of a name; `loose` when it followed "I'm", "jeg er" and the like."""
    if not _WORD.match(word):
        return False
    lower = word.lower()
    capital = word[0].isupper() and not shouting
    if lower in NEVER_NAMES or danish_ascii(lower) in NEVER_NAMES:
        # "Book", "Mandag" alone or first are not names; as a capitalised surname they are ("Mia Book",
        # "Frida Mandag", "Anna Test").
        return capital and not first
    if len(word.rstrip(".")) == 1:
        return word[0].isupper() and not first  # a middle initial: "Anna B. Jensen"
    if _everyday(word):
        return capital
    return capital or not (loose and (lower in _STATES or lower.endswith(("ing", "ende"))))


def read_name(text: str) -> str | None:
    """The client's name from an answer to "what is your name?", or None when it is clearly not a name."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text).replace("’", "'").strip()
    if not text or len(text) > _MAX_CHARS or _LINK.search(text):
        return None
    name, loose = _unwrap(text)
    words = name.split()
    if not words or len(words) > _MAX_WORDS or all(_everyday(word) for word in words):
        return None
    letters = [ch for ch in name if ch.isalpha()]
    shouting = len(letters) > 1 and all(ch.isupper() for ch in letters)
    if not all(_is_name_word(word, k == 0, loose, shouting) for k, word in enumerate(words)):
        return None
    if shouting or not any(ch.isupper() for ch in letters):
        return _title(name)
    return name


def _title(name: str) -> str:
    """ "anne-marie o'brien" -> "Anne-Marie O'Brien"; keeps a lower-case "van"/"de" in the middle."""
    particles = {"van", "von", "de", "der", "den", "la", "le", "du", "af", "da", "di"}
    words = name.lower().split()
    return " ".join(
        word if 0 < k < len(words) - 1 and word in particles else re.sub(r"(^|['’-])(\w)", _upper, word)
        for k, word in enumerate(words)
    )


def _upper(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2).upper()
