"""Which of the business's services a message names, forgiving Danish inflections, compounds and typos.

Every name (and alias) is compared with every run of one to four words in the message, cheapest first:
the same letters (cost 0), the name with a Danish or English ending ("massagen", "massager", 0.25), a
Danish compound ("rygmassage", 0.5), a misspelling (edit distance, e.g. "masage" costs 1; a sound-alike
spelling from a neighbour language, "akupunktur" for "Acupuncture" or "massasje" for "Massage", costs 1.5
more, and is taken within the budget or when it sounds the same), an abbreviation
("physio", 2), and part of a longer name ("hot stone" for "Hot stone massage", 3 more). A misspelling is
only accepted within a budget that grows with the name's length (none for 4 letters or fewer), and never
for an everyday word ("message" is not "massage").

Where matches overlap, the one explaining more letters of the message wins ("sport massage" is Sports
massage, not Massage), then the cheaper; an exact tie keeps both, so the flow can ask which was meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from flows.understanding.lexicon import DANISH_SPELLINGS, ENGLISH, word_set
from flows.understanding.normalise import danish_ascii, fold, tokens


@dataclass(frozen=True, slots=True)
class ServiceCandidate:
    """A service as the matcher sees it: the caller's id, its display name and any other names for it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Form:
    """One way of naming a service: a whole name or alias, or a telling part of a longer one."""

    service: str
    joined: str  # ASCII-folded letters without spaces
    sound: str
    size: int  # words
    weight: int  # letters of the service this form names
    base: float  # 0 for a whole name, _PART for a part


@dataclass(frozen=True, slots=True)
class _Match:
    service: str
    start: int
    end: int
    cost: float
    weight: int  # letters of the message this match explains


# Danish and English endings a service name may take: "massagen", "massager", "fysioterapien".
_SUFFIXES = frozenset(
    ("ernes", "erne", "rnes", "rne", "ens", "ets", "nes", "en", "et", "er", "es", "ne", "n")
)
_SUFFIXES |= frozenset(("t", "r", "s", "e"))
_SOUNDS = (
    ("sje", "ge"), ("ph", "f"), ("th", "t"), ("ch", "k"), ("ck", "k"), ("qu", "kv"), ("c", "k"), ("w", "v"),
    ("z", "s"), ("y", "i"), ("x", "ks"), ("ae", "e"), ("oe", "o"), ("aa", "a"),
)  # fmt: skip
_DOUBLE = re.compile(r"(.)\1+")
_COMPOUND_MIN = 5
_OTHER_LANGUAGE = 1.5
_ABBREVIATION = 2.0
_PART = 3.0
_PART_TYPOS = 6  # a part of a name shorter than this must be spelled right ("stone" is not "store")
_MAX_WINDOW = 4
_MAX_TOKENS = 80
# Filler that never names a service by itself, even inside a service's name.
_FILLER = word_set("and og with med the for til of af in i a an en et min mins minutes minutter time timer")
_EVERYDAY = (
    ENGLISH
    | DANISH_SPELLINGS
    | word_set("message messages besked beskeder passage sausage usage manage massive masse masser")
)


def _words(text: str) -> list[str]:
    return [word.replace("'", "") for word in tokens(danish_ascii(fold(text)))]


@lru_cache(maxsize=4096)
def _sound(joined: str) -> str:
    """A rough sound-alike key: "physiotherapy" and "fysioterapi" both give "fisioterapi"."""
    for spelled, said in _SOUNDS:
        joined = joined.replace(spelled, said)
    joined = _DOUBLE.sub(r"\1", joined)
    return joined[:-1] if len(joined) > 4 and joined.endswith("e") else joined


def _budget(length: int) -> int:
    """Typos forgiven in a name of this many letters."""
    return 0 if length <= 4 else 1 if length <= 8 else 2 if length <= 12 else 3


def _forms_of(service: ServiceCandidate) -> list[_Form]:
    forms: list[_Form] = []
    for name in (service.name, *service.aliases):
        words = _words(name)
        if not words:
            continue
        joined = "".join(words)
        forms.append(_Form(service.id, joined, _sound(joined), len(words), len(joined), 0.0))
        for size in range(1, min(len(words), _MAX_WINDOW + 1)):
            for start in range(len(words) - size + 1):
                part = words[start : start + size]
                if any(len(w) >= 4 and w.isalpha() and w not in _FILLER for w in part):
                    text = "".join(part)
                    forms.append(_Form(service.id, text, _sound(text), size, len(text), _PART))
    return forms


@lru_cache(maxsize=64)
def _index(services: tuple[ServiceCandidate, ...]) -> tuple[_Form, ...]:
    return tuple(form for service in services for form in _forms_of(service))


