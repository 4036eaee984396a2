"""One conversation: its timeline, the client beside it, and what staff do (take over, hand back, give to
a colleague, reply). The actions are `bot/staff_actions.py`'s, the same the REST API uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot import audit, keys
from bot.channels import text_limit_for
from bot.staff_actions import Refused, assign, hand, reply_window, send_reply, send_template, templates_of
from bot.web.door import STAFF
from bot.web.ids import number, path_id
from bot.web.pages import render, tenant_of
from storage.appointments import list_appointments
from storage.clients import client_record
from storage.conversation_views import conversation_head, mark_read, messages_of
from storage.saved_replies import saved_replies
from storage.staff_accounts import colleagues

routes = web.RouteTableDef()
TIMELINE = 100
MAX_ID = 2**62


def _id(request: web.Request) -> int:
    return path_id(request, "conversation")


@routes.get("/conversations/{id}")
async def conversation(request: web.Request) -> web.StreamResponse:
    page = await _page(request, _id(request))
    await audit.viewed(request.app, request[STAFF], ("conversation", _id(request)))
    return page


async def _page(
    request: web.Request,
    conversation_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    draft: str = "",
    values: dict[str, list[str]] | None = None,
) -> web.Response:
    staff, app = request[STAFF], request.app
    before = number(request.query.get("before"))
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].read() as session:
        head = await conversation_head(session, staff.business_id, conversation_id)
        if head is None:
            raise web.HTTPNotFound(text="no such conversation")
        messages = await messages_of(
            session, staff.business_id, conversation_id, before=before, limit=TIMELINE
        )
        record = await client_record(session, staff.business_id, head.client_id)
        appointments = await list_appointments(
            session, staff.business_id, client_id=head.client_id, limit=200
        )
        team = await colleagues(session, staff.business_id)
        saved = await saved_replies(session, staff.business_id)
    if before is None:
        async with app[keys.DATABASE].write() as session:
            await mark_read(session, staff.id, conversation_id)
    window = reply_window(head.channel, head.last_client_message_at, now)
    return render(
        request,
        "conversation.html",
        status=status,
        head=head,
        messages=messages,
        earlier=messages[0].id if len(messages) == TIMELINE else None,
        record=record,
        upcoming=[a for a in appointments if a.start >= now and a.status in ("booked", "confirmed")],
        past=[a for a in reversed(appointments) if a.start < now or a.status not in ("booked", "confirmed")][
            :20
        ],
        team=team,
        names={s.id: s.name for s in team},
        window=window,
        minutes_left=_minutes_left(window.ends_at, now),
        limit=text_limit_for(head.channel),
        saved=[{"shortcut": r.shortcut, "text": r.text} for r in saved],
        templates=templates_of(app, staff.business_id) if head.channel == "whatsapp" else [],
        values=values or {},
        error=error,
        draft=draft,
        zone=tenant_of(request).zone,
        kept_days=_kept_days(app, staff.business_id),
    )


def _kept_days(app: web.Application, business_id: str) -> int | None:
    """How many days messages are kept (bot/retention.py), for the line that says so; None: all kept."""
    age = app[keys.PROFILES].settings(business_id).retention.age("messages")
    return None if age is None else max(age.days, 1)


def _minutes_left(ends_at: datetime | None, now: datetime) -> int | None:
    return max(0, int((ends_at - now).total_seconds() // 60)) if ends_at else None


def _back(conversation_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/conversations/{conversation_id}")


@routes.post("/conversations/{id}/takeover")
async def takeover(request: web.Request) -> web.StreamResponse:
    return await _hand(request, "staff")


@routes.post("/conversations/{id}/release")
async def release(request: web.Request) -> web.StreamResponse:
    return await _hand(request, "bot")


async def _hand(request: web.Request, to: str) -> web.StreamResponse:
    conversation_id, staff = _id(request), request[STAFF]
    try:
        await hand(request.app, staff.business_id, conversation_id, to, by=staff.id)
    except Refused as refused:
        raise web.HTTPNotFound(text=refused.message) from None
    raise _back(conversation_id)


@routes.post("/conversations/{id}/assign")
async def give(request: web.Request) -> web.StreamResponse:
    conversation_id, staff = _id(request), request[STAFF]
    form = await request.post()
    raw = form.get("staff_id", "")
    if raw != "" and number(raw) is None:
        return await _page(request, conversation_id, status=400, error="Choose a colleague from the list.")
    try:
        await assign(request.app, staff.business_id, conversation_id, number(raw), by=staff.id)
    except Refused as refused:
        if refused.status == 404:
            raise web.HTTPNotFound(text=refused.message) from None
        return await _page(request, conversation_id, status=400, error="Choose a colleague from the list.")
    raise _back(conversation_id)


@routes.post("/conversations/{id}/reply")
async def reply(request: web.Request) -> web.StreamResponse:
    conversation_id, staff = _id(request), request[STAFF]
    form = await request.post()
    text: Any = form.get("text")
    try:
        await send_reply(request.app, staff.business_id, conversation_id, text, by=staff.id)
    except Refused as refused:
        if refused.status == 404:
            raise web.HTTPNotFound(text=refused.message) from None
        return await _page(
            request,
            conversation_id,
            status=refused.status,
            error=_plain(refused),
            draft=text if isinstance(text, str) else "",
        )
    raise _back(conversation_id)


def _plain(refused: Refused) -> str:
    if refused.message.startswith("text must be at most"):
        return "too_long"
    if refused.message.startswith("text must be"):
        return "empty"
    return "window"


@routes.post("/conversations/{id}/template")
async def template(request: web.Request) -> web.StreamResponse:
    conversation_id, staff = _id(request), request[STAFF]
    form = await request.post()
    name = form.get("template")
    values: list[Any] = form.getall("value", [])
    try:
        await send_template(request.app, staff.business_id, conversation_id, name, values, by=staff.id)
    except Refused as refused:
        if refused.status == 404:
            raise web.HTTPNotFound(text=refused.message) from None
        kept = {str(name): [v if isinstance(v, str) else "" for v in values]}
        return await _page(request, conversation_id, status=refused.status, error="template", values=kept)
    raise _back(conversation_id)
