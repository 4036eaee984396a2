"""The staff app's home page: today and this week at a glance, what needs a person, and the last 30 days
as charts (server-rendered SVG: no chart library, no outside requests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import keys
from bot.web.door import STAFF
from bot.web.ids import path_id
from bot.web.pages import render, tenant_of
from storage import channel_states
from storage.appointments import ACTIVE, list_appointments
from storage.conversation_views import inbox_counts
from storage.overview import figures
from storage.reminders import not_sent_since

routes = web.RouteTableDef()
CHANNELS = ("whatsapp", "messenger", "instagram", "staff", "api", "other")
CHART_HEIGHT = 120
MISSED_FOR = timedelta(days=7)  # reminders that did not go out are shown this long


@routes.get("/")
async def overview(request: web.Request) -> web.StreamResponse:
    staff, tenant = request[STAFF], tenant_of(request)
    zone = tenant.zone
    now = request.app[keys.CLOCK].now()
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, datetime.min.time(), zone)
    async with request.app[keys.DATABASE].read() as session:
        week = await list_appointments(
            session, tenant.id, start=start, end=start + timedelta(days=7), test=False
        )
        counts = await inbox_counts(session, tenant.id, staff.id)
        found = await figures(session, tenant.id, zone, today)
        missed = await not_sent_since(session, tenant.id, now - MISSED_FOR)
        disconnected = await channel_states.disconnected(session, tenant.id)
    week = [a for a in week if a.status in ACTIVE]
    todays = [a for a in week if a.start.astimezone(zone).date() == today]
    return render(
        request,
        "overview.html",
        todays=todays,
        upcoming_today=[a for a in todays if a.end > now],
        week_count=len(week),
        counts=counts,
        figures=found,
        bars=_bars(found),
        channels=[c for c in CHANNELS if any(c in day for day in found.booked.values())],
        share=round(100 * found.bot_only / found.conversations) if found.conversations else None,
        chart_height=CHART_HEIGHT,
        missed=missed,
        disconnected=disconnected,
    )


@routes.post("/channels/{id}/turn-on")
async def turn_on(request: web.Request) -> web.StreamResponse:
    """The owner says the app is connected at Meta again (after Meta's deauthorize): sending resumes."""
    staff = request[STAFF]
    if not staff.is_owner:
        raise web.HTTPForbidden(text="only the business's owner turns a channel back on")
    channel_id = path_id(request, "channel")
    async with request.app[keys.DATABASE].write() as session:
        if not await channel_states.turn_on(session, staff.business_id, channel_id):
            raise web.HTTPNotFound(text="no disconnected channel with that id")
    raise web.HTTPSeeOther("/")


def _bars(found: Any) -> list[dict[str, Any]]:
    """Each day's stacked bar: one segment per channel, scaled to the busiest day."""
    most = max((sum(day.values()) for day in found.booked.values()), default=0) or 1
    bars = []
    for index, day in enumerate(found.days):
        top = CHART_HEIGHT
        segments = []
        for channel in CHANNELS:
            count = found.booked[day].get(channel, 0)
            if count:
                height = round(count / most * (CHART_HEIGHT - 10), 1)
                top -= height
                segments.append({"channel": channel, "y": round(top, 1), "height": height, "count": count})
        bars.append(
            {"x": index * 12, "day": day, "total": sum(found.booked[day].values()), "segments": segments}
        )
    return bars
