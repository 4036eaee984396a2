"""The first flow end to end on WhatsApp: webhook in, greeting with the services out through the Graph API."""

from __future__ import annotations

from tests.conftest import Jola, WhatsAppClient


async def test_client_is_greeted_and_offered_the_services(jola: Jola) -> None:
    client = WhatsAppClient(jola)

    replies = await client.says("Hi, can I book a massage?")

    assert len(replies) == 1
    assert replies[0].text.startswith("Hi Test, welcome to Harbour Clinic!")
    assert replies[0].options == ["Massage", "Physiotherapy", "Talk to a person"]
    assert replies[0].path == "/v23.0/100000000000002/messages"
    assert replies[0].authorization == "Bearer test-token"


async def test_choosing_a_service_is_noted_for_staff(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    await client.says("hello")

    replies = await client.taps("Massage")

    assert [r.text for r in replies] == [
        "Massage (60 min) it is. Someone from Harbour Clinic will get back to you here to find a time "
        "that suits you."
    ]
