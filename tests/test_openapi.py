"""The REST API's reference against the API itself: every route documented and every documented route
answering, each answer in its documented shape, docs/api.md made from the same document, and every error
in one shape, whoever made it (a handler, the token check, or aiohttp's own router).

Harbour Clinic (Mia and Jonas do massage and physiotherapy, one massage room, Ida's yoga class) on
Wednesday 25 November 2026, 09:00 in Copenhagen.
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from bot.api.json import ERROR_CODES, MAX_BODY
from bot.api.openapi import OPERATIONS, PATH, document
from bot.api.reference import COMMAND, markdown
from bot.app import create_app
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.test_api_resources import CLINIC

TOKEN = {"Authorization": "Bearer api-token"}
DOCS = Path(__file__).parent.parent / "docs" / "api.md"


@pytest.fixture
def sqlite(tmp_path: Path) -> DatabaseTarget:
    return DatabaseTarget(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def plain_conflict(request: web.Request) -> web.Response:
    return web.Response(status=409, text="busy", content_type="text/plain")


async def old_shape(request: web.Request) -> web.Response:
    raise web.HTTPConflict(text='{"error": "taken", "start": "10:00"}', content_type="application/json")


@pytest.fixture
async def api(sqlite: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    """Jola with three routes of its own under /api/v1 that answer errors the way a careless handler
    would: a bug, a plain-text 409, and a JSON error without a code."""
    clock = SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    app = create_app(make_config(sqlite, fake_graph.url, business=CLINIC), clock=clock)
    app.router.add_get("/api/v1/test/boom", boom)
    app.router.add_get("/api/v1/test/plain", plain_conflict)
    app.router.add_get("/api/v1/test/old", old_shape)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield Jola(client, fake_graph)
    await client.close()


# ---------------------------------------------------------------------------------------- schemas


def strict(schema: Any, components: dict[str, Any]) -> Any:
    """The schema as a test reads it: an object with named properties has no others (the document leaves
    room to add fields later; a field the code sends but the document lacks must fail here)."""
    if isinstance(schema, list):
        return [strict(part, components) for part in schema]
    if not isinstance(schema, dict):
        return schema
    parts = schema.get("allOf", [])
    if parts and all("$ref" in part for part in parts):  # {allOf: [X], properties: more}: X's fields + more
        merged = {k: v for k, v in schema.items() if k not in ("allOf", "properties", "required")}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for part in [*(components[p["$ref"].rsplit("/", 1)[-1]] for p in parts), schema]:
            properties.update(part.get("properties", {}))
            required += part.get("required", [])
        schema = {**merged, "type": "object", "properties": properties, "required": required}
    found = {key: strict(value, components) for key, value in schema.items()}
    if "properties" in found and "additionalProperties" not in found:
        found["additionalProperties"] = False
    return found


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    components = document()["components"]["schemas"]
    strict_components = {name: strict(s, components) for name, s in components.items()}
    root = {**strict(schema, components), "components": {"schemas": strict_components}}
    return Draft202012Validator(root, format_checker=FormatChecker())


def check(body: Any, schema: dict[str, Any], where: str) -> None:
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema).iter_errors(body)
    ]
    assert not problems, f"{where} does not match its documented schema:\n" + "\n".join(problems)


def operation(op_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if op["operationId"] == op_id:
                return method, path, op
    raise AssertionError(f"{op_id} is not in the document")


# ------------------------------------------------------------------------------------- the document


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The business's `api_token` from the config",
    }
    assert doc["security"] == [{"bearer": []}]


def test_every_example_matches_its_schema() -> None:
    """The examples are what a reader copies: each must be a valid answer or body."""
    doc, seen = document(), 0
    media = [(n, r["content"]["application/json"]) for n, r in doc["components"]["responses"].items()]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            if "requestBody" in op:
                media.append((f"{where} body", op["requestBody"]["content"]["application/json"]))
            for status, answer in op["responses"].items():
                if "content" in answer:
                    media.append((f"{where} {status}", answer["content"]["application/json"]))
    for where, found in media:
        if "example" in found:
            check(found["example"], found["schema"], f"the example of {where}")
            seen += 1
    assert seen >= len(OPERATIONS)


def test_docs_api_md_is_made_from_the_document() -> None:
    assert DOCS.read_text() == markdown(), f"docs/api.md is out of date: run `{COMMAND}`"


async def test_every_route_under_api_v1_is_documented_and_nothing_else(api: Jola) -> None:
    test_routes = {"/api/v1/test/boom", "/api/v1/test/plain", "/api/v1/test/old"}
    routed = {
        (route.method.lower(), route.resource.canonical)
        for route in api.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1")
        and route.resource.canonical not in test_routes
        and route.method != "HEAD"  # aiohttp adds one to every GET
    }
    documented = {(method, path) for path, item in document()["paths"].items() for method in item}
    assert routed - documented == set(), "routes missing from bot/api/openapi.py"
    assert documented - routed == set(), "documented routes the router does not have"


async def test_the_reference_is_served_without_a_token(api: Jola) -> None:
    """It names routes and shapes, never a business's data, so an integrator can read it first."""
    response = await api.client.get(PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == document()
    with_token = await api.client.get(PATH, headers=TOKEN)
    assert await with_token.json() == document()
    refused = await api.client.post(PATH)
    assert refused.status == 405 and (await refused.json())["code"] == "method_not_allowed"


# ------------------------------------------------------------------------- every route, for real


class Caller:
    """Calls routes by operationId, checking each answer against the document."""

    def __init__(self, jola: Jola) -> None:
        self.jola = jola
        self.called: set[str] = set()

    async def __call__(
        self, op_id: str, query: dict[str, str] | None = None, body: Any = None, **ids: Any
    ) -> Any:
        method, path, op = operation(op_id)
        url = path.format(**ids)
        auth = {} if op.get("security") == [] else TOKEN
        response = await self.jola.client.request(method, url, params=query, json=body, headers=auth)
        where = f"{method.upper()} {url}"
        assert response.status < 400, f"{where} answered {response.status}: {await response.text()}"
        assert str(response.status) in op["responses"], f"{where}: {response.status} is not documented"
        documented = op["responses"][str(response.status)]
        self.called.add(op_id)
        if "content" not in documented:
            assert await response.read() == b"", f"{where}: a body the document does not mention"
            return None
        assert response.content_type == "application/json"
        found = await response.json()
        check(found, documented["content"]["application/json"]["schema"], where)
        return found


async def test_every_documented_route_answers_in_its_documented_shape(api: Jola) -> None:
    call = Caller(api)
    await call("getReference")
    await call("listPractitioners")
    slots = await call("listAvailability", {"service": "massage", "from": "2026-11-26", "to": "2026-11-26"})
    assert slots["slots"]
    await call("listAvailability", {"service": "yoga", "from": "2026-11-26", "to": "2026-11-26"})
    booking = {
        "service": "massage",
        "start": "2026-11-26T10:00:00+01:00",
        "client": {"name": "Ana Berg", "phone": "+4512345678"},
        "channel": "phone",
    }
    booked = await call("createAppointment", body=booking)
    await call("createAppointment", body={**booking, "start": "2026-11-26T18:00:00+01:00", "service": "yoga"})
    await call("listAppointments", {"from": "2026-11-26", "to": "2026-11-27"})
    await call("searchClients", {"q": "Ana"})
    await call("exportClient", id=booked["client"]["id"])

    # A WhatsApp client writes; the bot's answer is refused by Meta, so a message carries its error.
    api.graph.fail_next(1, status=400, fixture="error_whatsapp_131047")
    await WhatsAppClient(api).says("hi")
    [conversation] = (await call("listConversations", {"status": "bot"}))["conversations"]
    messages = (await call("listMessages", id=conversation["id"]))["messages"]
    assert [m.get("error", "")[:13] for m in messages if m["status"] == "failed"] == ["OutsideWindow"]
    await call("takeOver", id=conversation["id"])
    await call("sendMessage", body={"text": "Hi, Sam here."}, id=conversation["id"])
    await call("release", id=conversation["id"])
    joined = await call(
        "linkClients", body={"client_id": conversation["client"]["id"]}, id=booked["client"]["id"]
    )
    assert [i["channel"] for i in joined["identities"]] == ["whatsapp"]
    await call("getClient", id=booked["client"]["id"])
    restricted = {"email": "ana@example.org", "restricted": True, "restricted_reason": "client_asked"}
    assert (await call("correctClient", body=restricted, id=booked["client"]["id"]))["restriction"]
    await call("correctClient", body={"restricted": False}, id=booked["client"]["id"])
    await call("getProcessingRecord")
    audited = await call("listAuditEvents", {"subject": f"client:{booked['client']['id']}", "limit": "2"})
    assert len(audited["events"]) == 2 and audited["next_before"]

    await call("listTimeOff", practitioner="mia")
    away = await call(
        "addTimeOff",
        body={"from": "2026-11-26", "to": "2026-11-26", "keep_appointments": True},
        practitioner="mia",
    )
    await call("removeTimeOff", practitioner="mia", id=away["id"])
    await call("cancelAppointment", id=booked["id"])
    await call("eraseClient", id=booked["client"]["id"])

    assert call.called == {op.id for op in OPERATIONS}, "add a call above for each new route"


# ------------------------------------------------------------------------------- one error shape

BIG = b'{"service": "' + b"x" * (MAX_BODY + 10) + b'"}'
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/api/v1/appointments", {"headers": {}}, 401),
    ("GET", "/api/v1/appointments", {"headers": {"Authorization": "Bearer wrong"}}, 401),
    ("GET", "/api/v1/no-such-route", {"headers": {}}, 401),
    ("GET", "/api/v1/no-such-route", {}, 404),
    ("GET", "/api/v1", {}, 404),
    ("PUT", "/api/v1/appointments", {}, 405),
    ("DELETE", "/api/v1/practitioners", {}, 405),
    ("GET", "/api/v1/appointments?status=lost", {}, 400),
    ("GET", "/api/v1/appointments?from=someday", {}, 400),
    ("GET", "/api/v1/availability", {}, 400),
    ("GET", "/api/v1/conversations?limit=0", {}, 400),
    ("POST", "/api/v1/appointments", {"data": b"{not json"}, 400),
    ("POST", "/api/v1/appointments", {"json": [1, 2]}, 400),
    ("POST", "/api/v1/appointments", {"json": {"service": "massage"}}, 400),
    ("POST", "/api/v1/appointments", {"data": BIG}, 413),
    (
        "POST",
        "/api/v1/appointments",
        {"data": gzip.compress(b"{}"), "headers": {"Content-Encoding": "gzip"}},
        415,
    ),
    ("GET", "/api/v1/clients/99", {}, 404),
    ("GET", "/api/v1/clients/abc", {}, 404),
    ("POST", "/api/v1/appointments/99/cancel", {}, 404),
    ("GET", "/api/v1/practitioners/nobody/time-off", {}, 404),
    ("POST", "/api/v1/conversations/99/takeover", {}, 404),
    ("PATCH", "/api/v1/clients/1", {"json": {"phone": "12"}}, 400),
    ("PATCH", "/api/v1/clients/1", {"json": {"age": 40}}, 400),
    ("GET", "/api/v1/test/boom", {}, 500),
    ("GET", "/api/v1/test/plain", {}, 409),
    ("GET", "/api/v1/test/old", {}, 409),
]


