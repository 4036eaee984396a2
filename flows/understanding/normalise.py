"""One clean-up of client text that every reader shares, so "Hjælp", "HJAELP" and "hjælp!" read alike."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "ʼ": "'", "＇": "'"})
# Swedish/German letters on a Scandinavian keyboard stand for the Danish ones.
_NORDIC = str.maketrans({"ö": "ø", "ä": "æ"})
_KEEP = frozenset("æøå")
_DANISH_ASCII = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")


def fold(text: str) -> str:
    """Lower case, straight quotes, accents dropped but æ/ø/å kept, whitespace collapsed to single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower().translate(_NORDIC)
    if not text.isascii():
        text = "".join(_strip_accent(ch) for ch in text)
    return " ".join(text.split())


def _strip_accent(ch: str) -> str:
    if ch.isascii() or ch in _KEEP:
        return ch
    decomposed = unicodedata.normalize("NFD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)) or ch


def danish_ascii(text: str) -> str:
    """æ/ø/å written the way Danes type them without a Danish keyboard: ae, oe, aa."""
    return text.translate(_DANISH_ASCII)


def tokens(text: str) -> list[str]:
    """The words and numbers of already folded text, apostrophes inside a word kept ("don't")."""
    return _TOKEN.findall(text)


def calm(text: str) -> str:
    """Chat elongation undone: three or more of one letter become one ("yesss", "nooo", "takkk")."""
    return _ELONGATED.sub(r"\1", text)
