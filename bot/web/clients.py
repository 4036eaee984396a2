"""Client records in the staff app: the list (searched by name or phone), and one client's record with
every message and every booking event, and the notes staff keep on them; correcting their details,
restricting the processing of their data, their "stop" per channel (bot/client_edits.py's rules); a
download of everything held on the client, and (owners only) erasing them. Opening a record and every
change are in the audit log."""

from __future__ import annotations

import json

from aiohttp import web

from bot import audit, client_edits, keys, privacy
from bot.audit import Actor
from bot.web.door import STAFF
from bot.web.ids import number, path_id
from bot.web.pages import render, tenant_of
from storage.appointments import history_for, list_appointments
from storage.audit import staff_names
from storage.clients import NOTES_LIMIT, ClientRecord, client_page, client_record, set_notes
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
    page = await _record(request, _id(request))
    await audit.viewed(request.app, request[STAFF], ("client", _id(request)))
    return page


async def _record(
    request: web.Request,
    client_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    notes: str | None = None,
    problems: dict[str, str] | None = None,
    kept: dict[str, str] | None = None,
) -> web.Response:
    """The record page; after a refused form, `problems` (field: code of client_edits.PROBLEMS) and the
    values the person typed (`kept`), to correct rather than type again."""
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
        team = await staff_names(session, staff.business_id) if found.restricted_by else {}
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
        problems=problems or {},
        kept={**_shown(found), **(kept or {})},
        saved=request.query.get("saved"),
        channels=_channels(found),
        reasons=client_edits.RESTRICTION_REASONS,
        note_limit=client_edits.NOTE_LIMIT,
        restricted_by=_who(found.restricted_by, team),
    )


def _shown(found: ClientRecord) -> dict[str, str]:
    """The details form as the record stands."""
    return {
        "name": found.name or "",
        "phone": found.phone or "",
        "email": found.email or "",
        "locale": found.locale or "",
        "email_reminders": "" if found.email_opted_out_at else "on",
        "restricted_reason": "",
        "restricted_note": "",
    }


def _channels(found: ClientRecord) -> list[tuple[str, object]]:
    """Each channel the client is known on, once, with when they said stop there (None: they did not)."""
    seen: dict[str, object] = {}
    for identity in found.identities:
        seen[identity.channel] = seen.get(identity.channel) or identity.opted_out_at
    return list(seen.items())


def _who(said: str | None, team: dict[int, str]) -> str | None:
    """ "staff:12" as the person's name; "api" as it is (the page says it in words)."""
    if not said:
        return None
    kind, _, ident = said.partition(":")
    return team.get(int(ident), f"#{ident}") if kind == "staff" and ident.isdigit() else kind


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
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].write() as session:
        if not await set_notes(session, staff.business_id, client_id, text, now):
            raise web.HTTPNotFound(text="no such client")
        await audit.record(
            session,
            staff.business_id,
            Actor.of(staff),
            "client.notes_changed",
            ("client", client_id),
            now=now,
        )
    raise web.HTTPSeeOther(f"/clients/{client_id}")


@routes.post("/clients/{id}/email")
async def email(request: web.Request) -> web.StreamResponse:
    """Staff record the client's address (emails about appointments go there, with a calendar file) and
    whether reminders may be sent to it."""
    form = await request.post()
    raw = form.get("email", "")
    wanted = {
        "email": raw if isinstance(raw, str) else "",
        "email_reminders": form.get("email_reminders", ""),
    }
    return await _correct(request, wanted, single_error=True)


@routes.post("/clients/{id}/details")
async def details(request: web.Request) -> web.StreamResponse:
    """Staff correct the client's details (name, phone, email, language): the right to rectification."""
    form = await request.post()
    wanted = {k: form.get(k, "") for k in ("name", "phone", "email", "locale", "email_reminders")}
    return await _correct(request, wanted)


async def _correct(
    request: web.Request, wanted: dict[str, object], *, single_error: bool = False
) -> web.StreamResponse:
    client_id, staff = _id(request), request[STAFF]
    typed = {k: v if isinstance(v, str) else "" for k, v in wanted.items()}
    try:
        values = client_edits.read_details({k: v for k, v in wanted.items() if k != "email_reminders"})
    except client_edits.Invalid as invalid:
        if single_error:  # the email form of old: one message
            return await _record(request, client_id, status=400, error="email_bad")
        return await _record(request, client_id, status=400, problems=invalid.problems, kept=typed)
    values["email_reminders"] = wanted.get("email_reminders") == "on"
    async with request.app[keys.DATABASE].write() as session:
        done = await client_edits.correct(
            session, staff.business_id, client_id, values, Actor.of(staff), request.app[keys.CLOCK].now()
        )
    if done is None:
        raise web.HTTPNotFound(text="no such client")
    raise web.HTTPSeeOther(f"/clients/{client_id}?saved=details")


@routes.post("/clients/{id}/restrict")
async def restrict(request: web.Request) -> web.StreamResponse:
    """Restrict the processing of the client's data (GDPR art. 18): kept, shown to staff, not answered."""
    client_id, staff = _id(request), request[STAFF]
    form = await request.post()
    reason, note = form.get("restricted_reason"), form.get("restricted_note")
    try:
        reason, note = client_edits.read_restriction(reason, note)
    except client_edits.Invalid as invalid:
        typed = {"restricted_reason": reason if isinstance(reason, str) else ""}
        typed["restricted_note"] = note if isinstance(note, str) else ""
        return await _record(request, client_id, status=400, problems=invalid.problems, kept=typed)
    async with request.app[keys.DATABASE].write() as session:
        found = await client_edits.restrict(
            session,
            staff.business_id,
            client_id,
            reason,
            note,
            Actor.of(staff),
            request.app[keys.CLOCK].now(),
        )
    if not found:
        raise web.HTTPNotFound(text="no such client")
    raise web.HTTPSeeOther(f"/clients/{client_id}?saved=restricted")


@routes.post("/clients/{id}/unrestrict")
async def unrestrict(request: web.Request) -> web.StreamResponse:
    """Lift the restriction: the bot answers the client's next message, reminders go out again."""
    client_id, staff = _id(request), request[STAFF]
    async with request.app[keys.DATABASE].write() as session:
        found = await client_edits.lift(
            session, staff.business_id, client_id, Actor.of(staff), request.app[keys.CLOCK].now()
        )
    if not found:
        raise web.HTTPNotFound(text="no such client")
    raise web.HTTPSeeOther(f"/clients/{client_id}?saved=lifted")


@routes.post("/clients/{id}/channels/{channel}")
async def channel(request: web.Request) -> web.StreamResponse:
    """Staff record the client's "stop" (or "start") on one channel, as the client may say it there."""
    client_id, staff = _id(request), request[STAFF]
    kind = request.match_info["channel"]
    stop = (await request.post()).get("stop")
    if kind not in client_edits.CHANNELS or stop not in ("1", "0"):
        raise web.HTTPNotFound(text="no such channel")
    async with request.app[keys.DATABASE].write() as session:
        found = await client_edits.channel(
            session,
            staff.business_id,
            client_id,
            kind,
            stop == "1",
            Actor.of(staff),
            request.app[keys.CLOCK].now(),
        )
    if not found:
        raise web.HTTPNotFound(text="the client is not known on that channel")
    raise web.HTTPSeeOther(f"/clients/{client_id}#channels")


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
