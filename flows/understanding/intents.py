"""What a client's free-text message asks for, in English or Danish, as a short list of intents.

How a message is read:
1. Clean-up: lower case, accents dropped (æ/ø/å kept, and matched also as ae/oe/aa or e/o/a), English
   contractions spelled out ("can't" -> "can not"), elongation undone ("yesss"), 👍/👎/🙏 read as words,
   and a close misspelling of a long keyword put right ("cancle", "apointment", "afbestile").
2. Phrases are tried in a fixed order, most specific first; a phrase that matches hides its words from the
   later ones. That is how "not sure" never reaches "sure", "nej tak" never reaches "tak" (THANKS), and
   "thanks for your help" never reaches "help".
3. A phrase after a negation in the same clause ("I don't want to cancel", "jeg vil ikke aflyse"), or
   right before one ("aflys ikke"), counts for nothing, except in a question ("can't we move it?",
   "kan jeg ikke flytte den?"), which asks for it.
4. Weak hints of booking ("an appointment", "en tid") give way to any clearer request in the message.

Order of the result, strongest first: STOP, TALK_TO_PERSON, START_OVER; then the appointment requests
(CANCEL, RESCHEDULE, MY_APPOINTMENTS, BOOK); then time preferences (FIRST_AVAILABLE, OTHER_TIME); then the
answers (YES, NO); then HELP; then GREETING and THANKS. Intents of the same rank keep the order they were
written in. So "no, cancel it" is [CANCEL, NO] and "yes please, book it" is [BOOK, YES]: a flow waiting for
a yes or no looks for YES/NO anywhere in the list, and a flow deciding what to do next reads the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from flows.understanding import intent_phrases as phrases
from flows.understanding.lexicon import DANISH_SPELLINGS, ENGLISH, NEUTRAL, word_set
from flows.understanding.normalise import calm, fold


class Intent(StrEnum):
    """The things a client can ask for in free text; the flows decide what each means in their state."""

    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    MY_APPOINTMENTS = "my_appointments"
    TALK_TO_PERSON = "talk_to_person"
    HELP = "help"
    START_OVER = "start_over"
    STOP = "stop"
    OPT_IN = "opt_in"  # "start": reminders and notices again, after a stop
    YES = "yes"
    NO = "no"
    GREETING = "greeting"
    THANKS = "thanks"
    FIRST_AVAILABLE = "first_available"
    OTHER_TIME = "other_time"


_RANK = {
    Intent.STOP: 0,
    Intent.OPT_IN: 0,
    Intent.TALK_TO_PERSON: 1,
    Intent.START_OVER: 2,
    Intent.CANCEL: 3,
    Intent.RESCHEDULE: 3,
    Intent.MY_APPOINTMENTS: 3,
    Intent.BOOK: 3,
    Intent.FIRST_AVAILABLE: 4,
    Intent.OTHER_TIME: 4,
    Intent.YES: 5,
    Intent.NO: 5,
    Intent.HELP: 6,
    Intent.GREETING: 7,
    Intent.THANKS: 7,
}
_CLEAR_REQUEST = 4  # a weak hint gives way to an intent of this rank or stronger
_MAX_CHARS = 600  # a chat message longer than this is read by its start


@dataclass(frozen=True, slots=True)
class _Rule:
    """One group of phrases for one intent (None: phrases that mean nothing and hide their words)."""

    intent: Intent | None
    pattern: re.Pattern[str]
    negatable: bool
    weak: bool


_LETTERS = {"æ": "(?:æ|ae|e)", "ø": "(?:ø|oe|o)", "å": "(?:å|aa|a)", " ": r"\W+"}


def _regex(phrase: str) -> str:
    """A phrase as a regex: a space is any run of non-word characters, æ/ø/å also match their ASCII forms."""
    return "".join(_LETTERS.get(ch, ch) for ch in phrase)


def _compile(group: phrases.Group) -> _Rule:
    body = "|".join(_regex(p) for p in group.phrases)
    edge_in, edge_out = (r"^\W*", r"\W*$") if group.whole else (r"(?<![\w'])", r"(?![\w'])")
    pattern = re.compile(f"{edge_in}(?:{body}){edge_out}")
    intent = Intent(group.intent) if group.intent else None
    return _Rule(intent, pattern, group.negatable, group.weak)


_RULES = tuple(_compile(group) for group in phrases.GROUPS)

_EMOJI = {
    **dict.fromkeys(map(ord, "👍👌✅✔☑🆗🙆🤝"), " yes "),
    **dict.fromkeys(map(ord, "👎❌✖🙅🚫"), " no "),
    ord("🙏"): " thanks ",
    ord("👋"): " hi ",
    **dict.fromkeys(range(0x1F3FB, 0x1F400), ""),  # skin tones
    0xFE0F: "",
}
_CONTRACTED = re.compile(r"[a-z]+(?:'[a-z]+)?")
_WHOLE_WORDS = {
    "won't": "will not", "wont": "will not", "can't": "can not", "cant": "can not", "cannot": "can not",
    "shan't": "shall not", "ain't": "am not", "let's": "let us", "i'm": "i am", "im": "i am",
    "it's": "it is", "that's": "that is", "thats": "that is", "what's": "what is", "whats": "what is",
    "there's": "there is", "here's": "here is", "when's": "when is", "where's": "where is",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not", "arent": "are not",
    "couldnt": "could not", "wouldnt": "would not", "wasnt": "was not", "havent": "have not",
}  # fmt: skip
_ENDINGS = (
    ("n't", " not"),
    ("'ll", " will"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'d", " would"),
    ("'m", " am"),
)


def _spell_out(match: re.Match[str]) -> str:
    word = match.group()
    if word in _WHOLE_WORDS:
        return _WHOLE_WORDS[word]
    for ending, replacement in _ENDINGS:
        if word.endswith(ending):
            return word[: -len(ending)] + replacement
    return word


# Long keywords worth putting right when misspelled; short ones are too close to other words.
_KEYWORDS = (
    "cancel", "cancellation", "reschedule", "appointment", "appointments", "available", "availability",
    "unsubscribe", "receptionist", "representative", "postpone", "earliest", "soonest", "restart",
    "confirm", "thanks", "aflyse", "aflyser", "afbestille", "afbestilling", "bestille", "booking", "booke",
    "hurtigst", "menneske", "medarbejder", "flytte", "bekræfte", "bekræfter", "tusind",
)  # fmt: skip
_KNOWN = ENGLISH | DANISH_SPELLINGS | NEUTRAL | frozenset(_KEYWORDS) | phrases.NOT_MISSPELT


@lru_cache(maxsize=4096)
def _respell(word: str) -> str:
    """The keyword a long unknown word is a misspelling of ("cancle" -> "cancel"), else the word itself."""
    if word in _KNOWN or word.startswith(_KEYWORDS):
        return word  # a known word, or a keyword's own inflection ("bookings", "aflyses")
    found = process.extractOne(word, _KEYWORDS, scorer=OSA.distance, score_cutoff=2)
    if found is None:
        return word
    keyword, distance, _ = found
    allowed = 1 if len(keyword) <= 7 else 2
    return keyword if distance <= allowed and keyword[0] == word[0] else word


_LONG_WORD = re.compile(r"[^\W\d_]{5,}")


def clean(text: str) -> str:
    """The message as the phrase rules read it (exposed for tests and debugging)."""
    text = fold(text[:_MAX_CHARS].translate(_EMOJI))
    text = calm(_CONTRACTED.sub(_spell_out, text))
    return _LONG_WORD.sub(lambda m: _respell(m.group()), text)


_CLAUSE = re.compile(r"[,.;:!?]|\b(?:but|men|and|og|so|så)\b")
_NEGATORS = frozenset({"not", "never", "ikke", "aldrig", "ingen", "no"})
_MODALS = word_set("can could would will do did why kan vil skal kunne ville må hvorfor")
_PRONOUNS = word_set("i we you jeg vi du man")
_WINDOW = 4
_IKKE_AFTER = re.compile(r"\s+ikke\b")


def _negated(text: str, start: int, end: int) -> bool:
    """Whether the words around text[start:end], in its clause, deny it ("not cancel", "aflys ikke").

    A question is no denial: "can't we move it?", "kan jeg ikke flytte den?" ask for it.
    """
    if _IKKE_AFTER.match(text, end):
        return True
    before = text[:start]
    boundary = max((m.end() for m in _CLAUSE.finditer(before)), default=0)
    words = re.findall(r"[\w']+", before[boundary:])[-_WINDOW:]
    for k, word in enumerate(words):
        if word not in _NEGATORS or (word == "no" and words[k + 1 : k + 2] != ["need"]):
            continue  # "no" denies only in "no need to …"; elsewhere it is an answer
        asks = (k >= 2 and words[k - 2] in _MODALS and words[k - 1] in _PRONOUNS) or (
            k >= 1 and words[k - 1] in _MODALS and k + 1 < len(words) and words[k + 1] in _PRONOUNS
        )
        if not asks:
            return True
    return False


def read_intents(text: str) -> list[Intent]:
    """All intents found in a free-text message, strongest first (see the module docstring for the order)."""
    if not isinstance(text, str) or not text.strip():
        return []
    if set(text.strip()) <= {"?", "¿", " "}:
        return [Intent.HELP]
    cleaned = clean(text)
    working = cleaned
    found: dict[Intent, tuple[int, bool]] = {}  # intent -> (where, weak)
    for rule in _RULES:
        for match in rule.pattern.finditer(working):
            start, end = match.span()
            working = working[:start] + "_" * (end - start) + working[end:]
            if rule.intent is None or (rule.negatable and _negated(cleaned, start, end)):
                continue
            earlier = found.get(rule.intent)
            if (
                earlier is None
                or (earlier[1] and not rule.weak)
                or (earlier[1] == rule.weak and start < earlier[0])
            ):
                found[rule.intent] = (start, rule.weak)
    clear = any(not weak and _RANK[intent] <= _CLEAR_REQUEST for intent, (_, weak) in found.items())
    kept = [(_RANK[i], where, i) for i, (where, weak) in found.items() if not (weak and clear)]
    return [intent for _, _, intent in sorted(kept)]
