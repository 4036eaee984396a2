"""/api/v1/clients: find a client by phone or text, read one client's record with its history, correct it
and restrict its processing (PATCH, bot/client_edits.py's rules), export everything held on them, and erase
them. Reading, exporting, correcting and erasing are in the audit log."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot import audit, client_edits, keys, privacy
from bot.api.appointments import appointment_json
from bot.api.auth import TENANT
from bot.api.json import MAX_ID, e164, fail, iso, json_body, path_id, phone_digits, reply
from storage.appointments import history_for, list_appointments
from storage.clients import SEARCH_LIMIT, client_record, merge_clients, search_clients

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_QUERY = 200


@routes.get("/api/v1/clients")
async def search(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    raw_phone = request.query.get("phone", "").strip()
    digits = phone_digits(raw_phone) if raw_phone else None
    if raw_phone and digits is None:
        fail(400, "phone must be an E.164 number: + and 8 to 15 digits, e.g. +4512345678")
    q = request.query.get("q", "").strip()
    if len(q) > MAX_QUERY:
        fail(400, f"q must be at most {MAX_QUERY} characters")
    async with request.app[keys.DATABASE].read() as session:
        found = await search_clients(session, tenant.id, phone_digits=digits, q=q or None, limit=SEARCH_LIMIT)
    return reply({"clients": [{"id": c.id, "name": c.name, "phone": e164(c.phone)} for c in found]})


@routes.post("/api/v1/clients/{id}/link")
async def link(request: web.Request) -> web.Response:
    """Staff link two records of one person (say WhatsApp and Messenger): `{"client_id": <the other>}`
    moves that record's channels, conversations and appointments here; the answer is the joined record."""
    tenant = request[TENANT]
    client_id = path_id(request)
    body = await json_body(request)
    other = body.get("client_id")
    if not isinstance(other, int) or isinstance(other, bool) or not 0 < other <= MAX_ID:
        fail(400, "client_id must be the id of the client to link")
    if other == client_id:
        fail(400, "a client cannot be linked to itself")
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].write() as session:
        if not await merge_clients(session, tenant.id, client_id, other, now):
            fail(404, "client not found")
        await audit.record(
            session, tenant.id, audit.API, "client.linked", ("client", client_id), now=now, merged=other
        )
    log.info("event=clients.linked client=%s from=%s", client_id, other)
    return await _record(request, client_id)


@routes.get("/api/v1/clients/{id}")
async def record(request: web.Request) -> web.Response:
    found = await _record(request, path_id(request))
    await audit.api_did(request.app, request[TENANT].id, "client.viewed", ("client", path_id(request)))
    return found


@routes.patch("/api/v1/clients/{id}")
async def correct(request: web.Request) -> web.Response:
    """Correct the record (name, phone, email, locale) and restrict or resume its processing
    (`restricted`, `restricted_reason`, `restricted_note`); every field optional, all checked before
    anything is written. Answers the record as GET does."""
    tenant, client_id = request[TENANT], path_id(request)
    body = await json_body(request)
    unknown = sorted(set(body) - EDITABLE)
    if unknown:
        fail(400, f"unknown field {unknown[0]}; these can be changed: {', '.join(sorted(EDITABLE))}")
    try:
        values = client_edits.read_details(body)
        restriction = _restriction(body)
    except client_edits.Invalid as invalid:
        fail(400, str(invalid), fields=invalid.problems)
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].write() as session:
        if await client_edits.correct(session, tenant.id, client_id, values, audit.API, now) is None:
            fail(404, "client not found")
        if restriction is False:
            await client_edits.lift(session, tenant.id, client_id, audit.API, now)
        elif restriction is not None:
            await client_edits.restrict(session, tenant.id, client_id, *restriction, audit.API, now)
    log.info("event=clients.corrected client=%s", client_id)
    return await _record(request, client_id)


EDITABLE = {"name", "phone", "email", "locale", "restricted", "restricted_reason", "restricted_note"}


def _restriction(body: dict[str, Any]) -> tuple[str, str | None] | bool | None:
    """(reason, note) to restrict, False to lift, None to leave the restriction as it is."""
    wanted = body.get("restricted")
    if wanted is None:
        if "restricted_reason" in body or "restricted_note" in body:
            fail(400, 'restricted_reason and restricted_note go with "restricted": true')
        return None
    if not isinstance(wanted, bool):
        fail(400, "restricted must be true or false")
    if not wanted:
        return False
    return client_edits.read_restriction(body.get("restricted_reason"), body.get("restricted_note"))


async def _record(request: web.Request, client_id: int) -> web.Response:
    tenant = request[TENANT]
    async with request.app[keys.DATABASE].read() as session:
        client = await client_record(session, tenant.id, client_id)
        if client is None:
            fail(404, "client not found")
        appointments = await list_appointments(session, tenant.id, client_id=client_id)
        history = await history_for(session, [a.id for a in appointments])
    zone = tenant.zone
    body: dict[str, Any] = {
        "id": client.id,
        "name": client.name,
        "phone": e164(client.phone),
        "locale": client.locale,
        "email": client.email,
        "restricted": client.restricted_at is not None,
        "restriction": None
        if client.restricted_at is None
        else {
            "since": iso(client.restricted_at, zone),
            "reason": client.restricted_reason,
            "note": client.restricted_note,
        },
        "identities": [
            {
                "channel": i.channel,
                "user_id": i.user_id,
                "phone": e164(i.phone),
                "username": i.username,
                "opted_out_at": iso(i.opted_out_at, zone),
            }
            for i in client.identities
        ],
        "appointments": [
            {
                **appointment_json(a, zone),
                "history": [
                    {
                        "at": iso(h["at"], zone),
                        "actor": h["actor"],
                        "action": h["action"],
                        "from": h["from"],
                        "to": h["to"],
                    }
                    for h in history.get(a.id, [])
                ],
            }
            for a in appointments
        ],
        "possible_duplicates": [
            {"id": d.id, "name": d.name, "phone": e164(d.phone)} for d in client.possible_duplicates
        ],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "handled_by": c.handled_by,
                "needs_staff": c.needs_staff,
                "state": c.state,
                "last_message_at": iso(c.last_message_at, zone),
            }
            for c in client.conversations
        ],
    }
    return reply(body)


@routes.get("/api/v1/clients/{id}/export")
async def export(request: web.Request) -> web.Response:
    """Everything held on the client (right of access and portability), as a JSON file."""
    tenant = request[TENANT]
    client_id = path_id(request)
    app = request.app
    found = await privacy.export_client(
        app[keys.DATABASE], tenant.id, client_id, tenant.zone, actor="api", now=app[keys.CLOCK].now()
    )
    if found is None:
        fail(404, "client not found")
    response = reply(found)
    response.headers["Content-Disposition"] = f'attachment; filename="client-{client_id}.json"'
    return response


@routes.delete("/api/v1/clients/{id}")
async def erase(request: web.Request) -> web.Response:
    """Erasure: the client's personal data and messages go; their appointments stay, without them."""
    tenant = request[TENANT]
    client_id = path_id(request)
    app = request.app
    erased = await privacy.erase_client(
        app[keys.DATABASE], tenant.id, client_id, actor="api", now=app[keys.CLOCK].now()
    )
    if erased is None:
        fail(404, "client not found")
    return web.Response(status=204)
