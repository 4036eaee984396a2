"""Phrasing tables for `read_intents`: what clients write in English and Danish, and what must not fire."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding.intents import Intent, read_intents

BOOK, RESCHEDULE, CANCEL = Intent.BOOK, Intent.RESCHEDULE, Intent.CANCEL
MINE, PERSON, HELP, START_OVER, STOP = (
    Intent.MY_APPOINTMENTS,
    Intent.TALK_TO_PERSON,
    Intent.HELP,
    Intent.START_OVER,
    Intent.STOP,
)
YES, NO, HI, THANKS = Intent.YES, Intent.NO, Intent.GREETING, Intent.THANKS
FIRST, OTHER = Intent.FIRST_AVAILABLE, Intent.OTHER_TIME

ENGLISH = [
    ("I want to book a massage tomorrow", [BOOK]),
    ("can I book for friday?", [BOOK]),
    ("I'd like to make an appointment", [BOOK]),
    ("do you have any time tomorrow?", [BOOK]),
    ("can I get an appointment on friday", [BOOK]),
    ("I'd like a massage please", [BOOK]),
    ("I need to reschedule", [RESCHEDULE]),
    ("could I change the time of my appointment", [RESCHEDULE]),
    ("I'd like to move my appointment to next week please", [RESCHEDULE]),
    ("can't we move it to friday?", [RESCHEDULE]),
    ("reschedual", [RESCHEDULE]),
    ("cancel my appointment", [CANCEL]),
    ("please cancel", [CANCEL]),
    ("cancle", [CANCEL]),
    ("I no longer need the appointment", [CANCEL]),
    ("I have an appointment tomorrow, can I cancel it?", [CANCEL]),
    ("when is my appointment", [MINE]),
    ("what time is my appointment?", [MINE]),
    ("do I have any bookings", [MINE]),
    ("human please", [PERSON]),
    ("agent", [PERSON]),
    ("can I speak to someone", [PERSON]),
    ("I want to talk to a real person", [PERSON]),
    ("help", [HELP]),
    ("?", [HELP]),
    ("I don't understand", [HELP]),
    ("start over", [START_OVER]),
    ("restart", [START_OVER]),
    ("reset", [START_OVER]),
    ("stop", [STOP]),
    ("STOP!", [STOP]),
    ("please stop texting me", [STOP]),
    ("unsubscribe", [STOP]),
    ("yes", [YES]),
    ("yep", [YES]),
    ("yesss", [YES]),
    ("ok", [YES]),
    ("👍", [YES]),
    ("okay 👍🏽", [YES]),
    ("sure", [YES]),
    ("yes please", [YES]),
    ("I'll be there", [YES]),
    ("confirm", [YES]),
    ("sounds good", [YES]),
    ("no problem", [YES]),
    ("nope", [NO]),
    ("no thanks", [NO]),
    ("I won't make it", [NO]),
    ("that doesn't work for me", [NO]),
    ("first available", [FIRST]),
    ("soonest", [FIRST]),
    ("as soon as possible", [FIRST]),
    ("another time", [OTHER]),
    ("something later", [OTHER]),
    ("none of these", [OTHER]),
    ("anything earlier?", [OTHER]),
    ("hello", [HI]),
    ("thanks for your help", [THANKS]),
    ("thank you!", [THANKS]),
    ("🙏", [THANKS]),
]

DANISH = [
    ("jeg vil gerne bestille en tid i morgen", [BOOK]),
    ("kan jeg booke en tid til på torsdag?", [BOOK]),
    ("har du tid i morgen?", [BOOK]),
    ("har I en ledig tid på fredag", [BOOK]),
    ("jeg vil gerne have en massage i morgen", [BOOK]),
    ("kan jeg få en tid hos fysioterapeuten?", [BOOK]),
    ("kan jeg flytte min tid?", [RESCHEDULE]),
    ("kan vi rykke den til torsdag", [RESCHEDULE]),
    ("jeg vil gerne ændre min tid", [RESCHEDULE]),
    ("kan jeg ikke flytte den?", [RESCHEDULE]),
    ("aflys", [CANCEL]),
    ("jeg vil gerne afbestille min tid", [CANCEL]),
    ("afbestile", [CANCEL]),
    ("afmeld min tid", [CANCEL]),
    ("kan jeg ikke bare aflyse?", [CANCEL]),
    ("jeg skal ikke bruge tiden alligevel", [CANCEL]),
    ("hvornår er min tid", [MINE]),
    ("hvornaar er min tid", [MINE]),
    ("har jeg en tid i næste uge", [MINE]),
    ("mine tider", [MINE]),
    ("kan jeg tale med et menneske", [PERSON]),
    ("tal med en medarbejder", [PERSON]),
    ("kan I ringe til mig", [PERSON]),
    ("hjælp", [HELP]),
    ("hjaelp", [HELP]),
    ("jeg forstår ikke", [HELP]),
    ("start forfra", [START_OVER]),
    ("begynd forfra", [START_OVER]),
    ("afmeld", [STOP]),
    ("afmeld mig", [STOP]),
    ("stop med at skrive til mig", [STOP]),
    ("ja", [YES]),
    ("ja tak", [YES]),
    ("jeg kommer", [YES]),
    ("bekræft", [YES]),
    ("det passer fint", [YES]),
    ("lyder godt", [YES]),
    ("perfekt", [YES]),
    ("vi ses", [YES]),
    ("nej", [NO]),
    ("nej tak", [NO]),
    ("ellers tak", [NO]),
    ("det passer ikke", [NO]),
    ("jeg kan desværre ikke komme", [NO]),
    ("hurtigst muligt", [FIRST]),
    ("første ledige tid", [FIRST]),
    ("næste ledige tid", [FIRST]),
    ("en anden tid", [OTHER]),
    ("noget senere", [OTHER]),
    ("ingen af dem passer", [OTHER]),
    ("har I noget tidligere?", [OTHER]),
    ("god morgen", [HI]),
    ("hej", [HI]),
    ("tak for hjælpen", [THANKS]),
    ("tusind tak", [THANKS]),
]

# Mixed messages: several intents, returned strongest first (see the order rule in intents.py).
MIXED = [
    ("no, cancel it", [CANCEL, NO]),
    ("no cancel it", [CANCEL, NO]),
    ("nej, aflys den", [CANCEL, NO]),
    ("I can't come tomorrow, can we move it?", [RESCHEDULE, NO]),
    ("jeg kan ikke komme i morgen, kan vi flytte den?", [RESCHEDULE, NO]),
    ("ja, flyt den til fredag", [RESCHEDULE, YES]),
    ("hi, I'd like to book a massage", [BOOK, HI]),
    ("hej, jeg vil gerne bestille en tid", [BOOK, HI]),
    ("good morning, I need to cancel", [CANCEL, HI]),
    ("great, thank you", [YES, THANKS]),
    ("tak, det er fint", [YES, THANKS]),
    ("I want to book the first available", [BOOK, FIRST]),
    ("no need to move it, see you then", [YES]),
]

# Messages that must not trigger anything: questions, statements, hedges, and time or name answers.
NOTHING = [
    "not sure",
    "I'm not sure",
    "ikke sikker",
    "I don't know",
    "ved ikke",
    "maybe",
    "måske",
    "I don't want to cancel",
    "jeg vil ikke aflyse",
    "aflys ikke",
    "is that ok?",
    "er det ok?",
    "are you sure?",
    "make sure to remind me",
    "can I stop by tomorrow?",
    "what time is it",
    "hvornår har I åbent",
    "tomorrow at 10",
    "i morgen kl 10",
    "tomorrow morning",
    "how much is a massage",
    "hvad koster en massage",
    "massage",
    "Anna Jensen",
    "my name is Anna",
    "call me Anna",
    "I'm running late",
    "jeg kommer lidt for sent",
    "earliest at 3pm",
    "what are your opening hours",
    "is there parking",
    "",
    "   ",
    "10:30",
    "😀",
]


def _check(text: str, expected: list[Intent]) -> None:
    assert read_intents(text) == expected


@pytest.mark.parametrize(("text", "expected"), ENGLISH, ids=[text for text, _ in ENGLISH])
def test_english_phrasings(text: str, expected: list[Intent]) -> None:
    """Each common English phrasing reads as the intent a receptionist would hear."""
    _check(text, expected)


@pytest.mark.parametrize(("text", "expected"), DANISH, ids=[text for text, _ in DANISH])
def test_danish_phrasings(text: str, expected: list[Intent]) -> None:
    """Each common Danish phrasing, with or without æ/ø/å, reads as the intent a receptionist would hear."""
    _check(text, expected)


@pytest.mark.parametrize(("text", "expected"), MIXED, ids=[text for text, _ in MIXED])
def test_mixed_messages_list_the_strongest_intent_first(text: str, expected: list[Intent]) -> None:
    """A message with a request and an answer puts the request first, so flows act on what was asked."""
    _check(text, expected)


@pytest.mark.parametrize("text", NOTHING, ids=[text or "empty" for text in NOTHING])
def test_no_intent_where_none_was_meant(text: str) -> None:
    """Hedges, questions, denials and plain answers to other questions never pass for a request or a yes."""
    _check(text, [])


def test_moving_a_missed_appointment_is_not_a_yes() -> None:
    """The brief's trap: a client who cannot come and asks to move must never be read as confirming."""
    intents = read_intents("I can't come tomorrow, can we move it?")
    assert intents[0] is RESCHEDULE
    assert YES not in intents


def test_intents_are_plain_strings_for_storage() -> None:
    """Intents are StrEnum values so they can go into conversation slots and logs as they are."""
    assert [str(i) for i in read_intents("no, cancel it")] == ["cancel", "no"]


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text: str) -> None:
    """Whatever a client sends, reading it gives a list of distinct intents and never raises."""
    intents = read_intents(text)
    assert len(intents) == len(set(intents))
    assert all(isinstance(intent, Intent) for intent in intents)


def test_fast_enough_for_every_message() -> None:
    """Intents are read on every message: a long realistic one takes well under a millisecond on average."""
    text = "Hi! I can't come tomorrow at 10, could we move my massage to friday afternoon instead? Thanks"
    read_intents(text)
    started = time.perf_counter()
    for _ in range(200):
        read_intents(text + str(_))
    assert (time.perf_counter() - started) / 200 < 0.005  # generous for slow CI; typically ~0.05 ms
