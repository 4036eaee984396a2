"""Short messages told apart as English or Danish (or honestly not), and requests for a language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding.language import asked_language, detect_language

DANISH = [
    "tak",
    "ja tak",
    "nej tak",
    "i morgen kl 10",
    "jeg vil gerne bestille en tid i morgen",
    "kan jeg flytte min tid?",
    "hvornår er min tid",
    "hvornaar er min tid",
    "hjælp",
    "hjaelp",
    "aflys",
    "nej",
    "ja",
    "hej",
    "god morgen",
    "perfekt",
    "fint",
    "det passer fint",
    "ses",
    "vi ses",
    "på fredag",
    "næste uge",
    "kl 14",
    "hvad koster det",
    "jeg kommer",
    "kan jeg tale med et menneske",
    "første ledige tid",
    "har I noget tidligere?",
    "tusind tak for hjælpen",
    "Hej Anna, jeg kan ikke komme",
    "10.30 tak",
    "nix",
]

ENGLISH = [
    "thanks",
    "yes please",
    "no thanks",
    "tomorrow at 10",
    "I want to book a massage tomorrow",
    "can I move my appointment?",
    "when is my appointment",
    "help",
    "cancel",
    "no",
    "yes",
    "nope",
    "hello",
    "good morning",
    "fine",
    "perfect",
    "see you",
    "sounds good",
    "on friday",
    "next week",
    "at 2pm",
    "how much is it",
    "I'll be there",
    "can I talk to a person",
    "first available",
    "anything earlier?",
    "thank you so much",
    "hej, can I book a massage",
    "I can't come tomorrow",
    "what time works for you",
]

UNKNOWN = [
    "",
    "   ",
    "ok",
    "okay",
    "10:30",
    "14",
    "👍",
    "🙂🙂",
    "Anna",
    "Anna Jensen",
    "Søren",
    "massage",
    "hi",
    "super",
    "?",
    "...",
    "+45 12 34 56 78",
]

ASKED = [
    ("can you speak english", "en"),
    ("in English please", "en"),
    ("english", "en"),
    ("English?", "en"),
    ("englsh pls", "en"),
    ("på engelsk tak", "en"),
    ("kan du skrive engelsk?", "en"),
    ("I don't speak danish", "en"),
    ("no danish please", "en"),
    ("på dansk", "da"),
    ("kan du skrive dansk", "da"),
    ("dansk tak", "da"),
    ("Danish please", "da"),
    ("can you write in danish?", "da"),
    ("jeg taler ikke engelsk", "da"),
    ("taler du dansk?", "da"),
]

NOT_ASKED = ["I'm danish", "hello", "tak", "my english is bad", "jeg er dansk", "danish pastry", ""]


@pytest.mark.parametrize("text", DANISH, ids=DANISH)
def test_short_danish_messages_are_danish(text: str) -> None:
    """Danish is recognised in the shortest replies, with or without æ/ø/å."""
    assert detect_language(text) == "da"


@pytest.mark.parametrize("text", ENGLISH, ids=ENGLISH)
def test_short_english_messages_are_english(text: str) -> None:
    """English is recognised in the shortest replies, even after a Danish greeting."""
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", UNKNOWN, ids=[text or "empty" for text in UNKNOWN])
def test_no_language_when_the_text_cannot_tell(text: str) -> None:
    """Numbers, names, emoji and words both languages use give None, so the caller keeps its language."""
    assert detect_language(text) is None


def test_only_candidate_languages_are_returned() -> None:
    """A business that speaks only Danish never gets "en", and an English text does not become Danish."""
    assert detect_language("yes please", candidates=("da",)) is None
    assert detect_language("ja tak", candidates=("da",)) == "da"
    assert detect_language("yes please", candidates=("de", "fr")) is None


@pytest.mark.parametrize(("text", "language"), ASKED, ids=[text for text, _ in ASKED])
def test_an_explicit_request_for_a_language(text: str, language: str) -> None:
    """Asking for a language, or saying you don't speak one, names the language to switch to."""
    assert asked_language(text) == language


@pytest.mark.parametrize("text", NOT_ASKED, ids=[text or "empty" for text in NOT_ASKED])
def test_mentioning_a_language_is_not_asking_for_it(text: str) -> None:
    """Saying you are Danish, or any ordinary message, is no request to switch language."""
    assert asked_language(text) is None


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text: str) -> None:
    """Any text gives a supported language or None from both functions; nothing raises."""
    assert detect_language(text) in {"en", "da", None}
    assert asked_language(text) in {"en", "da", None}
