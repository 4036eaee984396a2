"""The whole understanding step (typo mending, clock talk, days counted from days, long messages) reads
every row of the day-and-time phrasing tables as the grammar alone does: nothing it adds may misread one."""

from __future__ import annotations

import pytest

from flows.context import BusinessProfile, PractitionerInfo, ServiceInfo, Turn
from flows.heard import understand
from flows.messages import MessageType
from flows.understanding.when import When
from tests.flows.phrasings import as_understood
from tests.flows.test_when_phrasings import DANISH, ENGLISH, NOW

SERVICES = (ServiceInfo("massage", "Massage", 60), ServiceInfo("physio", "Physiotherapy", 45))
PEOPLE = (PractitionerInfo("mia", "Mia Holm"), PractitionerInfo("jonas", "Jonas Berg"))


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [("en", text, when) for text, when in ENGLISH] + [("da", text, when) for text, when in DANISH],
)
def test_every_phrasing_reads_the_same_through_the_whole_step(
    locale: str, text: str, expected: When | None
) -> None:
    business = BusinessProfile("c", "C", locale, "Europe/Copenhagen", services=SERVICES, practitioners=PEOPLE)
    assert understand(Turn(MessageType.TEXT, text), business, NOW).when == as_understood(expected)
