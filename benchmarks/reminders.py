#!/usr/bin/env python3
"""10,000 reminders falling due in the same minute on SQLite: how long until all are handed to the fake
Graph API, and that none is sent twice.

    .venv/bin/python benchmarks/reminders.py [--count 10000] [--json FILE] [--profile FILE.pstats]

The setup goes through storage functions, not HTTP, for speed: `--count` clients, each with a WhatsApp
conversation whose 24-hour window is open (they wrote an hour ago), and one appointment each, inserted by
`storage.appointments.insert_appointment`, which plans the reminders with the real planning code. The
business reminds 24 hours ahead and has quiet hours 21:00-08:00 (the default), and the appointments start
tomorrow between 21:00 and 08:00: every reminder would fall in quiet hours, so each is moved to just
before they begin, 20:59 today. All of them fall due at the same instant.

Then the real app runs in this process (`bot.app.create_app` with its reminder worker, sender and the
rest, Jola's default settings, SQLite `synchronous = FULL`), on a clock the benchmark moves, against a
fake Graph API in a child process (it records each call with its arrival time and the appointment its
buttons name). The clock moves to 20:59 and the worker is woken; the figure is the wall time from the
worker's first claim to the fake receiving the last reminder. The fake's record says whether any
appointment's reminder came twice; the database says whether anything is left pending.

Also measured: how long after the Graph API answered a send Jola had committed that it did (the window in
which a crash sends a reminder twice, tests/test_reminders_crash.py), and Jola's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

BUSINESS = "harbour-clinic"
PHONE_NUMBER_ID = "100000000000002"
ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=ZONE).astimezone(UTC)  # Monday 7 December, 12:00 there
DUE = datetime(2026, 12, 7, 20, 59, tzinfo=ZONE).astimezone(UTC)  # just before quiet hours begin
FIRST_START = datetime(2026, 12, 8, 21, 0, tzinfo=ZONE).astimezone(UTC)  # tomorrow's quiet hours
QUIET = timedelta(hours=11)  # 21:00-08:00
REMINDER_TEXT = "a reminder from Harbour Clinic"
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------ fake Graph


def fake_graph() -> None:
    """The child process: answers WhatsApp sends, records (arrival, to, appointment) for each reminder.
    GET /wait?reminders=N&timeout=S answers once N reminders have arrived (or S seconds passed) with the
    summary; GET /summary answers at once."""
    reminders: list[tuple[float, str | None, int]] = []
    others = 0
    arrived = asyncio.Condition()
    counter = iter(range(1, 10**9))

    async def messages(request: web.Request) -> web.Response:
        nonlocal others
        body = json.loads(await request.read())
        interactive = body.get("interactive") or {}
        text = (interactive.get("body") or {}).get("text") or ""
        if REMINDER_TEXT in text:
            buttons = interactive["action"]["buttons"]
            appointment = int(buttons[-1]["reply"]["id"].split(":")[1])  # "cancel:<id>"
            reminders.append((time.time(), body.get("to"), appointment))
            async with arrived:
                arrived.notify_all()
        else:
            others += 1
        wamid = f"wamid.BENCH{next(counter):08d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": wamid}],
            }
        )

    def summary() -> dict[str, Any]:
        times = sorted(t for t, _, _ in reminders)
        appointments = [a for _, _, a in reminders]
        return {
            "reminders": len(reminders),
            "other_calls": others,
            "distinct_appointments": len(set(appointments)),
            "distinct_recipients": len({to for _, to, _ in reminders}),
            "sent_twice": len(appointments) - len(set(appointments)),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "deciles": [times[min(len(times) - 1, len(times) * k // 10)] for k in range(1, 10)]
            if times
            else [],
            "cpu_seconds": sum(os.times()[:2]),
        }

    async def wait(request: web.Request) -> web.Response:
        want, timeout = int(request.query["reminders"]), float(request.query.get("timeout", "600"))

        async def enough() -> None:
            async with arrived:
                await arrived.wait_for(lambda: len(reminders) >= want)

        with contextlib.suppress(TimeoutError):  # the summary says how many came
            await asyncio.wait_for(enough(), timeout)
        return web.json_response(summary())

    async def show(request: web.Request) -> web.Response:
        return web.json_response(summary())

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/{version}/{asset}/messages", messages)
        app.router.add_get("/wait", wait)
        app.router.add_get("/summary", show)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"LISTENING {site._server.sockets[0].getsockname()[1]}", flush=True)  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def start_fake(log: Path) -> tuple[subprocess.Popen[str], str]:
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, __file__, "--role", "fake-graph"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert child.stdout is not None
    line = child.stdout.readline()
    found = re.match(r"LISTENING (\d+)", line)
    if not found:
        child.kill()
        raise RuntimeError(f"the fake Graph API did not start: {line!r} {log.read_text()}")
    return child, f"http://127.0.0.1:{found.group(1)}"


# ------------------------------------------------------------------------------------------ Jola


class MovableClock:
    """Real time, shifted: it shows `at` now and runs on from there; `jump_to` shifts it again."""

    def __init__(self, at: datetime) -> None:
        self._offset = at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def jump_to(self, at: datetime) -> None:
        self._offset = at - datetime.now(UTC)


def config_for(url: str, graph_url: str, args: argparse.Namespace) -> Any:
    from bot.config import parse_config

    sections: dict[str, Any] = {"reminders": {}, "sender": {}}
    if args.reminder_batch:
        sections["reminders"]["batch_size"] = args.reminder_batch
    if args.send_batch:
        sections["sender"]["batch_size"] = args.send_batch
    if args.concurrency:
        sections["sender"]["concurrency"] = args.concurrency
    return parse_config(
        {
            "server": {"secret_key": "bench-secret-key", "log_level": args.log_level},
            "database": {"url": url, "sqlite_synchronous": args.sqlite_synchronous},
            "meta": {"app_secret": "bench-app-secret", "verify_token": "bench", "graph_api_url": graph_url},
            **sections,
            "businesses": [
                {
                    "id": BUSINESS,
                    "name": "Harbour Clinic",
                    "timezone": "Europe/Copenhagen",
                    "locale": "en",
                    "api_token": "bench-token",
                    "hours": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                    "booking": {"slot_step_minutes": 5, "min_notice": "0m"},
                    "reminders": {"lead_times": ["24h"], "quiet_hours": ["21:00-08:00"]},
                    "services": [{"id": "checkup", "name": "Check-up", "duration_minutes": 5}],
                    "channels": [
                        {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "t"}
                    ],
                }
            ],
        },
        environ={},
    )


async def fill(url: str, config: Any, count: int) -> dict[str, Any]:
    """Clients who wrote an hour ago on WhatsApp, each booked once tomorrow night; returns what was made."""
    from sqlalchemy import func, insert, select

    from bot.tenants import sync_tenants
    from flows.engine import DEFAULT_FLOW, initial_state
    from storage.appointments import insert_appointment
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Channel, Client, ClientIdentity, Conversation, Reminder, Service

    db = Database(url, synchronous="NORMAL")  # the setup's own writes; the run uses the config's
    clock = MovableClock(NOW)
    await upgrade(db)
    await sync_tenants(db, config, clock)
    wrote = NOW - timedelta(hours=1)
    async with db.read() as session:
        channel_id = await session.scalar(select(Channel.id))
        service_id = await session.scalar(select(Service.id).where(Service.key == "checkup"))
    batch = 2000
    for first in range(1, count + 1, batch):
        numbers = range(first, min(first + batch, count + 1))
        clients, identities, conversations = [], [], []
        for n in numbers:
            phone = f"+4550{n:06d}"
            common = {"business_id": BUSINESS, "created_at": wrote, "updated_at": wrote}
            clients.append({"id": n, "name": f"Client {n}", "phone": phone, "locale": "en", **common})
            identities.append(
                {
                    "id": n,
                    "client_id": n,
                    "channel_kind": "whatsapp",
                    "external_id": phone[1:],
                    "phone": phone,
                    **common,
                }
            )
            conversations.append(
                {
                    "id": n,
                    "key": f"{BUSINESS}:whatsapp:{phone[1:]}",
                    "channel_id": channel_id,
                    "client_id": n,
                    "identity_id": n,
                    "flow": DEFAULT_FLOW,
                    "state": initial_state(),
                    "slots": {},
                    "locale": "en",
                    "handled_by": "bot",
                    "needs_staff": False,
                    "misunderstood": 0,
                    "last_client_message_at": wrote,
                    "last_message_at": wrote,
                    **common,
                }
            )
        async with db.write() as session:
            await session.execute(insert(Client), clients)
            await session.execute(insert(ClientIdentity), identities)
            await session.execute(insert(Conversation), conversations)
    spacing = QUIET / count  # tomorrow's quiet hours, evenly
    started = time.perf_counter()
    for first in range(0, count, 500):
        async with db.write() as session:
            for i in range(first, min(first + 500, count)):
                start = FIRST_START + spacing * i
                await insert_appointment(
                    session,
                    business_id=BUSINESS,
                    service_id=service_id,
                    client_id=i + 1,
                    channel="whatsapp",
                    start=start,
                    end=start + timedelta(minutes=5),
                    actor="benchmark",
                    now=NOW,
                )
    booked = time.perf_counter() - started
    async with db.read() as session:
        made, earliest, latest = (
            await session.execute(
                select(func.count(), func.min(Reminder.due_at), func.max(Reminder.due_at)).where(
                    Reminder.state == "pending"
                )
            )
        ).one()
    await db.dispose()
    assert made == count, f"{made} reminders planned for {count} appointments"
    assert earliest == latest == DUE, f"due from {earliest} to {latest}, not all at {DUE}"
    return {"booking_seconds": round(booked, 1)}


class Marks:
    """What the benchmark stamps inside Jola: the first claim, and each send's answer and commit."""

    def __init__(self) -> None:
        self.first_claim: float | None = None
        self.claims: list[int] = []
        self.answered: dict[int, float] = {}  # outbox row -> when the Graph API's answer was read
        self.window: list[float] = []  # answer -> outcome committed, seconds


