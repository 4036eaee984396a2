"""/api/v1/availability: the free starts the bot would offer, per service (and practitioner)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot import keys
from bot.api.auth import CALENDARS, TENANT
from bot.api.json import fail, iso, parse_moment, reply
from flows.desk import Desk

routes = web.RouteTableDef()

DEFAULT_SPAN = timedelta(days=7)


@routes.get("/api/v1/availability")
async def availability(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    profile, query = tenant.profile, request.query
    service = next((s for s in profile.services if s.key == query.get("service", "").strip()), None)
    if service is None:
        fail(
            400,
            f"service must be one of: {', '.join(s.key for s in profile.services) or '(none configured)'}",
        )
    who = query.get("practitioner", "").strip() or None
    if who is not None:
        found = profile.practitioner(who)
        if found is None:
            fail(
                400,
                f"practitioner must be one of: {', '.join(p.key for p in profile.practitioners) or '(none)'}",
            )
        if not found.does(service.key):
            fail(400, f"practitioner {who} does not perform {service.key}")
    now = request.app[keys.CLOCK].now()
    start = parse_moment(query["from"], tenant.zone, "from") if query.get("from", "").strip() else now
    end = (
        parse_moment(query["to"], tenant.zone, "to") if query.get("to", "").strip() else start + DEFAULT_SPAN
    )
    if len(query.get("to", "").strip()) == 10:
        end += timedelta(days=1)  # a date: that whole day
    if end <= start:
        fail(400, "to must be after from")
    horizon = now + profile.rules.max_ahead + timedelta(days=1)
    end = min(end, horizon)
    slots: list[dict[str, Any]] = []
    async with request.app[keys.DATABASE].read() as session:
        desk = Desk(session, profile, 0, None, now, actor="api", cache=request.app[CALENDARS])
        calendar = await desk.calendar(start, end, service=service)
        day, last = start.astimezone(tenant.zone).date(), end.astimezone(tenant.zone).date()
        while day <= last and start < end:
            for slot in calendar.on_day(service, now, day, who):
                if start <= slot.start < end:
                    chosen = who or calendar.pick(slot)
                    slots.append(
                        {
                            "start": iso(slot.start, tenant.zone),
                            "practitioner": _person(profile, chosen),
                            "practitioners": [_person(profile, k) for k in slot.practitioners],
                            "places_left": slot.places_left,
                        }
                    )
            day += timedelta(days=1)
    return reply({"slots": slots})


def _person(profile: Any, key: str | None) -> dict[str, str] | None:
    found = profile.practitioner(key)
    return None if found is None else {"id": found.key, "name": found.name}
