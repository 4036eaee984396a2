"""Service names found in client text: exact, inflected, misspelled, abbreviated, and never by chance."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding.services import ServiceCandidate, match_services

SERVICES = (
    ServiceCandidate("massage", "Massage"),
    ServiceCandidate("physio", "Physiotherapy"),
    ServiceCandidate("sports", "Sports massage"),
    ServiceCandidate("acu", "Acupuncture"),
    ServiceCandidate("fysio", "Fysioterapi"),
    ServiceCandidate("aku", "Akupunktur"),
    ServiceCandidate("hot", "Hot stone massage"),
)

FOUND = [
    ("massage", ["massage"]),
    ("Massage", ["massage"]),
    ("I want to book a massage tomorrow", ["massage"]),
    ("jeg vil gerne have en massage i morgen", ["massage"]),
    ("massagen", ["massage"]),
    ("massager", ["massage"]),
    ("rygmassage", ["massage"]),
    ("masage", ["massage"]),
    ("masssage", ["massage"]),
    ("msasage", ["massage"]),
    ("physiotherapy", ["physio"]),
    ("physio", ["physio"]),
    ("physiotheraphy", ["physio"]),
    ("fysioterapi", ["fysio"]),
    ("fysioterapien", ["fysio"]),
    ("fysioterapy", ["fysio"]),
    ("fysio", ["fysio"]),
    ("acupuncture", ["acu"]),
    ("acupunture", ["acu"]),
    ("accupuncture", ["acu"]),
    ("akupunktur", ["aku"]),
    ("akupunkturen", ["aku"]),
    ("sports massage", ["sports"]),
    ("sport massage", ["sports"]),
    ("sportsmassage", ["sports"]),
    ("a sports massage on friday", ["sports"]),
    ("sports", ["sports"]),
    ("hot stone massage", ["hot"]),
    ("hot stone", ["hot"]),
    ("hotstone", ["hot"]),
    ("stone massage", ["hot"]),
    ("massage and acupuncture", ["massage", "acu"]),
    ("akupunktur eller massage", ["aku", "massage"]),
]

NOT_FOUND = [
    "hello",
    "hej",
    "yes",
    "ja tak",
    "tomorrow at 10",
    "i morgen kl 10",
    "I sent you a message",
    "jeg har sendt en besked",
    "store",
    "hot",
    "can I come at 3?",
    "Anna Jensen",
    "",
    "🙂",
]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=[text for text, _ in FOUND])
def test_services_named_in_the_text(text: str, expected: list[str]) -> None:
    """Each way a client names a service finds that service, and only it."""
    assert match_services(text, SERVICES) == expected


@pytest.mark.parametrize("text", NOT_FOUND, ids=[text or "empty" for text in NOT_FOUND])
def test_unrelated_words_name_no_service(text: str) -> None:
    """Everyday words, times and names never match a service by accident."""
    assert match_services(text, SERVICES) == []


def test_equally_close_services_are_both_returned() -> None:
    """ "massage" when the business has only two kinds of massage: the flow must ask which one."""
    services = [ServiceCandidate("sports", "Sports massage"), ServiceCandidate("hot", "Hot stone massage")]
    assert sorted(match_services("a massage please", services)) == ["hot", "sports"]


def test_equally_close_durations_are_both_returned_until_one_is_named() -> None:
    """Two lengths of one treatment tie on its name; naming the length picks one."""
    services = [ServiceCandidate("m30", "Massage 30 min"), ServiceCandidate("m60", "Massage 60 min")]
    assert sorted(match_services("massage", services)) == ["m30", "m60"]
    assert match_services("massage 60 min", services) == ["m60"]


def test_the_full_name_beats_a_longer_name_containing_it() -> None:
    """Plain "massage" is the Massage service, not one of the massages whose name contains the word."""
    assert match_services("massage", SERVICES) == ["massage"]


def test_aliases_count_as_names() -> None:
    """A business can add its own words for a service, in either language."""
    services = [ServiceCandidate("ppd", "Pedicure", aliases=("fodbehandling", "fødder"))]
    assert match_services("jeg vil have en fodbehandling", services) == ["ppd"]
    assert match_services("pedicure", services) == ["ppd"]


def test_short_names_must_be_spelled_right() -> None:
    """A four-letter name forgives no typo: "yogi" is not "Yoga", but "yogaen" is."""
    services = [ServiceCandidate("yoga", "Yoga")]
    assert match_services("yogi", services) == []
    assert match_services("yogaen", services) == ["yoga"]


def test_unhashable_candidates_still_work() -> None:
    """Aliases passed as a list (not a tuple) are matched the same, only without the cache."""
    services = [ServiceCandidate("nails", "Manicure", aliases=["negle"])]  # type: ignore[arg-type]
    assert match_services("negle", services) == ["nails"]


def test_no_services_no_match() -> None:
    """A business without services gets no match, whatever the text."""
    assert match_services("massage", []) == []


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text: str) -> None:
    """Any text gives a list of known service ids, each once; nothing raises."""
    found = match_services(text, SERVICES)
    assert len(found) == len(set(found))
    assert set(found) <= {service.id for service in SERVICES}


@given(st.text(max_size=40), st.lists(st.text(max_size=20), max_size=3), st.text(max_size=100))
def test_any_service_names_are_safe(name: str, aliases: list[str], text: str) -> None:
    """Whatever a business calls its services, matching never raises and returns only their ids."""
    services = [ServiceCandidate("x", name, tuple(aliases)), ServiceCandidate("massage", "Massage")]
    assert set(match_services(text, services)) <= {"x", "massage"}
