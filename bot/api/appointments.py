"""/api/v1/appointments: the calendar as integrations read it, staff-made bookings and cancellations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot import keys
from bot.api.auth import TENANT, ServiceSpec, Tenant
from bot.api.json import e164, fail, iso, json_body, parse_moment, path_id, phone_digits, reply
from flows.availability import Busy, clashes
from storage.appointments import (
    STATUSES,
    AppointmentView,
    busy_between,
    change_status,
    find_or_create_client,
    get_appointment,
    insert_appointment,
    list_appointments,
    lock_calendar,
    service_id,
)
from storage.clients import fill_client_name
from storage.db import Database

routes = web.RouteTableDef()

ACTOR = "api"
LIST_LIMIT = 1000
_CHANNEL = re.compile(r"[a-z][a-z0-9_-]{0,15}")


def appointment_json(view: AppointmentView, zone: ZoneInfo) -> dict[str, Any]:
    """The contract's appointment object; `service.id` is the service's config id."""
    client = None
    if view.client_id is not None:
        client = {"id": view.client_id, "name": view.client_name, "phone": e164(view.client_phone)}
    return {
        "id": view.id,
        "status": view.status,
        "start": iso(view.start, zone),
        "end": iso(view.end, zone),
        "service": {"id": view.service_key, "name": view.service_name},
        "client": client,
        "channel": view.channel,
    }


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

    service: ServiceSpec
    start: datetime
    name: str | None
    phone: str | None  # E.164
    channel: str | None

    @property
    def end(self) -> datetime:
        return self.start + self.service.duration


@routes.post("/api/v1/appointments")
async def create(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    booking = _read_booking(await json_body(request), tenant)
    now = request.app[keys.CLOCK].now()
    booked, clashes = await _book(request.app[keys.DATABASE], tenant, booking, now)
    if booked is None:
        fail(
            409,
            "slot taken",
            start=iso(booking.start, tenant.zone),
            end=iso(booking.end, tenant.zone),
            conflicts=[{"start": iso(b.start, tenant.zone), "end": iso(b.end, tenant.zone)} for b in clashes],
        )
    return reply(appointment_json(booked, tenant.zone), status=201)


def _read_booking(body: dict[str, Any], tenant: Tenant) -> NewBooking:
    """Check the body field by field; each problem is a 400 naming the field."""
    key = body.get("service")
    if not isinstance(key, str) or key not in tenant.services:
        fail(400, f"service must be one of: {', '.join(tenant.services) or '(none configured)'}")
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
    return NewBooking(tenant.services[key], start, name, phone, channel)


async def _book(
    db: Database, tenant: Tenant, booking: NewBooking, now: datetime
) -> tuple[AppointmentView | None, list[Busy]]:
    """Book under the calendar lock; (None, clashes) when the time is taken. Staff may book outside
    opening hours or inside the notice period, so only clashes (buffers included) refuse a booking."""
    try:
        async with db.write() as session:
            await lock_calendar(session, tenant.id)
            start, end = booking.start, booking.end
            rows = await busy_between(session, tenant.id, start - tenant.buffer, end + tenant.buffer)
            found = clashes([Busy(s, e) for s, e in rows], start, end, tenant.buffer)
            if found:
                return None, found
            db_service = await service_id(session, tenant.id, booking.service.key)
            if db_service is None:
                fail(400, f"service {booking.service.key} is not set up yet")
            client_id = await find_or_create_client(
                session, tenant.id, name=booking.name, phone=booking.phone, now=now
            )
            if booking.name:
                await fill_client_name(session, tenant.id, client_id, booking.name, now)
            appointment_id = await insert_appointment(
                session,
                business_id=tenant.id,
                service_id=db_service,
                client_id=client_id,
                channel=booking.channel,
                start=start,
                end=end,
                actor=ACTOR,
                now=now,
            )
            return await get_appointment(session, tenant.id, appointment_id), []
    except IntegrityError:
        return None, []  # the unique index caught a clash the lock should already have stopped


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
