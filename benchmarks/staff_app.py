#!/usr/bin/env python3
"""The staff app under a big business's history, and how fast a change reaches open pages:

    .venv/bin/python benchmarks/staff_app.py [--conversations 50000] [--messages 10] [--streams 50]
                                             [--postgres URL] [--json FILE]

The workload the staff web app issue names: 50,000 conversations (each its own client) with 500,000
messages in SQLite; a signed-in receptionist asks for the inbox (every filter, a search, the next pages)
and for 300 different conversations, one request at a time over loopback HTTP; the figure is the
server's time per page, read from the app's own request log (`event=web.request ... ms=`), with the
wall time over HTTP beside it. Then 50 pages hold /events open and 100 new clients write, one after
another: the figure is the time from posting the signed webhook to each open page receiving the change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import aiohttp.web
from sqlalchemy import insert

from bot.app import create_app
from bot.clock import Clock
from bot.config import parse_config
from bot.serve import settle_memory
from bot.signature import sign
from bot.tenants import sync_tenants
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Channel, Client, ClientIdentity, Conversation, Message
from tests.support.payloads import whatsapp_text
from tests.support.staff import StaffBrowser, add_account

BUSINESS = "harbour-clinic"
PHONE_NUMBER_ID = "100000000000002"
APP_SECRET = "bench-app-secret"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WORDS = ("massage", "tomorrow", "at", "10", "thanks", "friday", "physio", "please", "can", "I", "book")
NAMES = ("Anna", "Bo", "Carl", "Dorte", "Emil", "Frida", "Gustav", "Hanne", "Ida", "Jens", "Karen", "Lars")
SURNAMES = ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen")


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


class RequestTimes(logging.Handler):
    """The app's own request log: each staff page's server time (ms=) by route."""

    LINE = re.compile(r"event=web\.request .* route=(\S+) status=(\d+) ms=([\d.]+)")

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = self.LINE.search(record.getMessage())
        if found and found.group(2) == "200":
            self.times.append((found.group(1), float(found.group(3))))


def config_for(url: str, schema: str | None) -> Any:
    database: dict[str, Any] = {"url": url, "sqlite_synchronous": "NORMAL"}
    if schema:
        database["postgres_schema"] = schema
    return parse_config(
        {
            "server": {"secret_key": "bench-secret-key"},
            "database": database,
            "meta": {
                "app_secret": APP_SECRET,
                "verify_token": "bench",
                "graph_api_url": "http://127.0.0.1:9",
            },
            "sender": {"max_attempts": 1},
            "businesses": [
                {
                    "id": BUSINESS,
                    "name": "Harbour Clinic",
                    "api_token": "bench-token",
                    "hours": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "services": [{"id": "massage", "name": "Massage", "duration_minutes": 60}],
                    "channels": [
                        {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "t"}
                    ],
                }
            ],
        },
        environ={},
    )


async def fill(db: Database, conversations: int, per: int) -> None:
    """Clients, identities, conversations and messages, in bulk, spread over the last 90 days."""
    rng = random.Random(7)
    async with db.write() as session:
        channel = (await session.execute(Channel.__table__.select())).first()
        channel_id = channel.id
    batch = 2000
    for start in range(0, conversations, batch):
        ids = range(start + 1, min(start + batch, conversations) + 1)
        clients, identities, rows, messages = [], [], [], []
        for n in ids:
            phone = f"+45{20000000 + n}"
            last = NOW - timedelta(minutes=rng.randint(0, 90 * 24 * 60))
            clients.append(
                {
                    "id": n,
                    "business_id": BUSINESS,
                    "name": f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {n}",
                    "phone": phone,
                    "locale": "da",
                    "created_at": last,
                    "updated_at": last,
                }
            )
            identities.append(
                {
                    "id": n,
                    "business_id": BUSINESS,
                    "client_id": n,
                    "channel_kind": "whatsapp",
                    "external_id": phone[1:],
                    "phone": phone,
                    "created_at": last,
                    "updated_at": last,
                }
            )
            needs = rng.random() < 0.01
            rows.append(
                {
                    "id": n,
                    "key": f"{BUSINESS}:whatsapp:{phone[1:]}",
                    "business_id": BUSINESS,
                    "channel_id": channel_id,
                    "client_id": n,
                    "identity_id": n,
                    "flow": "booking",
                    "state": "choosing_service",
                    "slots": {},
                    "locale": "da",
                    "handled_by": "staff" if needs else "bot",
                    "needs_staff": needs,
                    "misunderstood": 0,
                    "last_client_message_at": last,
                    "last_message_at": last,
                    "created_at": last - timedelta(days=1),
                    "updated_at": last,
                }
            )
            for k in range(per):
                inbound = k % 2 == 0
                messages.append(
                    {
                        "business_id": BUSINESS,
                        "conversation_id": n,
                        "channel_id": channel_id,
                        "direction": "in" if inbound else "out",
                        "author": "client" if inbound else "bot",
                        "type": "text",
                        "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))),
                        "payload": None,
                        "status": "received" if inbound else "read",
                        "created_at": last - timedelta(minutes=per - k),
                        "status_at": last,
                    }
                )
        async with db.write() as session:
            await session.execute(insert(Client), clients)
            await session.execute(insert(ClientIdentity), identities)
            await session.execute(insert(Conversation), rows)
            await session.execute(insert(Message), messages)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max": round(ordered[-1], 2),
    }


class Running:
    """A Jola app on a real loopback port, for the staff-app helpers (which take a `jola`)."""

    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base
        self.client = self

    def make_url(self, path: str) -> str:
        return self.base + path

    @property
    def db(self) -> Database:
        from bot import keys

        return self.app[keys.DATABASE]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{tmp}/jola.db"
        schema = f"bench_{int(time.time())}" if args.postgres else None
        config = config_for(url, schema)
        db = Database(url, schema=schema, synchronous="NORMAL")
        await upgrade(db)
        await sync_tenants(db, config, FixedClock())
        started = time.perf_counter()
        await fill(db, args.conversations, args.messages)
        filled = time.perf_counter() - started
        await db.dispose()

        times = RequestTimes()
        door = logging.getLogger("bot.web.door")
        door.addHandler(times)
        door.setLevel(logging.INFO)
        door.propagate = False
        app = create_app(config, clock=FixedClock())
        runner = aiohttp.web.AppRunner(app, access_log=None)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        running = Running(app, f"http://127.0.0.1:{port}")
        settle_memory()
        await add_account(running)  # type: ignore[arg-type]
        browser = StaffBrowser(running)  # type: ignore[arg-type]
        await browser.log_in()
        result: dict[str, Any] = {
            "database": "postgresql" if args.postgres else "sqlite",
            "conversations": args.conversations,
            "messages": args.conversations * args.messages,
            "fill_seconds": round(filled, 1),
        }
        rng = random.Random(11)
        pages = []
        for show in ("all", "needs_staff", "mine", "bot"):
            pages.append(f"/inbox?show={show}")
        pages += [f"/inbox?q={rng.choice(SURNAMES)}" for _ in range(20)]
        pages += [f"/inbox?q=4520{rng.randint(10, 99)}" for _ in range(20)]
        for _ in range(3):  # warm-up
            await browser.get("/inbox")
        walls: dict[str, list[float]] = {"inbox": [], "conversation": []}
        times.times.clear()
        for _ in range(5):
            for path in pages:
                t0 = time.perf_counter()
                page = await browser.get(path)
                walls["inbox"].append((time.perf_counter() - t0) * 1000)
                assert page.status == 200
        # next pages: follow the cursor five pages deep
        link = "/inbox"
        for _ in range(5):
            page = await browser.get(link)
            found = re.search(r'<p class="more"><a class="button" href="([^"]+)"', page.text)
            if not found:
                break
            link = found.group(1).replace("&amp;", "&")
        for conversation in rng.sample(range(1, args.conversations + 1), 300):
            t0 = time.perf_counter()
            page = await browser.get(f"/conversations/{conversation}")
            walls["conversation"].append((time.perf_counter() - t0) * 1000)
            assert page.status == 200
        inbox_times = [ms for route, ms in times.times if route == "/inbox"]
        kinds = ["search" if "q=" in path else "filter" for path in pages] * 5
        for kind in ("filter", "search"):
            chosen = [ms for ms, k in zip(inbox_times[: len(kinds)], kinds, strict=False) if k == kind]
            result[f"inbox_{kind}_server_ms"] = summary(chosen)
        result["inbox_next_pages_server_ms"] = summary(inbox_times[len(kinds) :] or [0.0])
        server = {
            "inbox": inbox_times,
            "conversation": [ms for route, ms in times.times if route == "/conversations/{id}"],
        }
        result["inbox_server_ms"] = summary(server["inbox"])
        result["inbox_wall_ms"] = summary(walls["inbox"])
        result["conversation_server_ms"] = summary(server["conversation"])
        result["conversation_wall_ms"] = summary(walls["conversation"])
        result["fan_out_ms"] = await fan_out(running, browser, args.streams)
        await browser.close()
        await runner.cleanup()
        return result


async def fan_out(running: Running, browser: StaffBrowser, streams: int) -> dict[str, float]:
    """`streams` pages hold /events open; new clients write one after another; time to each page."""
    opened = []
    for _ in range(streams):
        response = await browser.http.get(running.base + "/events", headers={"Accept": "text/event-stream"})
        await response.content.readuntil(b"\n\n")  # hello
        opened.append(response)
    latencies: list[float] = []
    http = aiohttp.ClientSession()
    for n in range(100):
        body = json.dumps(
            whatsapp_text(
                "hello", wa_id=f"4599{n:06d}", name=f"New {n}", user_id=None, timestamp=int(NOW.timestamp())
            )
        ).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
        t0 = time.perf_counter()
        async with http.post(running.base + "/webhook", data=body, headers=headers) as response:
            assert response.status == 200

        latencies += await asyncio.gather(*(_first_message(s, t0) for s in opened))
        for stream in opened:  # the reply's send (a status change) may follow; drain what is there
            while not stream.content.is_eof() and stream.content._buffer:  # type: ignore[attr-defined]
                await stream.content.readuntil(b"\n\n")
    await http.close()
    for response in opened:
        response.close()
    return summary(latencies)


async def _first_message(stream: Any, posted: float) -> float:
    while True:
        block = (await stream.content.readuntil(b"\n\n")).decode()
        if '"kind": "message"' in block:
            return (time.perf_counter() - posted) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=10, help="per conversation")
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
