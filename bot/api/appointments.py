"""/api/v1/appointments: the calendar as integrations read it, staff-made bookings and cancellations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot import keys
from bot.api.auth import CALENDARS, TENANT, Tenant
from bot.api.json import e164, fail, iso, json_body, parse_moment, path_id, phone_digits, reply
from flows.availability import Busy, clashes
from flows.calendar_cache import CalendarCache
from flows.calendars import Calendar, Slot
from flows.context import ServiceInfo
from flows.desk import Desk
from storage.appointments import (
    STATUSES,
    AppointmentView,
    change_status,
    find_or_create_client,
    get_appointment,
    list_appointments,
    lock_calendar,
)
from storage.clients import fill_client_name
from storage.db import Database

routes = web.RouteTableDef()

ACTOR = "api"
LIST_LIMIT = 1000
_CHANNEL = re.compile(r"[a-z][a-z0-9_-]{0,15}")


def appointment_json(view: AppointmentView, zone: ZoneInfo) -> dict[str, Any]:
    """The contract's appointment object; `service.id` and `practitioner.id` are config ids."""
    client = None
    if view.client_id is not None:
        client = {"id": view.client_id, "name": view.client_name, "phone": e164(view.client_phone)}
    return {
        "id": view.id,
        "status": view.status,
        "start": iso(view.start, zone),
        "end": iso(view.end, zone),
        "service": {"id": view.service_key, "name": view.service_name},
        "practitioner": resource_json(view.practitioner_key, view.practitioner_name),
        "room": resource_json(view.room_key, view.room_name),
        "client": client,
        "channel": view.channel,
    }


def resource_json(key: str | None, name: str | None) -> dict[str, Any] | None:
    return None if key is None else {"id": key, "name": name}


