"""Bookings staff make by hand (the REST API, the staff app's calendar): booked and cancelled under the
calendar lock, through the desk the bot books with, so "one slot, one booking" holds whoever books.

Staff may book outside opening hours or inside the notice period, so only clashes refuse a booking: the
practitioner's appointments (buffers included), their time off, a class that is full, no fitting room
free. A refusal is a `Refused` with the HTTP status the API answers and what is in the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.api.auth import Tenant
from bot.api.json import iso
from flows.availability import Busy, clashes
from flows.calendar_cache import CalendarCache
from flows.calendars import Calendar, Slot
from flows.context import ServiceInfo
from flows.desk import Desk
from storage.appointments import (
    ACTIVE,
    AppointmentView,
    change_status,
    find_or_create_client,
    get_appointment,
    list_appointments,
    lock_calendar,
)
from storage.clients import fill_client_email, fill_client_name
from storage.db import Database


class Refused(Exception):
    def __init__(self, status: int, message: str, /, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A validated staff booking request."""

    service: ServiceInfo
    start: datetime
    name: str | None
    phone: str | None  # E.164
    channel: str | None
    practitioner: str | None  # a config id, checked to perform the service
    client_id: int | None = field(default=None)  # an existing client of the business, chosen by staff
    email: str | None = None  # where confirmations and reminders may also go (with a calendar file)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.service.duration_minutes)


# How far from today staff may book or move an appointment: a year-1 or year-9999 start is a typo, and
# one out of datetime's reach breaks every sum made with it.
EARLIEST = timedelta(days=2 * 366)
LATEST = timedelta(days=5 * 366)


def check_start(start: datetime, now: datetime) -> None:
    """A start within two years back and five years ahead of `now`, else a 400 naming the field."""
    if not now - EARLIEST <= start <= now + LATEST:
        raise Refused(400, "start must be within 2 years before and 5 years after today")


def check_practitioner(tenant: Tenant, service: ServiceInfo, key: object) -> str | None:
    """The practitioner staff asked for, checked to exist and perform the service."""
    if key is None:
        return None
    profile = tenant.profile
    if not profile.practitioners:
        raise Refused(400, "practitioner: this business has no practitioners configured")
    found = profile.practitioner(key) if isinstance(key, str) else None
    if found is None:
        raise Refused(400, f"practitioner must be one of: {', '.join(p.key for p in profile.practitioners)}")
    if not found.does(service.key):
        doers = ", ".join(p.key for p in profile.qualified(service.key)) or "nobody"
        raise Refused(400, f"practitioner {found.key} does not perform {service.key} (who does: {doers})")
    return found.key


