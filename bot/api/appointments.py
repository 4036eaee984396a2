"""/api/v1/appointments: the calendar as integrations read it, staff-made bookings and cancellations."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import keys
from bot.api.auth import CALENDARS, TENANT, Tenant
from bot.api.json import e164, fail, iso, json_body, parse_moment, path_id, phone_digits, reply
from bot.bookings import NewBooking, Refused, book, cancel, check_practitioner
from bot.notices import tell_client
from storage.appointments import (
    STATUSES,
    AppointmentView,
    list_appointments,
)
from storage.clients import looks_like_email

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
        views = await list_appointments(  # the playground's test bookings are not the business's
            session, tenant.id, start=start, end=end, status=status, limit=LIST_LIMIT, test=False
        )
    return reply({"appointments": [appointment_json(v, tenant.zone) for v in views]})


@routes.post("/api/v1/appointments")
async def create(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    booking = _read_booking(await json_body(request), tenant)
    now = request.app[keys.CLOCK].now()
    try:
        booked = await book(request.app[keys.DATABASE], request.app[CALENDARS], tenant, booking, now, ACTOR)
    except Refused as refused:
        fail(refused.status, refused.message, **refused.extra)
    told = await tell_client(request.app, tenant, booked, "booked")
    return reply({**appointment_json(booked, tenant.zone), "client_told": told}, status=201)


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
    email = client.get("email")
    if email is not None and (not isinstance(email, str) or not looks_like_email(email.strip())):
        fail(400, "client.email must be an email address like anna@example.org")
    channel = body.get("channel")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.fullmatch(channel)):
        fail(400, "channel must be a short lowercase name like whatsapp, phone or walk_in")
    try:
        practitioner = check_practitioner(tenant, service, body.get("practitioner"))
    except Refused as refused:
        fail(refused.status, refused.message)
    return NewBooking(
        service, start, name, phone, channel, practitioner, email=email.strip() if email else None
    )


@routes.post("/api/v1/appointments/{id}/cancel")
async def cancel_(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    appointment_id = path_id(request)
    try:
        view = await cancel(
            request.app[keys.DATABASE], tenant, appointment_id, request.app[keys.CLOCK].now(), ACTOR
        )
    except Refused as refused:
        fail(refused.status, refused.message, **refused.extra)
    told = await tell_client(request.app, tenant, view, "cancelled")
    return reply({**appointment_json(view, tenant.zone), "client_told": told})
