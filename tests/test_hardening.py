"""Issue 18, found by probing what had landed: each probe replayed against the real server, and what it
must get now (a clear 4xx, a closed connection, a bounded label, a quiet log)."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import create_app
from bot.config import Config
from bot.logs import quiet_server_errors
from bot.serve import start_site
from bot.signature import sign
from bot.webhook import MAX_BODY
from storage.models import InboundEvent
from tests.conftest import DatabaseTarget, Jola, make_config, start_jola
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import APP_SECRET, whatsapp_text
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
CLOSE_WITHIN = 5.0  # seconds a test waits for the server to close a socket (deadlines are far shorter)


async def stored(jola: Jola) -> list[dict[str, Any]]:
    async with jola.db.inbox.read() as session:
        rows = (await session.execute(select(InboundEvent.payload))).scalars().all()
    return [row if isinstance(row, dict) else json.loads(row) for row in rows]


class Raw:
    """A TCP connection to the server that writes exactly the bytes given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Raw:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def closed_by_server(self, within: float = CLOSE_WITHIN) -> bytes:
        """Everything the server wrote until it closed the connection (fails if it stays open)."""
        async with asyncio.timeout(within):
            return await self.reader.read()

    async def response_head(self) -> bytes:
        async with asyncio.timeout(CLOSE_WITHIN):
            return await self.reader.readuntil(b"\r\n\r\n")

    def close(self) -> None:
        self.writer.close()


