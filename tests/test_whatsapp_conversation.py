"""The first flow end to end on WhatsApp: webhook in, greeting with the services out through the Graph API."""

from __future__ import annotations

import pytest

from tests.conftest import Jola, WhatsAppClient


async def test_client_is_greeted_and_offered_the_services(jola: Jola) -> None:
    client = WhatsAppClient(jola)

    replies = await client.says("Hi there")

    assert len(replies) == 1
    assert replies[0].text == "Hi Test, welcome to Harbour Clinic!\nWhat would you like to book?"
    assert replies[0].options == ["Massage", "Physiotherapy", "Talk to a person"]
    assert replies[0].path == "/v23.0/100000000000002/messages"
    assert replies[0].authorization == "Bearer test-token"


async def test_naming_a_service_goes_straight_to_the_times(jola: Jola) -> None:
    client = WhatsAppClient(jola)
    [reply] = await client.says("Hi, can I book a massage?")
    assert reply.text.startswith("Hi Test, welcome to Harbour Clinic!\nMassage, 60 min. When would you like")


async def test_while_waiting_for_a_person_the_bot_answers_once_then_keeps_quiet(jola: Jola) -> None:
    """The client learns they were heard, and the bot does not chatter while a person takes over."""
    client = WhatsAppClient(jola)
    await client.says("hello")
    [handed] = await client.taps("Talk to a person")
    assert handed.text == "I'll ask a member of our team to help you. They will answer you here."

    first = await client.says("Can it be a woman therapist?")
    second = await client.says("And is there parking?")

    assert [r.text for r in first] == [
        "Thanks, I've passed that on. Someone from Harbour Clinic will answer you here."
    ]
    assert second == []


async def test_a_danish_business_greets_in_danish(database, fake_graph) -> None:  # type: ignore[no-untyped-def]
    """The business's default language is the bot's language until a client asks otherwise."""
    from tests.conftest import make_config, start_jola

    jola = await start_jola(make_config(database, fake_graph.url, business={"locale": "da"}), fake_graph)
    try:
        client = WhatsAppClient(jola)
        [greeting] = await client.says("Hej")
        assert greeting.text.startswith("Hej Test, velkommen til Harbour Clinic!\nHvad vil du gerne booke?")
        assert greeting.options == ["Massage", "Physiotherapy", "Tal med en person"]
        [times] = await client.taps("Massage")
        assert times.text.startswith("Massage, 60 min. Hvornår vil du gerne komme?")
    finally:
        await jola.client.close()


async def test_a_business_greeting_is_used_and_a_broken_one_is_refused_when_loaded(
    database, fake_graph
) -> None:  # type: ignore[no-untyped-def]
    """Business-authored texts render in a sandbox; a broken or unsafe one is refused before it is used,
    with the key named, never discovered when a client writes."""
    from bot.config import ConfigError
    from tests.conftest import make_config, start_jola

    for greeting in ("Hello {{ client.first_name ", "{{ ''.__class__.__mro__ }}"):
        with pytest.raises(ConfigError) as refused:
            make_config(database, fake_graph.url, business={"replies": {"greeting": greeting}})
        assert refused.value.problems[0].startswith("businesses[0].replies.greeting: line 1: ")
    config = make_config(
        database,
        fake_graph.url,
        business={"replies": {"greeting": "Hello {{ client.first_name }}, this is {{ business.name }}."}},
    )
    jola = await start_jola(config, fake_graph)
    try:
        client = WhatsAppClient(jola, wa_id="4512000001", user_id=None)
        [reply] = await client.says("hi")
        assert reply.text.startswith("Hello Test, this is Harbour Clinic."), reply.text
    finally:
        await jola.client.close()
