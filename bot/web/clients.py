"""Client records in the staff app: the list (searched by name or phone), and one client's record with
every message and every booking event, and the notes staff keep on them."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.web.door import STAFF
from bot.web.ids import number, path_id
from bot.web.pages import render
from storage.appointments import history_for, list_appointments
from storage.clients import NOTES_LIMIT, client_page, client_record, looks_like_email, set_email, set_notes
from storage.conversation_views import client_messages

routes = web.RouteTableDef()
MESSAGES = 100


def _id(request: web.Request) -> int:
    return path_id(request, "client")


@routes.get("/clients")
async def clients(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    q = request.query.get("q", "").strip()[:100] or None
    async with request.app[keys.DATABASE].read() as session:
        rows, more = await client_page(
            session, staff.business_id, q=q, before=number(request.query.get("before"))
        )
    return render(request, "clients.html", rows=rows, more=more, search=q or "")


@routes.get("/clients/{id}")
async def record(request: web.Request) -> web.StreamResponse:
    return await _record(request, _id(request))


async def _record(
    request: web.Request,
    client_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    notes: str | None = None,
) -> web.Response:
    staff = request[STAFF]
    async with request.app[keys.DATABASE].read() as session:
        found = await client_record(session, staff.business_id, client_id)
        if found is None:
            raise web.HTTPNotFound(text="no such client")
        appointments = await list_appointments(session, staff.business_id, client_id=client_id, limit=500)
        history = await history_for(session, [a.id for a in appointments])
        messages = await client_messages(
            session, staff.business_id, client_id, before=number(request.query.get("before")), limit=MESSAGES
        )
    return render(
        request,
        "client.html",
        status=status,
        record=found,
        appointments=list(reversed(appointments)),
        history=history,
        messages=messages,
        earlier=messages[0].id if len(messages) == MESSAGES else None,
        error=error,
        notes=found.notes or "" if notes is None else notes,
        notes_limit=NOTES_LIMIT,
    )


@routes.post("/clients/{id}/notes")
async def notes(request: web.Request) -> web.StreamResponse:
    client_id, staff = _id(request), request[STAFF]
    form = await request.post()
    text = form.get("notes", "")
    if not isinstance(text, str):
        return await _record(request, client_id, status=400, error="notes_type")
    text = text.replace("\r\n", "\n").strip()
    if len(text) > NOTES_LIMIT:
        return await _record(request, client_id, status=400, error="notes_long", notes=text)
    async with request.app[keys.DATABASE].write() as session:
        if not await set_notes(session, staff.business_id, client_id, text, request.app[keys.CLOCK].now()):
            raise web.HTTPNotFound(text="no such client")
    raise web.HTTPSeeOther(f"/clients/{client_id}")


@routes.post("/clients/{id}/email")
async def email(request: web.Request) -> web.StreamResponse:
    """Staff record the client's address (emails about appointments go there, with a calendar file) and
    whether reminders may be sent to it."""
    client_id, staff = path_id(request, "client"), request[STAFF]
    form = await request.post()
    raw = form.get("email", "")
    address = raw.strip() if isinstance(raw, str) else ""
    if address and not looks_like_email(address):
        return await _record(request, client_id, status=400, error="email_bad")
    async with request.app[keys.DATABASE].write() as session:
        if not await set_email(
            session,
            staff.business_id,
            client_id,
            address or None,
            form.get("email_reminders") == "on",
            request.app[keys.CLOCK].now(),
        ):
            raise web.HTTPNotFound(text="no such client")
    raise web.HTTPSeeOther(f"/clients/{client_id}")