def _cost(window: str, size: int, form: _Form) -> float | None:
    """What it costs to read `window` (`size` words) as `form`, or None when it is not close enough."""
    if window == form.joined:
        return 0.0
    if window.startswith(form.joined) and window[len(form.joined) :] in _SUFFIXES:
        return 0.25
    if window in _EVERYDAY:
        return None
    whole_word = size == 1 and form.base == 0
    if whole_word and _compound(window, form.joined):
        return 0.5
    typos = _typos(window, form)
    if typos is not None:
        return typos
    # "physio" for "Physiotherapy", also when that is one word of a longer name ("Physiotherapy, follow-up"):
    # then every service with that word ties, and the flow asks which.
    single = size == 1 and form.size == 1
    if single and len(window) >= 5:
        if len(window) * 5 >= len(form.joined) * 2 and form.joined.startswith(window):
            return _ABBREVIATION
        sound = _sound(window)  # "fysio" for "physiotherapy": both sound "fisio…"
        if len(sound) * 5 >= len(form.sound) * 2 and form.sound.startswith(sound):
            return _ABBREVIATION + 0.5
    return None


def _compound(word: str, name: str) -> bool:
    """A Danish compound with the name at either end: "rygmassage", "massagetid"."""
    if len(name) < _COMPOUND_MIN or len(word) < len(name) + 3:
        return False
    return word.endswith(name) or word.startswith(name)


def _typos(window: str, form: _Form) -> float | None:
    """Edits from the name (or, dearer, from how it sounds) when within the name's budget."""
    budget = _budget(len(form.joined)) if form.base == 0 or len(form.joined) >= _PART_TYPOS else 0
    if not budget or abs(len(window) - len(form.joined)) > budget:
        return None
    typos = OSA.distance(window, form.joined, score_cutoff=budget)
    if typos <= budget:
        return float(typos)
    sounds = OSA.distance(_sound(window), form.sound, score_cutoff=budget)
    if sounds == 0:
        return _OTHER_LANGUAGE  # spelt as the neighbour language says it: "massasje", "akupunktur"
    return sounds + _OTHER_LANGUAGE if sounds + _OTHER_LANGUAGE <= budget else None


def _matches(words: list[str], forms: tuple[_Form, ...]) -> list[_Match]:
    largest = min(max(form.size for form in forms) + 1, _MAX_WINDOW)
    found: list[_Match] = []
    for start in range(len(words)):
        for size in range(1, min(largest, len(words) - start) + 1):
            window = "".join(words[start : start + size])
            for form in forms:
                if size > form.size + 1:
                    continue
                cost = _cost(window, size, form)
                if cost is not None:
                    named = min(len(window), form.weight)
                    found.append(_Match(form.service, start, start + size, cost + form.base, named))
    return found


def _resolve(found: list[_Match]) -> list[_Match]:
    """The best match for each stretch of text; ties on the same stretch are all kept."""
    kept: list[_Match] = []
    for match in sorted(found, key=lambda m: (-m.weight, m.cost, m.start, m.end - m.start)):
        rivals = [k for k in kept if k.start < match.end and match.start < k.end]
        if any(k.service == match.service for k in kept):
            continue
        if all((k.weight, k.cost) == (match.weight, match.cost) for k in rivals):
            kept.append(match)
    return kept


def match_services(text: str, services: Sequence[ServiceCandidate]) -> list[str]:
    """Ids of the services the text names, best first; empty when nothing is close enough."""
    if not isinstance(text, str) or not services:
        return []
    words = _words(text[:2000])[:_MAX_TOKENS]
    if not words:
        return []
    try:
        forms = _index(tuple(services))
    except TypeError:  # unhashable candidates (aliases given as a list): index them uncached
        forms = tuple(form for service in services for form in _forms_of(service))
    if not forms:
        return []
    found = _matches(words, forms)
    kept = _settled(_resolve(found), found)
    return [m.service for m in sorted(kept, key=lambda m: (m.cost, m.start))]


def _settled(kept: list[_Match], found: list[_Match]) -> list[_Match]:
    """A word several services share ("physio") settled by another part of the message naming one of
    them ("physio, first visit"): a match that tied there with a service named elsewhere is dropped."""
    settled = []
    for match in kept:
        stretch = (match.start, match.end)
        rivals = {
            f.service
            for f in found
            if (f.start, f.end) == stretch and f.cost == match.cost and f.service != match.service
        }
        elsewhere = {k.service for k in kept if (k.start, k.end) != stretch}
        if not rivals & elsewhere:
            settled.append(match)
    return settled
