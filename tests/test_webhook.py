"""POST/GET /webhook: only signed deliveries are stored, each once, and bad content never gets a 5xx."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.signature import sign
from storage.models import InboundEvent, Message
from tests.conftest import Jola
from tests.support.payloads import APP_SECRET, fixture_bytes, whatsapp_text


async def count_events(jola: Jola) -> int:
    async with jola.db.inbox.read() as session:
        return int((await session.execute(select(func.count()).select_from(InboundEvent))).scalar() or 0)


async def test_handshake_answers_the_challenge_with_the_right_token(jola: Jola) -> None:
    """Meta's subscription check gets the challenge back as plain text."""
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    response = await jola.client.get("/webhook", params=query)
    assert response.status == 200
    assert await response.text() == "1158201444"


async def test_handshake_refuses_a_wrong_or_missing_token(jola: Jola) -> None:
    """A wrong token must not subscribe anyone to our webhook."""
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
    ):
        response = await jola.client.get("/webhook", params=params)
        assert response.status == 403


async def test_the_fixture_signature_vector_is_accepted(jola: Jola) -> None:
    """The exact bytes Meta sent are what we verify, not a re-serialisation."""
    raw = fixture_bytes("whatsapp_text")
    signature = "sha256=83dd36cc5e061649194d3617a5ccba55f83fa0902da276600d79ee632fbe5147"
    response = await jola.post(raw, signature=signature)
    assert response.status == 200
    assert await count_events(jola) == 1


async def test_unsigned_and_mis_signed_posts_are_refused_and_store_nothing(jola: Jola) -> None:
    """Without a valid signature anyone could inject messages."""
    raw = fixture_bytes("whatsapp_text")
    unsigned = await jola.client.post("/webhook", data=raw)
    wrong_secret = await jola.post(raw, secret="someone-else")
    garbage = await jola.post(raw, signature="sha256=zz")
    non_ascii = await jola.client.post("/webhook", data=raw, headers={"X-Hub-Signature-256": "sha256=ä"})
    tampered = await jola.post(raw.replace(b"haircut", b"massage!"), signature=sign(raw, APP_SECRET))
    assert unsigned.status == 401
    assert [r.status for r in (wrong_secret, garbage, non_ascii, tampered)] == [403, 403, 403, 403]
    assert await count_events(jola) == 0


async def test_a_duplicate_delivery_is_stored_and_answered_once(jola: Jola) -> None:
    """Meta delivers at least once; the client must never get the same reply twice."""
    body = whatsapp_text("Hi there", wamid="wamid.DUPLICATE-1")
    await jola.deliver(body)
    await jola.deliver(body)
    await jola.settle()
    await jola.deliver(body)
    await jola.settle()
    assert len(jola.graph.sent_to("15550000001")) == 1
    assert await count_events(jola) == 1


async def test_each_group_commit_logs_one_line_and_a_repeated_delivery_one_of_its_own(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """Ordinary deliveries are counted in their group's line; one Meta sent again is named on its own."""
    caplog.set_level(logging.INFO)
    body = whatsapp_text("Hi there", wamid="wamid.LOGGED-1")
    await jola.deliver(body)
    first = [r.getMessage() for r in caplog.records if r.name in ("bot.inbox", "bot.webhook")]
    assert first == [first[0]] and first[0].startswith("event=inbox.stored deliveries=1 items=1 stored=1 ")
    caplog.clear()
    await jola.deliver(body)
    again = [r.getMessage() for r in caplog.records if r.name in ("bot.inbox", "bot.webhook")]
    assert again[0].startswith("event=inbox.stored deliveries=1 items=1 stored=0 ")
    assert again[1:] == [
        "event=webhook.delivery object=whatsapp_business_account items=1 stored=0 duplicates=1 dropped=0"
    ]
    metrics = (await (await jola.client.get("/metrics")).read()).decode()
    assert 'jola_inbound_items_total{kind="message",outcome="stored"} 1.0' in metrics
    assert 'jola_inbound_items_total{kind="message",outcome="duplicate"} 1.0' in metrics


async def test_bad_content_is_dropped_with_a_4xx_or_200_never_a_5xx(jola: Jola) -> None:
    """Signed but broken deliveries are logged and dropped; the server never errors."""
    cases = [
        b"not json",
        b"\xff\xfe\xfa invalid utf-8",
        b"[1, 2, 3]",
        b"{}",
        json.dumps({"object": "something_else", "entry": []}).encode(),
        json.dumps({"object": "whatsapp_business_account"}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": "nope"}).encode(),
        json.dumps(
            {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}
        ).encode(),
        json.dumps(whatsapp_text("hi", phone_number_id="999")).encode(),
        json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "metadata": {"phone_number_id": "100000000000002"},
                                    "messages": [{"type": "text"}, None, 5],
                                },
                            }
                        ]
                    }
                ],
            }
        ).encode(),
    ]
    for raw in cases:
        response = await jola.post(raw)
        assert response.status in (200, 400), (raw[:40], response.status)
    assert await count_events(jola) == 0