@pytest.mark.parametrize(("method", "path", "how", "status"), BAD_REQUESTS)
async def test_every_error_has_one_shape(
    api: Jola, method: str, path: str, how: dict[str, Any], status: int
) -> None:
    how = copy.deepcopy(how)
    headers = how.pop("headers", TOKEN)
    if "Content-Encoding" in headers:
        headers = {**TOKEN, **headers}
    response = await api.client.request(method, path, headers=headers, **how)
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    check(body, {"$ref": "#/components/schemas/Error"}, f"{method} {path}")
    assert body["code"] == ERROR_CODES[status] and body["error"]
    assert response.headers["Cache-Control"] == "no-store"
    if status == 405:
        assert response.headers["Allow"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_conflict_keeps_its_details_beside_the_two_keys(api: Jola) -> None:
    booking = {"service": "physio", "start": "2026-11-26T10:00:00+01:00", "client": {"name": "Ana"}}
    for _ in range(2):
        await api.client.post("/api/v1/appointments", json={**booking, "practitioner": "mia"}, headers=TOKEN)
    other = {**booking, "client": {"name": "Bo"}, "practitioner": "mia"}
    response = await api.client.post("/api/v1/appointments", json=other, headers=TOKEN)
    body = await response.json()
    assert response.status == 409
    assert (body["error"], body["code"], body["start"]) == (
        "slot taken",
        "conflict",
        "2026-11-26T10:00:00+01:00",
    )
    assert body["conflicts"] == [{"start": "2026-11-26T10:00:00+01:00", "end": "2026-11-26T10:45:00+01:00"}]
    old = await (await api.client.get("/api/v1/test/old", headers=TOKEN)).json()
    assert old == {"error": "taken", "code": "conflict", "start": "10:00"}


async def test_too_many_requests_is_a_429_in_the_same_shape(
    sqlite: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    config = make_config(sqlite, fake_graph.url, api={"rate_per_second": 0.01, "burst": 1})
    jola = await start_jola(config, fake_graph)
    try:
        assert (await jola.client.get("/api/v1/practitioners", headers=TOKEN)).status == 200
        response = await jola.client.get("/api/v1/practitioners", headers=TOKEN)
        body = await response.json()
    finally:
        await jola.client.close()
    assert response.status == 429
    check(body, {"$ref": "#/components/schemas/Error"}, "a 429")
    assert body["code"] == "rate_limited" and body["retry_after"] == int(response.headers["Retry-After"]) >= 1
    assert "429" in operation("listPractitioners")[2]["responses"]