def post_head(length: int, **headers: str) -> bytes:
    lines = [
        "POST /webhook HTTP/1.1",
        "Host: localhost",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def address(jola: Jola) -> tuple[str, int]:
    server = jola.client.server
    return str(server.host), int(server.port)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- 1-3: what the webhook reads


async def test_a_compressed_body_is_refused_unread_signed_or_not(jola: Jola) -> None:
    """A 100 KB gzip of 100 MB was inflated before the signature was checked; now nothing is inflated."""
    bomb = gzip.compress(b" " * (100 * 1024 * 1024), compresslevel=9)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    started = time.perf_counter()
    unsigned = await jola.client.post("/webhook", data=bomb, headers=headers)
    signed = await jola.client.post(
        "/webhook", data=bomb, headers={**headers, "X-Hub-Signature-256": sign(bomb, APP_SECRET)}
    )
    assert (unsigned.status, signed.status) == (401, 415)
    assert time.perf_counter() - started < 2
    assert await stored(jola) == []


async def test_a_body_claiming_gzip_that_is_not_gets_a_4xx_not_a_500(jola: Jola) -> None:
    """Content-Encoding: gzip on plain JSON answered 500, signed or not."""
    raw = json.dumps(whatsapp_text("hello")).encode()
    for signature in (None, sign(raw, APP_SECRET)):
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if signature:
            headers["X-Hub-Signature-256"] = signature
        response = await jola.client.post("/webhook", data=raw, headers=headers)
        assert response.status in (401, 415)
    api = await jola.client.post(
        "/api/v1/appointments", data=b"not gzip", headers={**TOKEN, "Content-Encoding": "gzip"}
    )
    assert api.status == 415


@pytest.mark.parametrize(
    ("signature", "status"), [(None, 401), ("sha256=zz", 403), ("sha256=" + "ä" * 64, 403)]
)
async def test_an_unsigned_post_is_refused_before_its_body_is_read(
    jola: Jola, signature: str | None, status: int
) -> None:
    """64 clients each announcing 4 MB without a valid signature grew the process by 1.5 GB: the answer
    now comes after the headers alone, and the connection is closed."""
    conn = await Raw.open(*address(jola))
    extra = {"X-Hub-Signature-256": signature} if signature else {}
    await conn.send(post_head(MAX_BODY, **extra))
    head = await conn.response_head()
    assert head.startswith(f"HTTP/1.1 {status}".encode())
    await conn.closed_by_server()
    conn.close()


async def test_a_signed_body_over_the_limit_is_refused_announced_or_chunked(jola: Jola) -> None:
    """The limit holds while reading: a Content-Length over it is refused unread, a chunked body at it."""
    big = b"{" + b" " * MAX_BODY + b"}"
    announced = await Raw.open(*address(jola))
    await announced.send(post_head(len(big), X_Hub_Signature_256=sign(big, APP_SECRET)))
    assert (await announced.response_head()).startswith(b"HTTP/1.1 413")
    announced.close()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    response = await jola.client.post(
        "/webhook", data=chunks(), headers={"X-Hub-Signature-256": sign(big, APP_SECRET)}
    )
    assert response.status == 413


# ------------------------------------------------------------------------- 4: slow and silent clients


@pytest.fixture
async def guarded(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[tuple[str, int, Config]]:
    """Jola as `jola serve` runs it (its own site, every connection under the guard), short deadlines."""
    server = {"header_timeout_seconds": 0.3, "body_timeout_seconds": 0.3, "max_connections": 8}
    config = make_config(database, fake_graph.url, server=server)
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await start_site(runner, sock)
    try:
        yield "127.0.0.1", sock.getsockname()[1], config
    finally:
        await runner.cleanup()


async def test_half_a_request_line_or_nothing_is_closed_at_the_header_timeout(
    guarded: tuple[str, int, Config],
) -> None:
    """Connections that sent nothing, or half a request, were never closed (the file limit ran out)."""
    host, port, _ = guarded
    half, silent = await Raw.open(host, port), await Raw.open(host, port)
    await half.send(b"GET /heal")
    started = time.perf_counter()
    assert await half.closed_by_server() == b""
    assert await silent.closed_by_server() == b""
    assert 0.25 <= time.perf_counter() - started < 3
    half.close()
    silent.close()


async def test_a_body_that_stops_coming_is_cut_at_the_body_timeout(jola_short_body: Jola) -> None:
    """Headers in time, then a body a few bytes short forever: the connection goes at the deadline."""
    conn = await Raw.open(*address(jola_short_body))
    raw = json.dumps(whatsapp_text("hello")).encode()
    await conn.send(post_head(len(raw), X_Hub_Signature_256=sign(raw, APP_SECRET)) + raw[:-5])
    started = time.perf_counter()
    assert b"200" not in await conn.closed_by_server()
    assert time.perf_counter() - started < 3
    conn.close()
    assert await stored(jola_short_body) == []


@pytest.fixture
async def jola_short_body(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    config = make_config(database, fake_graph.url, server={"body_timeout_seconds": 0.3})
    running = await start_jola(config, fake_graph)
    yield running
    await running.client.close()


async def test_when_full_a_delivery_evicts_the_oldest_silent_connection(
    guarded: tuple[str, int, Config],
) -> None:
    """Silent clients holding every slot must not keep Meta out: the newcomer takes the oldest one's."""
    host, port, _ = guarded
    silent = [await Raw.open(host, port) for _ in range(8)]
    raw = json.dumps(whatsapp_text("made it")).encode()
    delivery = await Raw.open(host, port)
    await delivery.send(post_head(len(raw), X_Hub_Signature_256=sign(raw, APP_SECRET)) + raw)
    assert (await delivery.response_head()).startswith(b"HTTP/1.1 200")
    assert await silent[0].closed_by_server(within=0.2) == b""  # long before its header deadline
    for conn in [*silent, delivery]:
        conn.close()


# --------------------------------------------------------------------------- 5: numbers and dates


async def test_huge_ids_limits_and_cursors_are_a_4xx(jola: Jola) -> None:
    """5,000 digits overflowed int() and answered 500."""
    digits = "9" * 5000
    for method, path, status in [
        ("GET", f"/api/v1/clients/{digits}", 404),
        ("POST", f"/api/v1/appointments/{digits}/cancel", 404),
        ("GET", f"/api/v1/conversations?limit={digits}", 400),
        ("GET", f"/api/v1/conversations/1/messages?before={digits}", 400),
        ("GET", f"/api/v1/conversations?limit={'0' * 5000}7", 200),
    ]:
        response = await jola.client.request(method, path, headers=TOKEN)
        assert response.status == status, path


async def test_an_api_body_over_4_mib_is_a_413(jola: Jola) -> None:
    """HTTPRequestEntityTooLarge was raised without its size: a TypeError, then a 500."""
    body = b'{"service": "' + b"x" * (MAX_BODY + 10) + b'"}'
    response = await jola.client.post("/api/v1/appointments", data=body, headers=TOKEN)
    assert response.status == 413
    assert "too large" in (await response.json())["error"]


@pytest.mark.parametrize("start", ["9999-12-31T23:00Z", "0001-01-01T10:00Z", "9999-06-01T10:00+01:00"])
async def test_a_staff_booking_far_from_today_is_a_400_naming_start(jola: Jola, start: str) -> None:
    """The end of year 9999 overflowed (500); year 1 or 9999 inside datetime's range was booked (201)."""
    body = {"service": "massage", "start": start, "client": {"name": "Ann"}}
    response = await jola.client.post("/api/v1/appointments", json=body, headers=TOKEN)
    assert response.status == 400
    assert (await response.json())["error"].startswith("start")


async def test_a_booking_three_years_ahead_or_back_is_refused(jola: Jola) -> None:
    """Within datetime's reach but not a real calendar's: 2 years back and 5 ahead are the bounds."""
    now = datetime.now(UTC).replace(microsecond=0)
    for moment in (now + timedelta(days=6 * 366), now - timedelta(days=3 * 366)):
        body = {"service": "massage", "start": moment.isoformat(), "client": {"name": "Ann"}}
        response = await jola.client.post("/api/v1/appointments", json=body, headers=TOKEN)
        assert response.status == 400
        assert "start" in (await response.json())["error"]
    listed = await jola.client.get("/api/v1/appointments?from=9999-12-31", headers=TOKEN)
    assert listed.status == 400


async def test_the_calendar_form_refuses_a_day_years_away(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """The staff app's booking form took year 9999 (and year 1) as well."""
    async with clinic(database, fake_graph) as (jola, _clock):
        await add_account(jola)
        rita = StaffBrowser(jola)
        await rita.log_in()
        try:
            for day in ("9999-11-27", "2035-11-27"):
                page = await rita.get("/calendar/new")
                form = {"service": "massage", "date": day, "time": "10:00", "name": "Bo Berg"}
                page = await rita.post("/appointments", form)
                assert page.status == 400, day
        finally:
            await rita.close()


async def test_a_delivery_stamped_next_year_is_taken_as_received_now(jola: Jola) -> None:
    """A future timestamp would open windows and order messages as if it had happened then."""
    next_year = int(time.time()) + 365 * 86400
    before = datetime.now(UTC)
    await jola.deliver(whatsapp_text("from the future", timestamp=next_year))
    [event] = await stored(jola)
    stamp = datetime.fromisoformat(event["timestamp"])
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)


# --------------------------------------------------------------------------------- 6: metric labels


async def test_unknown_change_fields_share_one_metric_label(jola: Jola) -> None:
    """50,000 made-up `field`s made /metrics 5.8 MB."""
    body = whatsapp_text("hi")
    body["entry"][0]["changes"] += [{"field": f"made_up_{n}", "value": {}} for n in range(50)]
    body["entry"][0]["changes"].append({"field": "account_update", "value": {}})
    await jola.deliver(body)
    metrics = await (await jola.client.get("/metrics")).text()
    assert "made_up" not in metrics
    assert 'outcome="field:other"} 50.0' in metrics
    assert 'outcome="field:account_update"} 1.0' in metrics


# ------------------------------------------------------------------------------- 7: aiohttp's lines


async def test_a_long_request_line_logs_neither_its_url_nor_a_traceback(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """A request line over 8 kB was logged with its start, the verify token in it."""
    quiet_server_errors()
    caplog.set_level(logging.INFO)
    conn = await Raw.open(*address(jola))
    await conn.send(b"GET /webhook?hub.verify_token=verify-me&x=" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
    head = await conn.response_head()
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request")
    conn.close()
    await jola.client.get("/healthz")  # the server's line for the bad request is written by now
    assert "verify" not in caplog.text
    assert "Traceback" not in caplog.text
    assert any("event=http.bad_request" in r.getMessage() for r in caplog.records)


async def test_clients_that_drop_mid_body_leave_no_tracebacks(
    jola_short_body: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """200 dropped slow connections wrote 5,600 lines of ConnectionResetError tracebacks."""
    quiet_server_errors()
    caplog.set_level(logging.INFO)
    raw = json.dumps(whatsapp_text("hello")).encode()
    conns = [await Raw.open(*address(jola_short_body)) for _ in range(20)]
    for n, conn in enumerate(conns):
        await conn.send(post_head(len(raw), X_Hub_Signature_256=sign(raw, APP_SECRET)) + raw[:-5])
        if n % 2:
            conn.writer.transport.abort()  # the client goes; the others are cut at the body deadline
    for conn in conns[::2]:
        await conn.closed_by_server()
    await jola_short_body.client.get("/healthz")
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    assert "Traceback" not in caplog.text


# ---------------------------------------------------------------- 8: one bad string, server, headers


async def test_a_lone_surrogate_costs_a_character_not_the_delivery(jola: Jola) -> None:
    """`\\ud800` is valid JSON that orjson refuses; the whole signed delivery answered 400."""
    body = whatsapp_text("SURROGATE")
    second = dict(
        body["entry"][0]["changes"][0]["value"]["messages"][0], id="wamid.SECOND", text={"body": "ok"}
    )
    body["entry"][0]["changes"][0]["value"]["messages"].append(second)
    raw = json.dumps(body).encode().replace(b"SURROGATE", b"bad \\ud800 one")
    response = await jola.post(raw)
    assert response.status == 200
    texts = sorted(event["text"] for event in await stored(jola))
    assert texts == ["bad \ufffd one", "ok"]


async def test_no_answer_names_the_server_software(jola: Jola) -> None:
    """`Server: Python/3.11 aiohttp/3.14.5` told a prober which known bugs to try."""
    for path in ("/healthz", "/login", "/api/v1/clients", "/nowhere"):
        response = await jola.client.get(path)
        assert "aiohttp" not in response.headers.get("Server", ""), path
        assert "Python" not in response.headers.get("Server", ""), path


async def test_every_api_answer_is_nosniff_and_no_store(jola: Jola) -> None:
    """API answers hold personal data: no cache may keep them, no browser may sniff them."""
    for path, headers in [
        ("/api/v1/clients", TOKEN),
        ("/api/v1/clients", {}),
        ("/api/v1/clients/999", TOKEN),
        ("/api/v1/nowhere", TOKEN),
    ]:
        response = await jola.client.get(path, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Cache-Control"] == "no-store", path