@routes.get("/api/v1/appointments")
async def list_(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    query = request.query
    start = parse_moment(query["from"], tenant.zone, "from") if query.get("from", "").strip() else None
    end = parse_moment(query["to"], tenant.zone, "to") if query.get("to", "").strip() else None
    if start is not None and end is not None and start > end:
        fail(400, "from must not be after to")
    status = query.get("status", "").strip() or None
    if status is not None and status not in STATUSES:
        fail(400, f"status must be one of {', '.join(STATUSES)}")
    async with request.app[keys.DATABASE].read() as session:
        views = await list_appointments(
            session, tenant.id, start=start, end=end, status=status, limit=LIST_LIMIT
        )
    return reply({"appointments": [appointment_json(v, tenant.zone) for v in views]})


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A validated staff booking request."""

    service: ServiceInfo
    start: datetime
    name: str | None
    phone: str | None  # E.164
    channel: str | None
    practitioner: str | None  # a config id, checked to perform the service

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.service.duration_minutes)


@routes.post("/api/v1/appointments")
async def create(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    booking = _read_booking(await json_body(request), tenant)
    now = request.app[keys.CLOCK].now()
    booked = await _book(request.app[keys.DATABASE], request.app[CALENDARS], tenant, booking, now)
    return reply(appointment_json(booked, tenant.zone), status=201)


def _read_booking(body: dict[str, Any], tenant: Tenant) -> NewBooking:
    """Check the body field by field; each problem is a 400 naming the field."""
    key = body.get("service")
    services = tenant.profile.services
    service = next((s for s in services if s.key == key), None)
    if service is None:
        fail(400, f"service must be one of: {', '.join(s.key for s in services) or '(none configured)'}")
    raw_start = body.get("start")
    if not isinstance(raw_start, str):
        fail(400, "start must be an ISO 8601 date-time, e.g. 2026-11-26T10:00:00+01:00")
    start = parse_moment(raw_start, tenant.zone, "start", allow_date=False)
    client = body.get("client")
    if not isinstance(client, dict):
        fail(400, 'client must be an object like {"name": "...", "phone": "+4512345678"}')
    name, phone = client.get("name"), client.get("phone")
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 200):
        fail(400, "client.name must be text of at most 200 characters")
    name = name.strip() if name and name.strip() else None
    if phone is not None:
        digits = phone_digits(phone) if isinstance(phone, str) else None
        if digits is None:
            fail(400, "client.phone must be an E.164 number: + and 8 to 15 digits, e.g. +4512345678")
        phone = f"+{digits}"
    if name is None and phone is None:
        fail(400, "client needs a name or a phone")
    channel = body.get("channel")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.fullmatch(channel)):
        fail(400, "channel must be a short lowercase name like whatsapp, phone or walk_in")
    return NewBooking(service, start, name, phone, channel, _read_practitioner(body, tenant, service))


def _read_practitioner(body: dict[str, Any], tenant: Tenant, service: ServiceInfo) -> str | None:
    key = body.get("practitioner")
    if key is None:
        return None
    profile = tenant.profile
    if not profile.practitioners:
        fail(400, "practitioner: this business has no practitioners configured")
    found = profile.practitioner(key) if isinstance(key, str) else None
    if found is None:
        fail(400, f"practitioner must be one of: {', '.join(p.key for p in profile.practitioners)}")
    if not found.does(service.key):
        doers = ", ".join(p.key for p in profile.qualified(service.key)) or "nobody"
        fail(400, f"practitioner {found.key} does not perform {service.key} (who does: {doers})")
    return found.key


async def _book(
    db: Database, calendars: CalendarCache, tenant: Tenant, booking: NewBooking, now: datetime
) -> AppointmentView:
    """Book under the calendar lock, through the desk the bot books with. Staff may book outside opening
    hours or inside the notice period, so only clashes refuse a booking: the practitioner's appointments
    (buffers included), their time off, a class that is full, no fitting room free."""
    try:
        async with db.write() as session:
            await lock_calendar(session, tenant.id)
            client_id = await find_or_create_client(
                session, tenant.id, name=booking.name, phone=booking.phone, now=now
            )
            if booking.name:
                await fill_client_name(session, tenant.id, client_id, booking.name, now)
            desk = Desk(
                session, tenant.profile, client_id, booking.channel, now, actor=ACTOR, cache=calendars
            )
            calendar = await desk.calendar(booking.start, booking.end, service=booking.service)
            if booking.service.is_class:
                practitioner = _class_place(calendar, booking)
            else:
                practitioner = _free_practitioner(calendar, tenant, booking)
            appointment_id = await desk.book(booking.service, booking.start, None, practitioner=practitioner)
            found = await get_appointment(session, tenant.id, appointment_id)
            assert found is not None
            return found
    except IntegrityError:
        # A unique index caught a clash the lock should already have stopped.
        fail(409, "slot taken", start=iso(booking.start, tenant.zone), end=iso(booking.end, tenant.zone))


def _class_place(calendar: Calendar, booking: NewBooking) -> str | None:
    """Who holds the class session at the booking's start; a 400 or 409 when there is none or it is full."""
    service = booking.service
    session = calendar.session_at(service, booking.start)
    if session is None:
        fail(400, f"start: no {service.key} session starts then")
    if booking.practitioner is not None and session.practitioner != booking.practitioner:
        fail(400, f"practitioner: that {service.key} session is held by {session.practitioner}")
    if session.practitioner and calendar.is_away(session.practitioner, session.start, session.end):
        fail(409, "practitioner away", practitioner=session.practitioner)
    if calendar.places_left(service, booking.start) <= 0:
        fail(409, "class full", places_left=0)
    return session.practitioner


def _free_practitioner(calendar: Calendar, tenant: Tenant, booking: NewBooking) -> str | None:
    """The practitioner asked for if free, else whoever the bot's rule picks among those free; None for a
    business that is one calendar. A 409 names what is in the way."""
    service, start, end = booking.service, booking.start, booking.end
    if booking.practitioner is not None:
        people: list[str | None] = [booking.practitioner]
    elif tenant.profile.practitioners:
        people = [p.key for p in tenant.profile.qualified(service.key)]
    else:
        people = [None]
    free: list[str | None] = []
    in_the_way: list[Busy] = []
    away = []
    for key in people:
        if key is not None and calendar.is_away(key, start, end):
            away.append(key)
            continue
        found = clashes(calendar.busy_of(key), start, end, tenant.buffer)
        if found:
            in_the_way.extend(found)
        else:
            free.append(key)
    if not free:
        zone = tenant.zone
        conflicts = [{"start": iso(b.start, zone), "end": iso(b.end, zone)} for b in in_the_way]
        if away and not in_the_way:
            fail(
                409,
                "practitioner away",
                practitioner=away[0] if len(away) == 1 else None,
                start=iso(start, zone),
            )
        fail(409, "slot taken", start=iso(start, zone), end=iso(end, zone), conflicts=conflicts)
    rooms = calendar.rooms_busy(service)
    if rooms is not None and all(clashes(room, start, end, tenant.buffer) for room in rooms):
        fail(409, "no room free", start=iso(start, tenant.zone), end=iso(end, tenant.zone))
    if free == [None]:
        return None
    return calendar.pick(Slot(start, tuple(k for k in free if k is not None)))


@routes.post("/api/v1/appointments/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    appointment_id = path_id(request)
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].write() as session:
        await lock_calendar(session, tenant.id)  # one change at a time: a double cancel is one 200, one 409
        view = await get_appointment(session, tenant.id, appointment_id)
        if view is None:
            fail(404, "appointment not found")
        if not await change_status(
            session, tenant.id, appointment_id, to="cancelled", actor=ACTOR, action="cancelled", now=now
        ):
            fail(409, f"cannot cancel an appointment that is {view.status}", status=view.status)
        view = await get_appointment(session, tenant.id, appointment_id)
    assert view is not None
    return reply(appointment_json(view, tenant.zone))
