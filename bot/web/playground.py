"""The playground (/playground): staff chat with their own bot as a client would, on a channel they pick,
with the bot's options drawn as that channel draws them. Messages go through the real pipeline on the
business's playground channels (bot/playground.py) and come back as the page fetches them after a live
change; everything said there is test traffic, cleared when the tester starts over or comes back."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from aiohttp import web

from bot import keys
from bot.inbox import StoreFailed
from bot.live import Change
from bot.playground import (
    KINDS,
    RUN_DIGITS,
    channel_of,
    clear_for,
    conversation_key,
    drawn,
    first_kind,
    sender,
)
from bot.web.door import STAFF
from bot.web.pages import render, tenant_of
from flows import formatting
from flows.messages import InboundMessage, MessageType, Reply
from storage.conversation_views import LoggedMessage, conversation_by_key, messages_after
from storage.inbox import NewEvent

routes = web.RouteTableDef()
NAMES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}
TEXT_LIMIT = 4096  # what a client may write at once (WhatsApp's limit, the longest)
CHOICE_LIMIT = 256


def _run(raw: object) -> int | None:
    """The run number the page was given (a fresh one per visit and per "Start over")."""
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= RUN_DIGITS and int(raw) > 0:
        return int(raw)
    return None


def _fresh_run() -> int:
    return 1 + secrets.randbelow(10**RUN_DIGITS - 1)


def _channel(request: web.Request, kind: object) -> Any:
    channel = channel_of(request.app[keys.DIRECTORY], request[STAFF].business_id, str(kind))
    if channel is None:
        raise web.HTTPBadRequest(text="channel must be one of: whatsapp, messenger, instagram")
    return channel


async def _clear(request: web.Request, run: int | None = None) -> None:
    """The staff member's test clients (of every run, or of one) go, their bookings cancelled; open
    calendars hear of it and refresh."""
    staff, app = request[STAFF], request.app
    if await clear_for(app[keys.DATABASE], staff.business_id, staff.id, app[keys.CLOCK].now(), run):
        app[keys.PIPELINE].live.publish([Change(staff.business_id, None, "conversation")])


@routes.get("/playground")
async def playground(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    asked = request.query.get("channel")
    kind = asked if asked in KINDS else first_kind(request.app[keys.DIRECTORY], staff.business_id)
    await _clear(request)  # a visit starts afresh: what was tried before is not left holding times
    return render(
        request,
        "playground.html",
        channel=kind,
        run=_fresh_run(),
        kinds=[str(k) for k in KINDS],
        names=NAMES,
    )


@routes.post("/playground/reset")
async def reset(request: web.Request) -> web.StreamResponse:
    """Start over (or the page left): bookings made in the run (`run`; without it, in every run of this
    staff member) are cancelled, and the next message meets the bot as a new client."""
    form = await request.post()
    await _clear(request, _run(form.get("run")))
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"run": _fresh_run()})
    kind = form.get("channel")
    raise web.HTTPSeeOther("/playground" + (f"?channel={kind}" if kind in KINDS else ""))


@routes.post("/playground/messages")
async def say(request: web.Request) -> web.Response:
    """The tester writes (`text`) or taps an option (`choice_id` and its `title`): stored in the inbox as
    a delivery from the channel would be, so the bot answers through the whole pipeline."""
    staff, app = request[STAFF], request.app
    form = await request.post()
    channel = _channel(request, form.get("channel"))
    run = _run(form.get("run"))
    if run is None:
        raise web.HTTPBadRequest(text="run must be the number the page was given")
    fields = _what_was_said(form)
    message = InboundMessage(
        channel=channel.kind,
        channel_id=channel.id,
        business_id=channel.business_id,
        platform_id=f"playground.{uuid.uuid4().hex}",
        sender=sender(channel.kind, staff.id, run, staff.name),
        timestamp=app[keys.CLOCK].now(),
        **fields,
    )
    event = NewEvent(
        provider_key=f"playground:{message.platform_id}",
        business_id=message.business_id,
        channel_id=channel.id,
        conversation_key=message.conversation_key,
        kind="message",
        payload=message.to_json(),
    )
    try:
        await app[keys.PIPELINE].inbox.store([event])
    except StoreFailed:
        raise web.HTTPServiceUnavailable(text="could not store the message; try again") from None
    return web.json_response({"stored": True}, status=202)


def _what_was_said(form: Any) -> dict[str, Any]:
    choice, title, text = form.get("choice_id"), form.get("title"), form.get("text")
    if isinstance(choice, str) and choice:
        if len(choice) > CHOICE_LIMIT or not isinstance(title, str) or len(title) > CHOICE_LIMIT:
            raise web.HTTPBadRequest(text="choice_id and title must be an option's")
        return {"type": MessageType.CHOICE, "choice_id": choice, "text": title or choice}
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="text must not be empty")
    if len(text) > TEXT_LIMIT:
        raise web.HTTPBadRequest(text=f"text must be at most {TEXT_LIMIT} characters")
    return {"type": MessageType.TEXT, "text": text.strip()}


@routes.get("/playground/messages")
async def messages(request: web.Request) -> web.Response:
    """The run's conversation after message id `after`: each message with what the client sees of it
    (`bubbles`, see bot.playground.drawn), and whether the bot handed the conversation to a person."""
    staff, app = request[STAFF], request.app
    channel = _channel(request, request.query.get("channel"))
    run = _run(request.query.get("run"))
    raw_after = request.query.get("after", "0")
    if run is None or not raw_after.isdigit() or len(raw_after) > 18:
        raise web.HTTPBadRequest(text="run and after must be numbers")
    async with app[keys.DATABASE].read() as session:
        found = await conversation_by_key(
            session, staff.business_id, conversation_key(channel, staff.id, run)
        )
        logged = await messages_after(session, staff.business_id, found.id, int(raw_after)) if found else []
    zone = tenant_of(request).zone
    return web.json_response(
        {
            "conversation": found.id if found else None,
            "needs_staff": bool(found and (found.needs_staff or found.handled_by == "staff")),
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "author": m.author,
                    "at": formatting.clock(m.created_at.astimezone(zone), staff.locale),
                    "bubbles": _bubbles(str(channel.kind), m),
                }
                for m in logged
            ],
        }
    )


def _bubbles(kind: str, message: LoggedMessage) -> list[dict[str, Any]]:
    if message.direction == "in" or not message.payload:
        return [{"text": message.text or ""}]
    try:
        return drawn(kind, Reply.from_json(message.payload), "playground")
    except (KeyError, TypeError, ValueError):  # a reply the channel could not carry: its words, as logged
        return [{"text": message.text or ""}]