async def book(
    db: Database, calendars: CalendarCache, tenant: Tenant, booking: NewBooking, now: datetime, actor: str
) -> AppointmentView:
    check_start(booking.start, now)
    try:
        async with db.write() as session:
            await lock_calendar(session, tenant.id)
            client_id = booking.client_id
            if client_id is None:
                client_id = await find_or_create_client(
                    session, tenant.id, name=booking.name, phone=booking.phone, now=now
                )
            if booking.name:
                await fill_client_name(session, tenant.id, client_id, booking.name, now)
            if booking.email:
                await fill_client_email(session, tenant.id, client_id, booking.email, now)
            already = await list_appointments(
                session, tenant.id, start=booking.start, end=booking.end, client_id=client_id
            )
            if any(a.status in ACTIVE and a.start < booking.end and booking.start < a.end for a in already):
                # A second click on "Book", or a resend: the client is booked then already.
                raise Refused(409, "client already booked then", start=iso(booking.start, tenant.zone))
            desk = Desk(
                session, tenant.profile, client_id, booking.channel, now, actor=actor, cache=calendars
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
        raise Refused(
            409, "slot taken", start=iso(booking.start, tenant.zone), end=iso(booking.end, tenant.zone)
        ) from None


async def cancel(
    db: Database, tenant: Tenant, appointment_id: int, now: datetime, actor: str
) -> AppointmentView:
    async with db.write() as session:
        await lock_calendar(session, tenant.id)  # one change at a time: a double cancel is one 200, one 409
        view = await get_appointment(session, tenant.id, appointment_id)
        if view is None:
            raise Refused(404, "appointment not found")
        if not await change_status(
            session, tenant.id, appointment_id, to="cancelled", actor=actor, action="cancelled", now=now
        ):
            raise Refused(409, f"cannot cancel an appointment that is {view.status}", status=view.status)
        view = await get_appointment(session, tenant.id, appointment_id)
    assert view is not None
    return view


async def move(
    db: Database,
    calendars: CalendarCache,
    tenant: Tenant,
    appointment_id: int,
    start: datetime,
    practitioner: str | None,
    now: datetime,
    actor: str,
) -> tuple[AppointmentView, AppointmentView]:
    """Move an active appointment to `start` (and to `practitioner`, when given), under the same rules as
    a new staff booking; returns the appointment before and after."""
    check_start(start, now)
    try:
        async with db.write() as session:
            await lock_calendar(session, tenant.id)
            before = await get_appointment(session, tenant.id, appointment_id)
            if before is None:
                raise Refused(404, "appointment not found")
            if before.status not in ("booked", "confirmed"):
                raise Refused(
                    409, f"cannot move an appointment that is {before.status}", status=before.status
                )
            service = next((s for s in tenant.profile.services if s.key == before.service_key), None)
            if service is None:
                raise Refused(409, "its service is no longer offered")
            wanted = NewBooking(service, start, None, None, before.channel, practitioner, before.client_id)
            desk = Desk(
                session,
                tenant.profile,
                before.client_id or 0,
                before.channel,
                now,
                actor=actor,
                cache=calendars,
            )
            calendar = await desk.calendar(start, wanted.end, ignore=appointment_id, service=service)
            chosen = (
                _class_place(calendar, wanted)
                if service.is_class
                else _free_practitioner(calendar, tenant, wanted)
            )
            if not await desk.move(before, start, chosen):
                raise Refused(409, "the appointment changed meanwhile")
            after = await get_appointment(session, tenant.id, appointment_id)
            assert after is not None
            return before, after
    except IntegrityError:
        raise Refused(409, "slot taken", start=iso(start, tenant.zone)) from None


def _class_place(calendar: Calendar, booking: NewBooking) -> str | None:
    """Who holds the class session at the booking's start; refused when there is none or it is full."""
    service = booking.service
    session = calendar.session_at(service, booking.start)
    if session is None:
        raise Refused(400, f"start: no {service.key} session starts then")
    if booking.practitioner is not None and session.practitioner != booking.practitioner:
        raise Refused(400, f"practitioner: that {service.key} session is held by {session.practitioner}")
    if session.practitioner and calendar.is_away(session.practitioner, session.start, session.end):
        raise Refused(409, "practitioner away", practitioner=session.practitioner)
    if calendar.places_left(service, booking.start) <= 0:
        raise Refused(409, "class full", places_left=0)
    return session.practitioner


def _free_practitioner(calendar: Calendar, tenant: Tenant, booking: NewBooking) -> str | None:
    """The practitioner asked for if free, else whoever the bot's rule picks among those free; None for a
    business that is one calendar. Refused with what is in the way."""
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
            raise Refused(
                409,
                "practitioner away",
                practitioner=away[0] if len(away) == 1 else None,
                start=iso(start, zone),
            )
        raise Refused(409, "slot taken", start=iso(start, zone), end=iso(end, zone), conflicts=conflicts)
    rooms = calendar.rooms_busy(service)
    if rooms is not None and all(clashes(room, start, end, tenant.buffer) for room in rooms):
        raise Refused(409, "no room free", start=iso(start, tenant.zone), end=iso(end, tenant.zone))
    if free == [None]:
        return None
    return calendar.pick(Slot(start, tuple(k for k in free if k is not None)))
