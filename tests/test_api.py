"""REST API /api/v1: every answer scoped to the token's business, in the contract's shapes, never a 5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from storage.models import Conversation
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph

TOKEN = {"Authorization": "Bearer api-token"}
OTHER = {"Authorization": "Bearer north-token"}


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))


async def run_jola(database: DatabaseTarget, graph: FakeGraph, clock: SettableClock, **business: Any) -> Jola:
    """Harbour Clinic (token "api-token", with WhatsApp) and North Spa (token "north-token", no channels)."""
    base = make_config(database, graph.url, business=business)
    harbour = base.businesses[0]
    north = harbour.model_copy(
        update={"id": "north-spa", "name": "North Spa", "api_token": "north-token", "channels": []}
    )
    return await start_jola(base.model_copy(update={"businesses": [harbour, north]}), graph, clock=clock)


@pytest.fixture
async def api(database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock) -> AsyncIterator[Jola]:
    running = await run_jola(database, fake_graph, clock)
    yield running
    await running.client.close()


async def call(jola: Jola, method: str, path: str, *, auth: dict[str, str] = TOKEN, **kwargs: Any) -> Any:
    """(status, JSON body) of one API request."""
    response = await jola.client.request(method, path, headers=auth, **kwargs)
    assert response.content_type == "application/json", await response.text()
    return response.status, await response.json()


async def book(
    jola: Jola,
    start: str = "2026-11-26T10:00:00+01:00",
    service: str = "massage",
    name: str | None = "Ana Berg",
    phone: str | None = "+4512345678",
    auth: dict[str, str] = TOKEN,
) -> tuple[int, dict[str, Any]]:
    body = {"service": service, "start": start, "client": {"name": name, "phone": phone}, "channel": "phone"}
    status, answer = await call(jola, "POST", "/api/v1/appointments", json=body, auth=auth)
    return int(status), answer


# --------------------------------------------------------------------------------------------- auth


async def test_anything_but_a_business_token_is_401(api: Jola) -> None:
    """Without a valid bearer token nothing is readable, not even which routes exist."""
    headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YXBpLXRva2VuOg=="},
        {"Authorization": "api-token"},
        {"Authorization": "Bearer api-token-and-more"},
    ]
    for auth in headers:
        for method, path in [
            ("GET", "/api/v1/appointments"),
            ("POST", "/api/v1/appointments"),
            ("GET", "/api/v1/clients/1"),
            ("GET", "/api/v1/conversations"),
            ("GET", "/api/v1/no-such-route"),
        ]:
            response = await api.client.request(method, path, headers=auth)
            assert response.status == 401, (auth, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "error" in await response.json()


async def test_an_empty_api_token_never_matches(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    """A business without a token has no API, rather than an API open to an empty token."""
    jola = await run_jola(database, fake_graph, SettableClock(), api_token="")
    try:
        for header in ("Bearer ", "Bearer", 'Bearer ""'):
            response = await jola.client.get("/api/v1/appointments", headers={"Authorization": header})
            assert response.status == 401
    finally:
        await jola.client.close()


async def test_unknown_routes_and_methods_answer_json(api: Jola) -> None:
    """An integration parses every answer as JSON, errors included."""
    assert (await call(api, "GET", "/api/v1/nothing-here"))[0] == 404
    status, body = await call(api, "DELETE", "/api/v1/appointments")
    assert status == 405 and body["error"]


# --------------------------------------------------------------------------------------------- creating


async def test_a_staff_booking_answers_201_in_the_contract_shape(api: Jola) -> None:
    """Times come back in the business's zone with its offset; service.id is the config id."""
    status, body = await book(api, start="2026-11-26T09:00:00Z")

    assert status == 201
    assert body == {
        "id": body["id"],
        "status": "booked",
        "start": "2026-11-26T10:00:00+01:00",
        "end": "2026-11-26T11:00:00+01:00",
        "service": {"id": "massage", "name": "Massage"},
        "practitioner": None,  # a business without practitioners is one calendar
        "room": None,
        "client": {"id": body["client"]["id"], "name": "Ana Berg", "phone": "+4512345678"},
        "channel": "phone",
        "client_told": "no_conversation",  # never wrote to us: staff tell them (by phone, email)
    }
    assert isinstance(body["id"], int) and isinstance(body["client"]["id"], int)


