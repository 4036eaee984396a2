#!/usr/bin/env python3
"""The first offer of free times in a busy multi-practitioner clinic, as the bot computes it:

    .venv/bin/python benchmarks/availability.py [--offers 2000] [--postgres URL] [--json FILE]

The workload the practitioners issue names: 10 practitioners (different services and hours), 3 rooms,
5,000 active appointments in the next 60 days, clients asking for their first offer one after another.
Each offer is what `PicksATime.ask_time` asks for when a client has just picked a service: the desk's
`soonest(service, 24, who=..., hours=4)` (up to 24 starts, enough once four hours are among them; the
flow offers one start per hour), read in its own transaction
from a real database file (or PostgreSQL), for a different client each time (each has their own "the one
you saw last"), a random service, and in 3 of 10 cases a named practitioner. The figure is the wall time
of that call, session included; the target is p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text

from bot.clock import Clock
from bot.config import parse_config
from bot.serve import settle_memory
from bot.tenants import business_profile, sync_tenants
from flows.calendar_cache import CalendarCache
from flows.desk import Desk
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Appointment, Client, Practitioner, Room, Service

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Monday 08:00 in Copenhagen
DAY = ["08:00-12:00", "12:30-18:00"]
SERVICES = [  # id, minutes, needs a room, how often booked
    ("massage", 60, True, 2),
    ("sports-massage", 45, False, 2),
    ("physio-first", 45, False, 2),
    ("physio", 30, False, 5),
    ("acupuncture", 30, True, 1),
    ("consultation", 20, False, 2),
]


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


def clinic(url: str, schema: str | None) -> dict[str, Any]:
    practitioners = []
    for i in range(10):
        services = [s for j, (s, *_) in enumerate(SERVICES) if (i + j) % 3 != 0]
        hours = {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")}
        if i % 4 == 1:
            hours = {d: ["08:00-13:00"] for d in ("mon", "wed", "fri")}  # part-time
        practitioners.append(
            {"id": f"p{i}", "name": f"Practitioner {i}", "services": services, "hours": hours}
        )
    database: dict[str, Any] = {"url": url, "sqlite_synchronous": "NORMAL"}
    if schema:
        database["postgres_schema"] = schema
    return {
        "database": database,
        "businesses": [
            {
                "id": "bench-clinic",
                "name": "Bench Clinic",
                "hours": {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["09:00-14:00"]},
                "booking": {"slot_step_minutes": 15, "min_notice": "2h", "max_ahead": "60d"},
                "services": [{"id": s, "name": s.title(), "duration_minutes": d} for s, d, *_ in SERVICES],
                "practitioners": practitioners,
                "rooms": [
                    {"id": f"room-{k}", "name": f"Room {k}", "services": [s for s, _, r, _ in SERVICES if r]}
                    for k in range(3)
                ],
            }
        ],
    }


async def fill(db: Database, profile: Any, appointments: int, clients: int, rng: random.Random) -> int:
    """`appointments` active appointments over the next 60 days, none overlapping for its practitioner
    or room, spread over `clients` clients."""
    async with db.write() as session:
        ids = dict((await session.execute(select(Service.key, Service.id))).all())
        people = dict((await session.execute(select(Practitioner.key, Practitioner.id))).all())
        rooms = dict((await session.execute(select(Room.key, Room.id))).all())
        result = await session.execute(
            insert(Client).returning(Client.id),
            [
                {"business_id": profile.id, "name": f"Client {n}", "created_at": NOW, "updated_at": NOW}
                for n in range(clients)
            ],
        )
        client_ids = [row[0] for row in result]
        rows: list[dict[str, Any]] = []
        busy_room: dict[str, list[tuple[datetime, datetime]]] = {r: [] for r in rooms}
        zone = profile.rules.zone

        def weekly_hours(person: Any) -> float:
            return sum(
                ((e.hour * 60 + e.minute if e else 1440) - (b.hour * 60 + b.minute)) / 60
                for ranges in person.rules.hours.values()
                for b, e in ranges
            )

        total = sum(weekly_hours(p) for p in profile.practitioners)
        for person in profile.practitioners:
            per_person = round(appointments * weekly_hours(person) / total)  # as busy as the others
            often = {key: weight for key, _, _, weight in SERVICES}
            mine = [s for s in profile.services if person.does(s.key) for _ in range(often[s.key])]
            placed, tries = 0, 0
            busy: list[tuple[datetime, datetime]] = []
            while placed < per_person and tries < per_person * 200:
                tries += 1
                day = (NOW + timedelta(days=rng.randrange(0, 60))).astimezone(zone).date()
                ranges = person.rules.hours.get(day.weekday())
                if not ranges:
                    continue
                begin, end = rng.choice(ranges)
                service = rng.choice(mine)
                slots = (((end.hour if end else 24) - begin.hour) * 60 - service.duration_minutes) // 15
                if slots < 0:
                    continue
                start = datetime.combine(day, begin, zone) + timedelta(minutes=15 * rng.randrange(slots + 1))
                finish = start + timedelta(minutes=service.duration_minutes)
                if start < NOW + timedelta(hours=2) or any(s < finish and start < e for s, e in busy):
                    continue
                room = None
                if profile.rooms_for(service.key):
                    room = next(
                        (r for r in rooms if not any(s < finish and start < e for s, e in busy_room[r])), None
                    )
                    if room is None:
                        continue
                    busy_room[room].append((start, finish))
                busy.append((start, finish))
                rows.append(
                    {
                        "business_id": profile.id,
                        "service_id": ids[service.key],
                        "client_id": rng.choice(client_ids),
                        "channel": "whatsapp",
                        "practitioner_id": people[person.key],
                        "room_id": rooms[room] if room else None,
                        "seat": 1,
                        "start_at": start,
                        "end_at": finish,
                        "status": rng.choice(("booked", "confirmed")),
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
                placed += 1
        await session.execute(insert(Appointment), rows)
        return len(rows)


async def book_one(
    db: Database, profile: Any, client_id: int, slot: Any, service: Any, rng: random.Random
) -> None:
    """Someone books the first time offered (as the flow does: under the lock, through the desk) and
    someone else cancels, so the clinic stays as busy as it was; the calendar changes twice, and the next
    offer finds its kept calendar behind."""
    async with db.write() as session:
        desk = Desk(session, profile, client_id, "whatsapp", NOW)
        free = await desk.is_free(service, slot.start, lock=True, who=slot.chosen)
        if free is not None:
            await desk.book(service, slot.start, None, practitioner=slot.chosen)
        active = select(Appointment.id).where(Appointment.status.in_(("booked", "confirmed")))
        ids = list((await session.execute(active)).scalars())
        await desk.cancel(rng.choice(ids))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        url = f"sqlite+aiosqlite:///{tmp}/jola.db"
        if args.postgres:
            url, schema = args.postgres, f"bench_{int(time.time())}"
            admin = Database(url)
            async with admin.engine.begin() as conn:
                await conn.execute(text(f"CREATE SCHEMA {schema}"))
            await admin.dispose()
        config = parse_config(clinic(url, schema), environ={})
        db = Database(url, schema=schema)
        try:
            await upgrade(db)
            await sync_tenants(db, config, FixedClock())
            profile = business_profile(config.businesses[0])
            stored = await fill(db, profile, args.appointments, args.clients, rng)
            async with db.read() as session:
                client_ids = list((await session.execute(select(Client.id))).scalars())
            cache = None if args.no_cache else CalendarCache()  # the handler's, kept between turns
            settle_memory()  # the collector set up as `jola serve` does it once the app has started
            timings, empty = [], 0
            for n in range(args.offers + args.warmup):
                service = rng.choice(profile.services)
                qualified = profile.qualified(service.key)
                who = rng.choice(qualified).key if rng.random() < 0.3 else None
                started = time.perf_counter()
                async with db.read() as session:
                    desk = Desk(session, profile, rng.choice(client_ids), "whatsapp", NOW, cache=cache)
                    offered = await desk.soonest(service, 24, who=who, hours=4)
                elapsed = (time.perf_counter() - started) * 1000
                empty += not offered  # a practitioner booked up to the horizon: the whole horizon was read
                if offered and args.book_every and n % args.book_every == 0:
                    await book_one(db, profile, rng.choice(client_ids), offered[0], service, rng)
                if n >= args.warmup:
                    timings.append(elapsed)
        finally:
            await db.dispose()
            if schema:
                admin = Database(url)
                async with admin.engine.begin() as conn:
                    await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                await admin.dispose()
    timings.sort()
    return {
        "database": "postgresql" if args.postgres else "sqlite",
        "practitioners": 10,
        "rooms": 3,
        "appointments": stored,
        "offers": len(timings),
        "booking_every": args.book_every,
        "empty_offers": empty,
        "calendar_cache": not args.no_cache,
        "ms": {
            "p50": round(statistics.median(timings), 2),
            "p95": round(timings[int(len(timings) * 0.95) - 1], 2),
            "p99": round(timings[int(len(timings) * 0.99) - 1], 2),
            "max": round(timings[-1], 2),
        },
        "target_p99_ms": 20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--book-every", type=int, default=5, help="a booking after every N offers (0: none); default 5"
    )
    parser.add_argument("--postgres", help="a postgresql+asyncpg:// URL (a schema is made and dropped)")
    parser.add_argument("--no-cache", action="store_true", help="read the database for every offer")
    parser.add_argument("--json", help="write the result here too")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