async def test_a_100_kb_text_is_stored_cut_and_answered(jola: Jola) -> None:
    """Nobody types 100 kB into a chat; we keep a readable part and still answer."""
    await jola.deliver(whatsapp_text("x" * 100_000))
    await jola.settle()
    async with jola.db.read() as session:
        texts = (await session.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
    [text] = texts
    assert 4000 < len(text) <= 4096 and "\n…\n" in text  # its start and its end
    assert len(jola.graph.sent_to("15550000001")) == 1


async def test_one_bad_item_does_not_sink_the_good_ones(jola: Jola) -> None:
    """A malformed message beside a good one: the good one is still stored and answered."""
    body = whatsapp_text("Hello")
    body["entry"][0]["changes"][0]["value"]["messages"].insert(0, {"id": "", "type": "text"})
    body["entry"][0]["changes"].insert(0, {"field": "messages", "value": {"statuses": [{"status": "read"}]}})
    await jola.deliver(body)
    await jola.settle()
    assert await count_events(jola) == 1
    assert len(jola.graph.sent_to("15550000001")) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def _mutated_delivery() -> st.SearchStrategy[dict]:
    """Real-shaped deliveries with random values dropped into random places."""
    keys = st.sampled_from(
        [
            "entry",
            "changes",
            "value",
            "messages",
            "statuses",
            "contacts",
            "metadata",
            "text",
            "interactive",
            "timestamp",
            "from",
            "id",
            "type",
            "errors",
            "location",
        ]
    )

    def mutate(base: dict, path_keys: list[str], value: object) -> dict:
        node: object = base
        for key in path_keys:
            if isinstance(node, dict):
                if key in node and isinstance(node[key], dict | list):
                    node = node[key]
                    continue
                node[key] = value
                return base
            if isinstance(node, list) and node:
                node = node[0]
        return base

    return st.builds(lambda k, v: mutate(whatsapp_text("hi"), k, v), st.lists(keys, max_size=6), json_values)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_mutated_delivery() | st.dictionaries(st.text(max_size=10), json_values, max_size=5))
async def test_no_signed_delivery_ever_gets_a_5xx(jola: Jola, body: dict) -> None:
    """Whatever shape a signed delivery has, the answer is 200 or 4xx."""
    body.setdefault("object", "whatsapp_business_account")
    response = await jola.post(json.dumps(body).encode())
    assert response.status < 500


async def test_when_the_delivery_cannot_be_stored_meta_gets_a_503_to_retry(jola: Jola) -> None:
    """Nothing acknowledged is ever lost: if the inbox cannot take a delivery, we must not say 200."""
    from sqlalchemy import text

    async with jola.db.inbox.write() as session:
        await session.execute(text("ALTER TABLE inbound_events RENAME TO inbound_events_away"))
    response = await jola.post(whatsapp_text("hello"))
    assert response.status == 503
    async with jola.db.inbox.write() as session:
        await session.execute(text("ALTER TABLE inbound_events_away RENAME TO inbound_events"))
    response = await jola.post(whatsapp_text("hello again"))
    assert response.status == 200