async def test_a_naive_start_is_business_local_time_and_summer_has_its_own_offset(api: Jola) -> None:
    """Staff type wall-clock times; outside opening hours and inside notice is their call."""
    status, body = await book(api, start="2027-06-15T07:30", service="physio")
    assert status == 201
    assert (body["start"], body["end"]) == ("2027-06-15T07:30:00+02:00", "2027-06-15T08:15:00+02:00")
    soon = await book(api, start="2026-11-25T09:30:00+01:00", phone="+4587654321")  # 30 min from now
    past = await book(api, start="2026-11-20T09:00:00+01:00", phone="+4587654322")  # entered afterwards
    assert (soon[0], past[0]) == (201, 201)


async def test_the_same_phone_is_the_same_client(api: Jola) -> None:
    """Staff booking a regular again must not split their record; the name they already have is kept."""
    first = (await book(api, start="2026-11-26T10:00"))[1]
    second = (await book(api, start="2026-11-27T10:00", name="Someone Else", phone="+45 12 34 56 78"))[1]
    assert first["client"]["id"] == second["client"]["id"]
    assert second["client"]["name"] == "Ana Berg"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([1, 2], "object"),
        ({"start": "2026-11-26T10:00", "client": {"name": "A"}}, "service"),
        ({"service": "haircut", "start": "2026-11-26T10:00", "client": {"name": "A"}}, "service"),
        ({"service": "massage", "client": {"name": "A"}}, "start"),
        ({"service": "massage", "start": "tomorrow at ten", "client": {"name": "A"}}, "start"),
        ({"service": "massage", "start": "2026-11-26", "client": {"name": "A"}}, "start"),
        ({"service": "massage", "start": 1793000000, "client": {"name": "A"}}, "start"),
        ({"service": "massage", "start": "2026-11-26T10:00"}, "client"),
        ({"service": "massage", "start": "2026-11-26T10:00", "client": {}}, "client"),
        ({"service": "massage", "start": "2026-11-26T10:00", "client": {"phone": "12345"}}, "phone"),
        (
            {"service": "massage", "start": "2026-11-26T10:00", "client": {"phone": "+1234567890123456"}},
            "phone",
        ),
        ({"service": "massage", "start": "2026-11-26T10:00", "client": {"phone": "+45 12ab5678"}}, "phone"),
        ({"service": "massage", "start": "2026-11-26T10:00", "client": {"phone": 4512345678}}, "phone"),
        ({"service": "massage", "start": "2026-11-26T10:00", "client": {"name": 7}}, "name"),
        (
            {"service": "massage", "start": "2026-11-26T10:00", "client": {"name": "A"}, "channel": 3},
            "channel",
        ),
    ],
)
async def test_a_bad_booking_is_400_naming_the_field_and_stores_nothing(
    api: Jola, body: Any, named: str
) -> None:
    """The caller learns which field to fix, and half a booking is never stored."""
    status, answer = await call(api, "POST", "/api/v1/appointments", json=body)
    assert status == 400
    assert named in answer["error"]
    assert (await call(api, "GET", "/api/v1/appointments"))[1] == {"appointments": []}


async def test_a_body_that_is_not_json_is_400(api: Jola) -> None:
    """Broken bodies are the caller's mistake, never a 500."""
    for raw in (b"", b"{not json", b"\xff\xfe", b"[" * 100_000):
        status, answer = await call(api, "POST", "/api/v1/appointments", data=raw)
        assert status == 400 and answer["error"]


async def test_a_taken_or_overlapping_slot_is_409(api: Jola) -> None:
    """Only clashes refuse a staff booking: the same start, or any overlap; touching ends are fine."""
    assert (await book(api, start="2026-11-26T10:00"))[0] == 201

    same_status, same = await book(api, start="2026-11-26T10:00", phone="+4511111111")
    overlap_status, overlap = await book(api, start="2026-11-26T10:30", service="physio", phone="+4522222222")
    before_status, _ = await book(api, start="2026-11-26T09:30", phone="+4533333333")

    assert (same_status, overlap_status, before_status) == (409, 409, 409)
    assert same["error"] == overlap["error"] == "slot taken"
    assert overlap["conflicts"] == [
        {"start": "2026-11-26T10:00:00+01:00", "end": "2026-11-26T11:00:00+01:00"}
    ]
    assert (await book(api, start="2026-11-26T11:00"))[0] == 201
    assert (await book(api, start="2026-11-26T09:00"))[0] == 201
    assert len((await call(api, "GET", "/api/v1/appointments"))[1]["appointments"]) == 3


