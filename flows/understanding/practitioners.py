"""Whom the client wants to see: a practitioner by name ("with Mia", "hos Mia Holm", "Mia's free?"), the
same one as last time ("the same as last time", "samme som sidst"), or anyone ("whoever", "lige meget").

A name counts as a whole word: the full name, the first name, or the first name with a Danish or English
possessive ("Mias", "Mia's"). A first name that two practitioners share is not taken as either of them,
unless the full name is given. A name after "with"/"hos"/"med" is `named_with`, which the booking flow
needs while it is asking for the client's own name ("Mia Jensen" is a client; "with Mia" is a request).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from flows.understanding.normalise import danish_ascii, fold

ANYONE = re.compile(
    r"\b(?:any ?one|any ?body|whoever|who ?ever|any (?:of them|practitioner|therapist|physio|stylist|staff)"
    r"|no preference|doesn'?t matter|does not matter|don'?t mind|do not mind|don'?t care|not fussy"
    r"|lige ?meget|ligegyldigt|hvem (?:som )?helst|hvem der end|ingen (?:præference|praeference|ønsker)"
    r"|det er (?:lige ?meget|ligegyldigt))\b"
)
SAME_AS_LAST = re.compile(
    r"\b(?:(?:the )?same (?:one|person|therapist|practitioner|physio|as (?:last time|before|last))"
    r"|same as last time|like last time|samme (?:som sidst|som sidste gang|som før|person|behandler|igen)"
    r"|ligesom sidst|ligesom sidste gang)\b"
)
_WITH = r"(?:with|w/|hos|med|by|from|fra|ved)\s+"


@dataclass(frozen=True, slots=True)
class Asked:
    """What the client said about whom they want to see."""

    practitioner: str | None = None  # a practitioner's key
    named_with: bool = False  # the name came after "with" / "hos" / "med"
    anyone: bool = False
    same_as_last: bool = False


def read_practitioner(text: str, practitioners: Sequence[tuple[str, str]]) -> Asked:
    """`practitioners` are (key, full name) pairs; an empty sequence reads nothing."""
    if not practitioners or not text:
        return Asked()
    words = danish_ascii(fold(text))
    found, named_with = _named(words, practitioners)
    return Asked(
        practitioner=found,
        named_with=named_with,
        anyone=found is None and bool(ANYONE.search(fold(text))),
        same_as_last=found is None and bool(SAME_AS_LAST.search(fold(text))),
    )


def _named(words: str, practitioners: Sequence[tuple[str, str]]) -> tuple[str | None, bool]:
    firsts: dict[str, list[str]] = {}
    for key, name in practitioners:
        first = danish_ascii(fold(name)).split(" ")[0] if name.strip() else ""
        firsts.setdefault(first, []).append(key)
    hits: list[tuple[str, bool]] = []
    for key, name in practitioners:
        full = danish_ascii(fold(name))
        if not full:
            continue
        first = full.split(" ")[0]
        plain = _plain(name)
        names = [full, plain]
        if len(firsts[first]) == 1 and len(first) > 1:
            names += [first, plain.split(" ")[0]]
        # "Søren" is typed "Soeren" (danish_ascii) or "Soren": both are him.
        patterns = [re.escape(n) for n in dict.fromkeys(names)]
        for pattern in patterns:
            match = re.search(rf"(?<![\w'])({_WITH})?{pattern}(?:'?s)?(?![\w'])", words)
            if match:
                hits.append((key, match.group(1) is not None))
                break
    keys = list(dict.fromkeys(key for key, _ in hits))
    if len(keys) != 1:
        return None, False
    return keys[0], any(with_ for key, with_ in hits if key == keys[0])


_PLAIN = str.maketrans({"æ": "a", "ø": "o", "å": "a"})


def _plain(name: str) -> str:
    """A Danish name as typed on a keyboard without æ, ø, å: "Søren" → "soren" (`danish_ascii` gives the
    other spelling, "soeren"). Names without those letters are unchanged."""
    return fold(name).translate(_PLAIN)
