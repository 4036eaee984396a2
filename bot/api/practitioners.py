"""/api/v1/practitioners: who clients book with, and their time off.

Time off over active appointments is refused with the list of those appointments, or, asked for with
`"keep_appointments": true`, recorded with them listed as `affected`: never cancelled silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.api.appointments import appointment_json
from bot.api.auth import TENANT, Tenant
from bot.api.json import fail, iso, json_body, parse_moment, path_id, reply
from storage.appointments import ACTIVE, list_appointments, lock_calendar
from storage.models import Practitioner
from storage.time_off import Away, add_time_off, remove_time_off, time_off_of

routes = web.RouteTableDef()

ACTOR = "api"
NOTE_LIMIT = 200
LONGEST = timedelta(days=366)  # one period of time off; longer is more likely a typo than a sabbatical


@routes.get("/api/v1/practitioners")
async def list_(request: web.Request) -> web.Response:
    profile = request[TENANT].profile
    every = [s.key for s in profile.services]
    return reply(
        {
            "practitioners": [
                {"id": p.key, "name": p.name, "services": [k for k in every if p.does(k)]}
                for p in profile.practitioners
            ]
        }
    )


@routes.get("/api/v1/practitioners/{practitioner}/time-off")
async def time_off(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    async with request.app[keys.DATABASE].read() as session:
        row_id = await _practitioner_id(session, tenant, request.match_info["practitioner"])
        periods = await time_off_of(session, tenant.id, row_id)
    return reply({"time_off": [_period_json(p, tenant) for p in periods]})


@routes.post("/api/v1/practitioners/{practitioner}/time-off")
async def add(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    key = request.match_info["practitioner"]
    body = await json_body(request)
    start, end = _read_period(body, tenant)
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_LIMIT):
        fail(400, f"note must be text of at most {NOTE_LIMIT} characters")
    keep = body.get("keep_appointments", False)
    if not isinstance(keep, bool):
        fail(400, "keep_appointments must be true or false")
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].write() as session:
        await lock_calendar(session, tenant.id)  # no booking lands in the period while it is checked
        row_id = await _practitioner_id(session, tenant, key)
        booked = [
            a
            for a in await list_appointments(session, tenant.id, start=start, end=end)
            if a.practitioner_key == key and a.status in ACTIVE
        ]
        affected = [appointment_json(a, tenant.zone) for a in booked]
        if affected and not keep:
            fail(
                409,
                f"{len(affected)} active appointment(s) with {key} fall in this time off; move or cancel "
                'them first, or send "keep_appointments": true to record it and keep them',
                appointments=affected,
            )
        added = await add_time_off(
            session, tenant.id, row_id, start=start, end=end, note=note or None, actor=ACTOR, now=now
        )
    period = Away(added, key, start, end, note or None)
    return reply({**_period_json(period, tenant), "affected": affected}, status=201)


@routes.delete("/api/v1/practitioners/{practitioner}/time-off/{id}")
async def remove(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    time_off_id = path_id(request)
    async with request.app[keys.DATABASE].write() as session:
        row_id = await _practitioner_id(session, tenant, request.match_info["practitioner"])
        if not await remove_time_off(session, tenant.id, row_id, time_off_id):
            fail(404, "time off not found")
    return web.Response(status=204)


def _read_period(body: dict[str, Any], tenant: Tenant) -> tuple[datetime, datetime]:
    """`from` and `to` as dates (whole local days, `to` included) or date-times (`[from, to)`)."""
    raw = {name: body.get(name) for name in ("from", "to")}
    for name, value in raw.items():
        if not isinstance(value, str):
            fail(400, f"{name} must be an ISO 8601 date or date-time, e.g. 2026-12-24 or 2026-12-24T12:00")
    start = parse_moment(raw["from"], tenant.zone, "from")
    end = parse_moment(raw["to"], tenant.zone, "to")
    if len(raw["to"].strip()) == 10:  # a date: the whole of that day is off
        day = datetime.fromisoformat(raw["to"].strip()).date() + timedelta(days=1)
        end = datetime.combine(day, datetime.min.time(), tenant.zone).astimezone(end.tzinfo)
    if end <= start:
        fail(400, "to must be after from")
    if end - start > LONGEST:
        fail(400, "to must be within a year of from")
    return start, end


async def _practitioner_id(session: Any, tenant: Tenant, key: str) -> int:
    if tenant.profile.practitioner(key) is None:
        fail(404, "practitioner not found")
    found = await session.execute(
        select(Practitioner.id).where(Practitioner.business_id == tenant.id, Practitioner.key == key)
    )
    row_id = found.scalar()
    if row_id is None:
        fail(404, "practitioner not found")
    return int(row_id)


def _period_json(period: Away, tenant: Tenant) -> dict[str, Any]:
    return {
        "id": period.id,
        "practitioner": period.practitioner,
        "start": iso(period.start, tenant.zone),
        "end": iso(period.end, tenant.zone),
        "note": period.note,
    }