def instrument(pipeline: Any, marks: Marks) -> None:
    """Wrap the reminder worker's claim and the sender's send and group commit, without changing them."""
    import storage.reminders as store

    claim_due = store.claim_due

    async def claiming(session: Any, now: datetime, limit: int) -> list[Any]:
        rows = await claim_due(session, now, limit)
        if rows:
            marks.first_claim = marks.first_claim or time.time()
            marks.claims.append(len(rows))
        return rows

    store.claim_due = claiming  # bot.reminders reads it as store.claim_due at each call
    sender = pipeline.sender
    send, put = sender._send, sender._outcomes.put_nowait

    async def sending(row: Any) -> Any:
        outcome = await send(row)
        marks.answered[row.id] = time.perf_counter()
        return outcome

    def queued(item: Any) -> None:
        outcomes, recorded = item

        def committed(_: Any) -> None:
            now = time.perf_counter()
            marks.window.extend(
                now - marks.answered[o.row_id] for o in outcomes if o.row_id in marks.answered
            )

        recorded.add_done_callback(committed)  # set by the recorder right after its commit
        put(item)

    sender._send = sending
    sender._outcomes.put_nowait = queued


async def database_state(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import Message, Outbox, Reminder

    db = Database(url)
    try:
        async with db.read() as session:
            reminders = dict(
                (await session.execute(select(Reminder.state, func.count()).group_by(Reminder.state))).all()
            )
            outbox = dict(
                (await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all()
            )
            messages = await session.scalar(
                select(func.count()).where(Message.text.like(f"%{REMINDER_TEXT}%"))
            )
            queued_at = (
                await session.execute(select(func.min(Reminder.handled_at), func.max(Reminder.handled_at)))
            ).one()
    finally:
        await db.dispose()
    return {"reminders": reminders, "outbox": outbox, "reminder_messages": messages, "queued_at": queued_at}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


def git_state() -> dict[str, Any]:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot import keys
    from bot.app import create_app
    from bot.logs import setup_logging
    from bot.serve import settle_memory

    setup_logging(args.log_level)
    with tempfile.TemporaryDirectory(prefix="jola-reminders-") as tmp:
        child, graph_url = start_fake(Path(tmp) / "graph.log")
        try:
            url = f"sqlite+aiosqlite:///{tmp}/jola.db"
            config = config_for(url, graph_url, args)
            started = time.perf_counter()
            result: dict[str, Any] = {
                "count": args.count,
                "database": "sqlite",
                "sqlite_synchronous": args.sqlite_synchronous,
                **git_state(),
            }
            result.update(await fill(url, config, args.count))
            result["fill_seconds"] = round(time.perf_counter() - started, 1)

            clock = MovableClock(DUE - timedelta(minutes=1))
            app = create_app(config, clock=clock)  # type: ignore[arg-type]
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()  # the app's start: schema check, tenants, workers (nothing due yet)
            settle_memory()
            pipeline = app[keys.PIPELINE]
            marks = Marks()
            instrument(pipeline, marks)
            profile = cProfile.Profile() if args.profile else None
            cpu = sum(os.times()[:2])
            if profile:
                profile.enable()
            clock.jump_to(DUE + timedelta(seconds=1))
            woken = time.time()
            pipeline.reminders.wake()
            async with aiohttp.ClientSession() as http:
                wait = f"{graph_url}/wait?reminders={args.count}&timeout={args.timeout}"
                async with http.get(wait, timeout=aiohttp.ClientTimeout(total=args.timeout + 30)) as answer:
                    fake = await answer.json()
                await pipeline.settle()  # the last outcomes committed
                if profile:
                    profile.disable()
                used = sum(os.times()[:2]) - cpu
                await asyncio.sleep(1.0)  # anything sent twice would be on its way by now
                async with http.get(f"{graph_url}/summary") as answer:
                    fake = await answer.json()
            await runner.cleanup()
            state = await database_state(url)
        finally:
            child.kill()
            child.wait()
    first, last = marks.first_claim, fake["last"]
    assert first is not None and last is not None, "nothing was claimed or nothing arrived"
    queued_first, queued_last = state["queued_at"]
    result.update(
        {
            "wake_to_first_claim_ms": round((first - woken) * 1000, 1),
            "first_claim_to_first_send_ms": round((fake["first"] - first) * 1000, 1),
            "first_claim_to_all_sent_s": round(last - first, 2),
            "reminders_per_second": round(fake["reminders"] / (last - first), 0),
            "all_queued_s": round((queued_last - queued_first).total_seconds(), 2),
            "deciles_s": [round(t - first, 2) for t in fake["deciles"]],
            "claims": len(marks.claims),
            "reminders_received": fake["reminders"],
            "distinct_appointments": fake["distinct_appointments"],
            "distinct_recipients": fake["distinct_recipients"],
            "sent_twice": fake["sent_twice"],
            "other_calls": fake["other_calls"],
            "reminder_states": state["reminders"],
            "outbox_states": state["outbox"],
            "reminder_messages": state["reminder_messages"],
            "answer_to_commit_ms": spread(marks.window),
            "jola_cpu_seconds": round(used, 1),
            "fake_cpu_seconds": round(fake["cpu_seconds"], 1),
        }
    )
    if profile and args.profile:
        profile.dump_stats(args.profile)
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(25)
    return result


def report(result: dict[str, Any]) -> None:
    window = result["answer_to_commit_ms"]
    print()
    print(
        f"{'reminders':>9} {'claim→all sent':>14} {'per s':>7} {'all queued':>10} {'1st send':>9} "
        f"{'twice':>5} {'distinct':>8} {'jola cpu':>8}"
    )
    print(
        f"{result['reminders_received']:>9} {result['first_claim_to_all_sent_s']:>12.2f} s "
        f"{result['reminders_per_second']:>7.0f} {result['all_queued_s']:>8.2f} s "
        f"{result['first_claim_to_first_send_ms']:>6.0f} ms {result['sent_twice']:>5} "
        f"{result['distinct_appointments']:>8} {result['jola_cpu_seconds']:>6.1f} s"
    )
    print(f"arrivals by decile (s after the first claim): {result['deciles_s']}")
    print(
        f"answer → commit (a crash in it sends again): p50 {window.get('p50')} ms, "
        f"p99 {window.get('p99')} ms, max {window.get('max')} ms over {window['n']} sends"
    )
    print(
        f"database: reminders {result['reminder_states']}, outbox {result['outbox_states']}, "
        f"{result['reminder_messages']} reminder messages"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["bench", "fake-graph"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=10000, help="appointments (clients), one reminder each")
    parser.add_argument("--json", metavar="FILE", help="write the figures here")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the run (from the wake) into FILE")
    parser.add_argument("--sqlite-synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--reminder-batch", type=int, help="reminders.batch_size (default: Jola's)")
    parser.add_argument("--send-batch", type=int, help="sender.batch_size (default: Jola's)")
    parser.add_argument("--concurrency", type=int, help="sender.concurrency (default: Jola's)")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--timeout", type=float, default=600.0, help="longest wait for the sends, seconds")
    args = parser.parse_args()
    if args.role == "fake-graph":
        fake_graph()
        return
    result = asyncio.run(run(args))
    report(result)
    ok = result["sent_twice"] == 0 and result["distinct_appointments"] == args.count
    ok = ok and result["reminder_states"] == {"queued": args.count}
    ok = ok and set(result["outbox_states"]) == {"sent"}
    print("PASS" if ok else "FAIL", "(each reminder sent once, nothing left pending)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