async def test_the_buffer_after_an_appointment_is_kept_free(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> None:
    """Staff bookings respect the business's buffer just as the bot's do."""
    jola = await run_jola(database, fake_graph, clock, booking={"buffer_minutes": 15})
    try:
        assert (await book(jola, start="2026-11-26T10:00"))[0] == 201
        assert (await book(jola, start="2026-11-26T11:00"))[0] == 409
        assert (await book(jola, start="2026-11-26T08:50"))[0] == 409  # its own buffer runs into 10:00
        assert (await book(jola, start="2026-11-26T11:15"))[0] == 201
        assert (await book(jola, start="2026-11-26T08:45"))[0] == 201
    finally:
        await jola.client.close()


async def test_concurrent_bookings_of_one_slot_give_exactly_one_201(api: Jola) -> None:
    """The calendar lock, not a check before the insert, decides who gets the slot."""
    results = await asyncio.gather(
        *(book(api, start="2026-11-26T10:00", phone=f"+45200000{i:02d}") for i in range(2)),
        *(book(api, start="2026-11-26T10:15", service="physio", phone=f"+45300000{i:02d}") for i in range(4)),
    )
    assert sorted(status for status, _ in results) == [201] + [409] * 5
    assert len((await call(api, "GET", "/api/v1/appointments"))[1]["appointments"]) == 1


# --------------------------------------------------------------------------------------------- cancelling


async def test_cancel_is_200_once_then_409_and_frees_the_slot(api: Jola) -> None:
    """Cancelling twice is a conflict the caller should hear about; the time is bookable again."""
    _, booked = await book(api)
    path = f"/api/v1/appointments/{booked['id']}/cancel"

    status, cancelled = await call(api, "POST", path)
    again, refused = await call(api, "POST", path)

    assert status == 200
    assert cancelled == {**booked, "status": "cancelled"}
    assert again == 409 and refused["status"] == "cancelled"
    assert (await book(api, phone="+4599999999"))[0] == 201


async def test_cancelling_an_unknown_appointment_is_404(api: Jola) -> None:
    """Ids that cannot exist (or cannot even be stored) are simply not found."""
    for appointment_id in ("999999", "abc", "0", "-1", "99999999999999999999999", "١٢"):
        status, body = await call(api, "POST", f"/api/v1/appointments/{appointment_id}/cancel")
        assert status == 404, appointment_id
        assert body["error"]


async def test_two_concurrent_cancels_give_one_200_and_one_409(api: Jola) -> None:
    """Two staff pressing cancel at once leave one history line, not two."""
    _, booked = await book(api)
    path = f"/api/v1/appointments/{booked['id']}/cancel"
    results = await asyncio.gather(call(api, "POST", path), call(api, "POST", path))
    assert sorted(status for status, _ in results) == [200, 409]


# --------------------------------------------------------------------------------------------- listing


async def test_listing_filters_by_time_and_status(api: Jola) -> None:
    """A date means local midnight, a naive time local time; an appointment running at `from` is listed."""
    ids = [
        (await book(api, start=f"2026-11-{day}T10:00", phone=f"+45100000{day}"))[1]["id"]
        for day in (26, 27, 28)
    ]
    await call(api, "POST", f"/api/v1/appointments/{ids[2]}/cancel")

    async def listed(**params: str) -> list[int]:
        status, body = await call(api, "GET", "/api/v1/appointments", params=params)
        assert status == 200, body
        return [a["id"] for a in body["appointments"]]

    assert await listed() == ids
    assert await listed(**{"from": "2026-11-27"}) == ids[1:]
    assert await listed(to="2026-11-27") == ids[:1]
    assert await listed(**{"from": "2026-11-27T10:30"}) == ids[1:]  # still running at 10:30 local
    assert await listed(**{"from": "2026-11-27T10:30:00+00:00"}) == ids[2:]  # 11:30 local
    assert await listed(**{"from": "2026-11-27", "to": "2026-11-28", "status": "booked"}) == ids[1:2]
    assert await listed(status="cancelled") == ids[2:]
    assert await listed(status="completed") == []


async def test_an_unencoded_offset_in_the_query_still_parses(api: Jola) -> None:
    """A "+" typed into a URL arrives as a space; the offset it meant is kept."""
    _, booked = await book(api)
    response = await api.client.get(
        "/api/v1/appointments?from=2026-11-26T10:30:00+01:00&to=2026-11-26T10:45:00+01:00", headers=TOKEN
    )
    assert response.status == 200
    assert [a["id"] for a in (await response.json())["appointments"]] == [booked["id"]]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "tomorrow"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ({"from": "2026-11-28", "to": "2026-11-27"}, "from"),
        ({"status": "pending"}, "status"),
    ],
)
async def test_bad_list_parameters_are_400_naming_them(api: Jola, params: dict[str, str], named: str) -> None:
    """A typo in a filter must not silently list everything."""
    status, body = await call(api, "GET", "/api/v1/appointments", params=params)
    assert status == 400
    assert named in body["error"]


