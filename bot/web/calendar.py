"""The calendar in the staff app: a day with a column per practitioner, or a week; booking for a client,
moving and cancelling by hand. Bookings go through `bot/bookings.py` (the REST API's rules: under the
calendar lock, refused only by real clashes), and the client is told on their channel when Meta's window
allows (`bot/notices.py`); when it does not, the page says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot import keys
from bot.api.auth import CALENDARS
from bot.api.json import phone_digits
from bot.bookings import NewBooking, Refused, book, cancel, check_practitioner, move
from bot.notices import tell_client
from bot.web.door import STAFF
from bot.web.ids import number, path_id
from bot.web.pages import render, tenant_of
from storage import emails as email_store
from storage import reminders as reminder_store
from storage.appointments import ACTIVE, AppointmentView, get_appointment, history_for, list_appointments

routes = web.RouteTableDef()
QUARTER = timedelta(minutes=15)
ACTOR = "staff"
REFUSALS = {
    "slot taken": "That time is taken.",
    "practitioner away": "The practitioner is away then.",
    "class full": "The class is full.",
    "no room free": "No room is free then.",
    "appointment not found": "That appointment no longer exists.",
    "the appointment changed meanwhile": "The appointment changed meanwhile; look again.",
    "client already booked then": "The client already has an appointment then.",
    "start must be within 2 years before and 5 years after today": (
        "Choose a day at most two years back and five years ahead."
    ),
}


def _said(refused: Refused) -> str:
    """A refusal in words for the form (the REST API's reasons are for programs)."""
    if refused.message.startswith("practitioner"):
        return "That practitioner does not do this service."
    return REFUSALS.get(refused.message, "That cannot be booked then.")


@dataclass(frozen=True, slots=True)
class Block:
    """An appointment placed on the day grid: its quarter-hour row and length, its column."""

    appointment: AppointmentView
    row: int
    span: int
    column: int
    places: str | None = None


EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def _day(raw: str | None, today: date) -> date:
    try:
        day = date.fromisoformat(raw) if raw else today
    except ValueError:
        return today
    return day if EARLIEST <= day <= LATEST else today


def _local(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(0), zone)


@routes.get("/calendar")
async def calendar(request: web.Request) -> web.StreamResponse:
    staff, tenant = request[STAFF], tenant_of(request)
    zone, profile = tenant.zone, tenant.profile
    today = request.app[keys.CLOCK].now().astimezone(zone).date()
    day = _day(request.query.get("date"), today)
    view = "week" if request.query.get("view") == "week" else "day"
    people = {p.key for p in profile.practitioners}
    who = request.query.get("who") or (staff.practitioner if staff.practitioner in people else "all")
    if who != "all" and who not in people:
        who = "all"
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    days = [first + timedelta(days=n) for n in range(7 if view == "week" else 1)]
    async with request.app[keys.DATABASE].read() as session:
        found = await list_appointments(
            session, tenant.id, start=_local(days[0], zone), end=_local(days[-1] + timedelta(days=1), zone)
        )
    found = [a for a in found if a.status in ACTIVE and (who == "all" or a.practitioner_key == who)]
    columns = [p for p in profile.practitioners if who in ("all", p.key)] or [None]
    opens, closes = _hours(profile, day, found, zone)
    context: dict[str, Any] = {
        "day": day,
        "days": days,
        "view": view,
        "who": who,
        "today": today,
        "columns": columns,
        "step": timedelta(days=7 if view == "week" else 1),
        "by_day": {d: [a for a in found if a.start.astimezone(zone).date() == d] for d in days},
        "zone": zone,
        "practitioners_all": profile.practitioners,
    }
    if view == "day":
        context["rows"] = [
            _local(day, zone).replace(hour=0) + timedelta(minutes=15 * n)
            for n in range(opens * 4, closes * 4)
        ]
        context["blocks"] = _blocks(found, columns, day, opens, zone, profile)
    return render(request, "calendar.html", **context)


def _hours(profile: Any, day: date, found: list[AppointmentView], zone: Any) -> tuple[int, int]:
    """The hours the day view spans: the business's opening hours that day, widened to fit every
    appointment shown; 08-18 on a closed day without any."""
    ranges = profile.rules.hours.get(day.weekday(), ()) if profile.rules else ()
    starts = [r[0].hour for r in ranges] + [a.start.astimezone(zone).hour for a in found]
    ends = [24 if r[1] is None else r[1].hour + (1 if r[1].minute else 0) for r in ranges]
    ends += [min(24, a.end.astimezone(zone).hour + 1) for a in found]
    return (min(starts), max(ends)) if starts and ends else (8, 18)


def _blocks(
    found: list[AppointmentView], columns: list[Any], day: date, opens: int, zone: Any, profile: Any
) -> list[Block]:
    index = {(c.key if c else None): n for n, c in enumerate(columns, start=2)}  # column 1 is the clock
    blocks = []
    seats: dict[tuple[str, datetime], int] = {}
    for a in found:
        seats[(a.service_key, a.start)] = seats.get((a.service_key, a.start), 0) + 1
    for a in found:
        local = a.start.astimezone(zone)
        if local.date() != day:
            continue
        column = index.get(a.practitioner_key if columns != [None] else None)
        if column is None:
            continue
        minutes = (local.hour - opens) * 60 + local.minute
        length = max(1, int((a.end - a.start) / QUARTER))
        service = next((s for s in profile.services if s.key == a.service_key), None)
        places = (
            f"{seats[(a.service_key, a.start)]}/{service.capacity}" if service and service.is_class else None
        )
        blocks.append(Block(a, 1 + max(0, minutes // 15), min(length, 96), column, places))
    # a class's places are one block
    unique: dict[tuple[str, datetime, int], Block] = {}
    for block in blocks:
        key = (block.appointment.service_key, block.appointment.start, block.column)
        if block.places is None or key not in unique:
            unique[key if block.places else (str(block.appointment.id), block.appointment.start, 0)] = block
    return list(unique.values())


# --------------------------------------------------------------------------------------------- booking


@routes.get("/calendar/new")
async def new(request: web.Request) -> web.StreamResponse:
    query = request.query
    form = {
        k: query.get(k, "") for k in ("date", "time", "practitioner", "service", "name", "phone", "client")
    }
    return _form(request, form=form)


def _form(
    request: web.Request, *, form: dict[str, str], status: int = 200, error: str | None = None
) -> web.Response:
    profile = tenant_of(request).profile
    return render(
        request,
        "booking.html",
        status=status,
        form=form,
        error=error,
        services=profile.services,
        practitioners=profile.practitioners,
    )


@routes.post("/appointments")
async def create(request: web.Request) -> web.StreamResponse:
    tenant = tenant_of(request)
    raw = await request.post()
    form = {
        k: str(raw.get(k, ""))[:200]
        for k in ("date", "time", "practitioner", "service", "name", "phone", "client")
    }
    service = next((s for s in tenant.profile.services if s.key == form["service"]), None)
    if service is None:
        return _form(request, form=form, status=400, error="Choose a service.")
    start = _start(form, tenant.zone)
    if start is None:
        return _form(
            request, form=form, status=400, error="Give a date and a time, like 2026-12-07 and 10:00."
        )
    name = form["name"].strip() or None
    phone = None
    if form["phone"].strip():
        digits = phone_digits(form["phone"])
        if digits is None:
            return _form(
                request,
                form=form,
                status=400,
                error="Write the phone number with its country code, like +45 12 34 56 78.",
            )
        phone = f"+{digits}"
    client_id = number(form["client"])
    if client_id is None and name is None and phone is None:
        return _form(request, form=form, status=400, error="Give the client's name or phone number.")
    try:
        practitioner = check_practitioner(tenant, service, form["practitioner"] or None)
        if client_id is not None:
            await _own_client(request, client_id)
        booked = await book(
            request.app[keys.DATABASE],
            request.app[CALENDARS],
            tenant,
            NewBooking(service, start, name, phone, "staff", practitioner, client_id),
            request.app[keys.CLOCK].now(),
            ACTOR,
        )
    except Refused as refused:
        return _form(
            request,
            form=form,
            status=refused.status if refused.status != 404 else 400,
            error=_said(refused),
        )
    told = await tell_client(request.app, tenant, booked, "booked")
    raise web.HTTPSeeOther(f"/appointments/{booked.id}?done=booked&told={told}")


async def _own_client(request: web.Request, client_id: int) -> None:
    from storage.clients import client_record

    async with request.app[keys.DATABASE].read() as session:
        if await client_record(session, request[STAFF].business_id, client_id) is None:
            raise Refused(400, "no such client")


def _start(form: dict[str, str], zone: Any) -> datetime | None:
    try:
        day = date.fromisoformat(form["date"].strip())
        clock = time.fromisoformat(form["time"].strip().replace(".", ":"))
    except ValueError:
        return None
    if not EARLIEST <= day <= LATEST or clock.tzinfo is not None:
        return None
    return datetime.combine(day, clock.replace(second=0, microsecond=0), zone)


# ------------------------------------------------------------------------------------- one appointment


def _appointment_id(request: web.Request) -> int:
    return path_id(request, "appointment")


@routes.get("/appointments/{id}")
async def appointment(request: web.Request) -> web.StreamResponse:
    return await _appointment_page(request, _appointment_id(request))


async def _appointment_page(
    request: web.Request,
    appointment_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    tenant = tenant_of(request)
    async with request.app[keys.DATABASE].read() as session:
        found = await get_appointment(session, tenant.id, appointment_id)
        if found is None:
            raise web.HTTPNotFound(text="no such appointment")
        history = (await history_for(session, [appointment_id]))[appointment_id]
        sent = await reminder_store.listing(session, tenant.id, appointment_ids=[appointment_id])
        mails = await email_store.of_appointments(session, [appointment_id])
    local = found.start.astimezone(tenant.zone)
    return render(
        request,
        "appointment.html",
        status=status,
        a=found,
        history=history,
        error=error,
        done=request.query.get("done"),
        told=request.query.get("told"),
        form=form
        or {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "practitioner": found.practitioner_key or "",
        },
        practitioners=[p for p in tenant.profile.practitioners if p.does(found.service_key)],
        active=found.status in ACTIVE,
        zone=tenant.zone,
        reminders=sent,
        emails=mails,
    )


@routes.post("/appointments/{id}/move")
async def move_(request: web.Request) -> web.StreamResponse:
    appointment_id, tenant = _appointment_id(request), tenant_of(request)
    raw = await request.post()
    form = {k: str(raw.get(k, ""))[:40] for k in ("date", "time", "practitioner")}
    start = _start(form, tenant.zone)
    if start is None:
        return await _appointment_page(
            request,
            appointment_id,
            status=400,
            form=form,
            error="Give a date and a time, like 2026-12-07 and 10:00.",
        )
    try:
        async with request.app[keys.DATABASE].read() as session:
            current = await get_appointment(session, tenant.id, appointment_id)
        if current is None:
            raise web.HTTPNotFound(text="no such appointment")
        service = next((s for s in tenant.profile.services if s.key == current.service_key), None)
        practitioner = check_practitioner(tenant, service, form["practitioner"] or None) if service else None
        _, after = await move(
            request.app[keys.DATABASE],
            request.app[CALENDARS],
            tenant,
            appointment_id,
            start,
            practitioner,
            request.app[keys.CLOCK].now(),
            ACTOR,
        )
    except Refused as refused:
        if refused.status == 404:
            raise web.HTTPNotFound(text=refused.message) from None
        return await _appointment_page(
            request,
            appointment_id,
            status=refused.status,
            form=form,
            error=_said(refused),
        )
    told = await tell_client(request.app, tenant, after, "moved")
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}?done=moved&told={told}")


@routes.post("/appointments/{id}/cancel")
async def cancel_(request: web.Request) -> web.StreamResponse:
    appointment_id, tenant = _appointment_id(request), tenant_of(request)
    try:
        view = await cancel(
            request.app[keys.DATABASE], tenant, appointment_id, request.app[keys.CLOCK].now(), ACTOR
        )
    except Refused as refused:
        if refused.status == 404:
            raise web.HTTPNotFound(text=refused.message) from None
        return await _appointment_page(
            request, appointment_id, status=409, error="It is not active any more."
        )
    told = await tell_client(request.app, tenant, view, "cancelled")
    raise web.HTTPSeeOther(f"/appointments/{appointment_id}?done=cancelled&told={told}")
