"""An Instagram account connected with the Instagram API with Instagram Login: its deliveries may be
signed with the Instagram app secret, and its replies go to graph.instagram.com (its tokens work only
there), while the business's other channels stay on graph.facebook.com."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.config import ConfigError, parse_config
from bot.signature import sign
from tests.conftest import DatabaseTarget, Jola, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.page_payloads import IG_ACCOUNT_ID, IGSID, instagram_text
from tests.test_page_conversations import CHANNELS

INSTAGRAM_SECRET = "instagram-app-secret-0123456789ab"


@pytest.fixture
async def instagram_host() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def jola(
    database: DatabaseTarget, fake_graph: FakeGraph, instagram_host: FakeGraph
) -> AsyncIterator[Jola]:
    channels = [
        {**c, "access_token": "IGAAT-instagram-login-token", "login": "instagram"}
        if c["kind"] == "instagram"
        else c
        for c in CHANNELS
    ]
    config = make_config(
        database,
        fake_graph.url,
        business={"channels": channels},
        meta={"instagram_app_secret": INSTAGRAM_SECRET, "instagram_graph_api_url": instagram_host.url},
    )
    running = await start_jola(config, fake_graph)
    yield running
    await running.client.close()


async def test_a_delivery_signed_with_the_instagram_secret_is_answered_through_its_own_host(
    jola: Jola, fake_graph: FakeGraph, instagram_host: FakeGraph
) -> None:
    raw = json.dumps(instagram_text("Hi", igsid=IGSID)).encode()
    answered = await jola.post(raw, signature=sign(raw, INSTAGRAM_SECRET))
    assert answered.status == 200
    await jola.settle()
    [hello] = instagram_host.sent_to(IGSID)
    assert hello.path == f"/v23.0/{IG_ACCOUNT_ID}/messages"
    assert hello.authorization == "Bearer IGAAT-instagram-login-token"
    assert "Massage" in (hello.text or "")
    assert fake_graph.sent_to(IGSID) == []


async def test_a_delivery_signed_with_neither_secret_is_refused(jola: Jola) -> None:
    raw = json.dumps(instagram_text("Hi", igsid=IGSID)).encode()
    refused = await jola.post(raw, signature=sign(raw, "some-other-secret-entirely"))
    assert refused.status == 403


def test_login_belongs_to_instagram_channels_only(database: DatabaseTarget) -> None:
    data = make_config(database).model_dump()
    data["businesses"][0]["channels"][0]["login"] = "instagram"
    with pytest.raises(ConfigError) as refused:
        parse_config(data, environ={})
    assert '"login" belongs to instagram channels only' in str(refused.value)