# --------------------------------------------------------------------------------------------- clients


async def test_clients_are_found_by_phone_or_text(api: Jola) -> None:
    """Staff find a client by the number they were given or a piece of the name, across channels."""
    await book(api)
    await WhatsAppClient(api).says("hello")

    async def found(**params: str) -> list[dict[str, Any]]:
        status, body = await call(api, "GET", "/api/v1/clients", params=params)
        assert status == 200, body
        return list(body["clients"])

    ana = await found(phone="+4512345678")
    assert [(c["name"], c["phone"]) for c in ana] == [("Ana Berg", "+4512345678")]
    assert await found(phone="4512345678") == ana
    assert await found(q="BERG") == ana
    assert await found(q="4512") == ana
    assert [c["phone"] for c in await found(phone="+15550000001")] == ["+15550000001"]
    assert [c["name"] for c in await found(q="customer one")] == ["Test Customer One"]
    assert len(await found()) == 2
    assert await found(q="nobody") == []
    assert await found(q="%") == []
    assert (await call(api, "GET", "/api/v1/clients", params={"phone": "call me"}))[0] == 400


async def test_a_client_record_holds_identities_appointments_history_and_conversations(
    api: Jola, clock: SettableClock
) -> None:
    """A booking by phone lands on the WhatsApp client who wrote from that number."""
    await WhatsAppClient(api).says("hello")
    _, booked = await book(api, name="Ignored Name", phone="+15550000001")
    clock.advance(minutes=5)
    await call(api, "POST", f"/api/v1/appointments/{booked['id']}/cancel")

    status, record = await call(api, "GET", f"/api/v1/clients/{booked['client']['id']}")

    assert status == 200
    assert (record["id"], record["name"], record["phone"]) == (
        booked["client"]["id"],
        "Test Customer One",
        "+15550000001",
    )
    assert "locale" in record
    assert record["identities"] == [
        {
            "channel": "whatsapp",
            "user_id": "US.1000000000000000001",
            "phone": "+15550000001",
            "username": None,
            "opted_out_at": None,
        }
    ]
    [appointment] = record["appointments"]
    assert appointment["status"] == "cancelled"
    assert appointment["history"] == [
        {"at": "2026-11-25T09:00:00+01:00", "actor": "api", "action": "booked", "from": None, "to": "booked"},
        {
            "at": "2026-11-25T09:05:00+01:00",
            "actor": "api",
            "action": "cancelled",
            "from": "booked",
            "to": "cancelled",
        },
    ]
    [conversation] = record["conversations"]
    assert set(conversation) == {"id", "channel", "handled_by", "needs_staff", "state", "last_message_at"}
    assert (conversation["channel"], conversation["handled_by"], conversation["needs_staff"]) == (
        "whatsapp",
        "bot",
        False,
    )


async def test_an_unknown_client_is_404(api: Jola) -> None:
    """Unknown or impossible client ids are not found."""
    for client_id in ("424242", "x", "99999999999999999999"):
        assert (await call(api, "GET", f"/api/v1/clients/{client_id}"))[0] == 404


# --------------------------------------------------------------------------------------------- conversations


async def set_conversation(jola: Jola, conversation_id: int, **values: Any) -> None:
    async with jola.db.write() as session:
        await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))


