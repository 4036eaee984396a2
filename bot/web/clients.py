"""Client records in the staff app: the list (searched by name or phone), and one client's record with
every message and every booking event, and the notes staff keep on them; a download of everything held
on the client, and (owners only) erasing them."""

from __future__ import annotations

import json

from aiohttp import web

from bot import keys, privacy
from bot.web.door import STAFF
from bot.web.ids import number, path_id
from bot.web.pages import render, tenant_of
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
        can_erase=request[STAFF].is_owner,
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


@routes.get("/clients/{id}/export")
async def export(request: web.Request) -> web.StreamResponse:
    """Everything held on the client, as the JSON file they may ask for (right of access)."""
    client_id, staff = _id(request), request[STAFF]
    found = await privacy.export_client(
        request.app[keys.DATABASE],
        staff.business_id,
        client_id,
        tenant_of(request).zone,
        actor=f"staff:{staff.id}",
        now=request.app[keys.CLOCK].now(),
    )
    if found is None:
        raise web.HTTPNotFound(text="no such client")
    response = web.json_response(found, dumps=_pretty)
    response.headers["Content-Disposition"] = f'attachment; filename="client-{client_id}.json"'
    return response


def _pretty(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@routes.post("/clients/{id}/erase")
async def erase(request: web.Request) -> web.StreamResponse:
    """Erase the client (owners only: it cannot be undone), confirmed by typing their name or ERASE."""
    client_id, staff = _id(request), request[STAFF]
    if not staff.is_owner:
        raise web.HTTPForbidden(text="only the business's owner erases clients")
    form = await request.post()
    typed = form.get("confirm", "")
    typed = " ".join(typed.split()).casefold() if isinstance(typed, str) else ""
    async with request.app[keys.DATABASE].read() as session:
        found = await client_record(session, staff.business_id, client_id)
    if found is None:
        raise web.HTTPNotFound(text="no such client")
    accepted = {"erase"} | ({" ".join(found.name.split()).casefold()} if found.name else set())
    if not typed or typed not in accepted:
        return await _record(request, client_id, status=400, error="erase_confirm")
    await privacy.erase_client(
        request.app[keys.DATABASE],
        staff.business_id,
        client_id,
        actor=f"staff:{staff.id}",
        now=request.app[keys.CLOCK].now(),
    )
    raise web.HTTPSeeOther("/clients")
