"""Fixtures that build on each other: a database, a fake Graph API, a config, then a running Jola."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot import keys
from bot.app import create_app
from bot.config import Config, parse_config
from bot.signature import sign
from bot.web import passwords
from storage.db import Database
from tests.support.fake_graph import FakeGraph, GraphCall
from tests.support.payloads import APP_SECRET, PHONE_NUMBER_ID, whatsapp_button, whatsapp_text

# Staff passwords: argon2id at its cheapest here. The production parameters cost ~0.1 s per hash and per
# check, paid hundreds of times by the web tests; what they test is everything around the hash. (The
# `jola staff` CLI tests run in subprocesses, with the real parameters.)
passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

POSTGRES_URL = os.environ.get("JOLA_TEST_POSTGRES_URL")
# The tests' [security] encryption key (access tokens and client notes are stored encrypted with it).
TEST_ENCRYPTION_KEY = "Tu6zQluBLO71HhSYuAoyvQkMjBVXZ3OwzJ-GGCxuI1s="
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class SettableClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class DatabaseTarget:
    url: str
    schema: str | None = None


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[DatabaseTarget]:  # type: ignore[no-untyped-def]
    async for target in database_at(request.param, tmp_path):
        yield target


async def database_at(backend: str, folder: Path) -> AsyncIterator[DatabaseTarget]:
    """A SQLite file in `folder`, or a fresh schema on the test PostgreSQL (dropped afterwards)."""
    if backend == "sqlite":
        yield DatabaseTarget(f"sqlite+aiosqlite:///{folder / 'jola.db'}")
        return
    if not POSTGRES_URL:
        pytest.skip("JOLA_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    from sqlalchemy import text

    async with admin.engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield DatabaseTarget(POSTGRES_URL, schema)
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    graph = FakeGraph()
    await graph.start()
    yield graph
    await graph.close()


def make_config(database: DatabaseTarget, graph_url: str = "http://127.0.0.1:9", **sections: Any) -> Config:
    data: dict[str, Any] = {
        "server": {"secret_key": "test-secret-key"},
        "database": {"url": database.url, "postgres_schema": database.schema, "sqlite_synchronous": "NORMAL"},
        "meta": {
            "app_secret": APP_SECRET,
            "verify_token": "verify-me",
            "graph_api_url": graph_url,
            "graph_api_version": "v23.0",
            "app_id": "300000000000001",
        },
        "security": {"encryption_keys": [TEST_ENCRYPTION_KEY]},
        "dispatch": {"poll_seconds": 0.2},
        "sender": {"retry_base_seconds": 0.01, "retry_max_seconds": 0.05, "poll_seconds": 0.2},
        "businesses": [
            {
                "id": "harbour-clinic",
                "name": "Harbour Clinic",
                "timezone": "Europe/Copenhagen",
                "locale": "en",
                "api_token": "api-token",
                "hours": {"mon": ["08:00-12:00", "13:00-17:00"]},
                "services": [
                    {"id": "massage", "name": "Massage", "duration_minutes": 60},
                    {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45},
                ],
                "channels": [
                    {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "test-token"}
                ],
            }
        ],
    }
    for section, values in sections.items():
        if section == "business":
            data["businesses"][0].update(values)
        else:
            data.setdefault(section, {}).update(values)
    if data["database"]["postgres_schema"] is None:
        del data["database"]["postgres_schema"]
    return parse_config(data, environ={})


class Jola:
    """A running Jola (real aiohttp server on 127.0.0.1) and ways to talk to it as Meta would."""

    def __init__(self, client: TestClient, graph: FakeGraph) -> None:
        self.client = client
        self.graph = graph

    @property
    def app(self) -> web.Application:
        return self.client.server.app  # type: ignore[return-value]

    @property
    def db(self) -> Database:
        return self.app[keys.DATABASE]

    async def post(
        self, body: bytes | dict[str, Any], *, secret: str = APP_SECRET, signature: str | None = None
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature if signature is not None else sign(raw, secret),
        }
        return await self.client.post("/webhook", data=raw, headers=headers)

    async def deliver(self, body: bytes | dict[str, Any]) -> None:
        response = await self.post(body)
        assert response.status == 200, await response.text()

    async def settle(self) -> None:
        await self.app[keys.PIPELINE].settle()


async def start_jola(config: Config, graph: FakeGraph, **kwargs: Any) -> Jola:
    client = TestClient(TestServer(create_app(config, **kwargs), host="127.0.0.1"))
    await client.start_server()
    return Jola(client, graph)


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    running = await start_jola(make_config(database, fake_graph.url), fake_graph)
    yield running
    await running.client.close()


class WhatsAppClient:
    """An end client on WhatsApp: says things, taps options, and reads what the bot sent back."""

    def __init__(
        self,
        jola: Jola,
        wa_id: str = "15550000001",
        name: str | None = "Test Customer One",
        user_id: str | None = "US.1000000000000000001",
    ) -> None:
        self.jola = jola
        self.wa_id = wa_id
        self.name = name
        self.user_id = user_id
        self.seen = 0

    def _who(self) -> dict[str, Any]:
        # The client writes "now" as Jola's clock has it, so the 24-hour window follows a test's clock.
        now = int(self.jola.app[keys.CLOCK].now().timestamp())
        return {"wa_id": self.wa_id, "name": self.name, "user_id": self.user_id, "timestamp": now}

    async def says(self, text: str) -> list[GraphCall]:
        await self.jola.deliver(whatsapp_text(text, **self._who()))
        return await self._replies()

    async def taps(self, title: str) -> list[GraphCall]:
        last = self.jola.graph.sent_to(self.wa_id)[-1]
        option_id = last.option_ids[last.options.index(title)]
        await self.jola.deliver(whatsapp_button(option_id, title, **self._who()))
        return await self._replies()

    async def _replies(self) -> list[GraphCall]:
        await self.jola.settle()
        sent = self.jola.graph.sent_to(self.wa_id)
        new, self.seen = sent[self.seen :], len(sent)
        return new