async def test_conversations_are_listed_newest_first_and_filtered(api: Jola, clock: SettableClock) -> None:
    """The inbox shows who wrote last first, and who needs a person."""
    await WhatsAppClient(api).says("hello")
    clock.advance(minutes=3)
    await WhatsAppClient(api, wa_id="15550000002", name="Second Person", user_id=None).says("hi")

    status, body = await call(api, "GET", "/api/v1/conversations")

    assert status == 200
    second, first = body["conversations"]
    assert second["client"]["phone"] == "+15550000002" and first["client"]["phone"] == "+15550000001"
    assert set(first) == {"id", "channel", "client", "handled_by", "needs_staff", "state", "last_message_at"}
    assert set(first["client"]) == {"id", "name", "phone"}
    assert (first["channel"], first["handled_by"], first["needs_staff"]) == ("whatsapp", "bot", False)
    assert isinstance(first["state"], str) and first["state"]
    assert first["last_message_at"].endswith("+01:00")

    await set_conversation(api, first["id"], handled_by="staff", needs_staff=True)

    async def ids(status: str) -> list[int]:
        return [
            c["id"]
            for c in (await call(api, "GET", "/api/v1/conversations", params={"status": status}))[1][
                "conversations"
            ]
        ]

    assert await ids("staff") == [first["id"]]
    assert await ids("needs_staff") == [first["id"]]
    assert await ids("bot") == [second["id"]]
    status, error = await call(api, "GET", "/api/v1/conversations", params={"status": "open"})
    assert status == 400 and "status" in error["error"]


async def test_messages_come_oldest_first_and_page_back(api: Jola) -> None:
    """A conversation reads top to bottom, and long ones page back by message id."""
    client = WhatsAppClient(api)
    for text in ("one", "two", "three"):
        await client.says(text)
    conversation = (await call(api, "GET", "/api/v1/conversations"))[1]["conversations"][0]
    path = f"/api/v1/conversations/{conversation['id']}/messages"

    status, body = await call(api, "GET", path)

    assert status == 200
    everything = body["messages"]
    assert [m["id"] for m in everything] == sorted(m["id"] for m in everything)
    inbound = [m for m in everything if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == ["one", "two", "three"]
    assert all(m["author"] == "client" and m["status"] for m in inbound)
    assert set(inbound[0]) == {"id", "direction", "author", "text", "status", "created_at"}
    assert inbound[0]["created_at"].endswith("+01:00")
    assert all(
        m["direction"] in ("in", "out") and m["author"] in ("client", "bot", "staff") for m in everything
    )

    latest = (await call(api, "GET", path, params={"limit": "2"}))[1]["messages"]
    earlier = (await call(api, "GET", path, params={"limit": "2", "before": str(latest[0]["id"])}))[1][
        "messages"
    ]
    assert latest == everything[-2:]
    assert earlier == everything[-4:-2]
    for params in ({"limit": "0"}, {"limit": "abc"}, {"before": "-3"}, {"limit": "100000"}):
        assert (await call(api, "GET", path, params=params))[0] == 400


# --------------------------------------------------------------------------------------------- tenancy


async def test_another_business_sees_none_of_it(api: Jola) -> None:
    """An id from another business is 404, never 403: not even its existence leaks."""
    _, booked = await book(api)
    await WhatsAppClient(api).says("hello")
    conversation = (await call(api, "GET", "/api/v1/conversations"))[1]["conversations"][0]

    assert (await call(api, "GET", "/api/v1/appointments", auth=OTHER))[1] == {"appointments": []}
    assert (await call(api, "GET", "/api/v1/conversations", auth=OTHER))[1] == {"conversations": []}
    assert (await call(api, "GET", "/api/v1/clients", auth=OTHER))[1] == {"clients": []}
    assert (await call(api, "GET", "/api/v1/clients", auth=OTHER, params={"phone": "+4512345678"}))[1] == {
        "clients": []
    }
    for method, path in [
        ("POST", f"/api/v1/appointments/{booked['id']}/cancel"),
        ("GET", f"/api/v1/clients/{booked['client']['id']}"),
        ("GET", f"/api/v1/conversations/{conversation['id']}/messages"),
    ]:
        assert (await call(api, method, path, auth=OTHER))[0] == 404, path
    assert (await call(api, "GET", "/api/v1/appointments"))[1]["appointments"][0]["status"] == "booked"
    # The same time is free in the other business's calendar, and the same phone is its own client there.
    status, theirs = await book(api, auth=OTHER)
    assert status == 201 and theirs["client"]["id"] != booked["client"]["id"]


async def test_request_logs_carry_ids_not_personal_data(api: Jola, caplog: pytest.LogCaptureFixture) -> None:
    """One line per request, with the business id and outcome, never a name or number."""
    caplog.set_level(logging.INFO, logger="bot.api")
    await book(api)
    await call(api, "GET", "/api/v1/clients", params={"q": "Ana"})
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.api"]
    assert len(lines) == 2
    assert all(line.startswith("event=api.request business=harbour-clinic") for line in lines)
    assert not any("Ana" in line or "4512345678" in line for line in lines)
