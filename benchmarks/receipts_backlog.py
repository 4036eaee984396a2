"""A client's message behind a flood of receipts (issue 18): how long until the reply?

One signed WhatsApp delivery carries `--statuses` statuses for message ids Jola never sent (they wait for
a send record that never comes, then are given up); then a client says "hi". Reported: the time from that
message's acknowledgement to the reply reaching the (fake) Graph API, and how long until the statuses are
all given up, with the dispatcher's passes and CPU time over that span.

    .venv/bin/python benchmarks/receipts_backlog.py --statuses 20000 [--postgres URL] [--timeout 900]

Runs the real app (aiohttp server on 127.0.0.1, the real pipeline) with production dispatch settings
(`poll_seconds` 1.0) on SQLite in a temp dir, or on PostgreSQL in a schema of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from bot import keys
from storage.db import Database
from storage.models import InboundEvent
from tests.conftest import DatabaseTarget, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_status, whatsapp_text


def status_flood(count: int) -> dict[str, Any]:
    """One delivery with `count` statuses for wamids Jola never sent."""
    body = whatsapp_status("wamid.NEVER-0", "delivered")
    value = body["entry"][0]["changes"][0]["value"]
    template = value["statuses"][0]
    value["statuses"] = [{**template, "id": f"wamid.NEVER-{i}"} for i in range(count)]
    return body


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def pending(db: Database) -> int:
    async with db.inbox.read() as session:
        query = select(func.count()).where(InboundEvent.state == "pending", InboundEvent.kind == "status")
        return (await session.execute(query)).scalar_one()


async def run(statuses: int, postgres: str | None, timeout: float) -> dict[str, Any]:
    graph = FakeGraph()
    await graph.start()
    admin = schema = None
    with tempfile.TemporaryDirectory() as tmp:
        if postgres:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = Database(postgres)
            async with admin.engine.begin() as conn:
                await conn.execute(text(f"CREATE SCHEMA {schema}"))
            target = DatabaseTarget(postgres, schema)
        else:
            target = DatabaseTarget(f"sqlite+aiosqlite:///{Path(tmp) / 'jola.db'}")
        config = make_config(target, graph.url, dispatch={"poll_seconds": 1.0})
        jola = await start_jola(config, graph)
        try:
            dispatcher = jola.app[keys.PIPELINE].dispatcher
            passes = 0
            run_once = dispatcher.run_once

            async def counted() -> int:
                nonlocal passes
                passes += 1
                return await run_once()

            dispatcher.run_once = counted  # type: ignore[method-assign]
            started = time.perf_counter()
            await jola.deliver(status_flood(statuses))
            flood_acked = time.perf_counter() - started
            cpu0, passes0 = cpu(), passes
            asked = time.perf_counter()
            await jola.deliver(whatsapp_text("hi", timestamp=int(time.time())))
            await graph.wait_for_calls(1, timeout=timeout)
            reply = time.perf_counter() - asked
            print(f"reply after {reply:.3f} s ({passes - passes0} passes)", flush=True)
            # Then until every status is given up (none pending).
            deadline = time.perf_counter() + timeout
            while await pending(jola.db) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            drained = time.perf_counter() - asked
            left = await pending(jola.db)
            metrics = jola.app[keys.METRICS]
            given_up = metrics.dispatched.labels("given_up")._value.get()
            return {
                "backend": "postgresql" if postgres else "sqlite",
                "statuses": statuses,
                "flood_ack_seconds": round(flood_acked, 3),
                "reply_seconds": round(reply, 3),
                "receipts_settled_seconds": round(drained, 1),
                "receipts_left": left,
                "receipts_given_up": given_up,
                "dispatch_passes": passes - passes0,
                "cpu_seconds": round(cpu() - cpu0, 2),
            }
        finally:
            await jola.client.close()
            await graph.close()
            if admin is not None:
                async with admin.engine.begin() as conn:
                    await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statuses", type=int, default=20_000)
    parser.add_argument("--postgres", help="postgresql+asyncpg://… (default: SQLite in a temp dir)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the reply")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.statuses, args.postgres, args.timeout)), indent=2))


if __name__ == "__main__":
    main()
