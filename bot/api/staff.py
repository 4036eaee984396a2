"""/api/v1/conversations/{id}/takeover, /release and /messages: a person steps in, and steps out.

A staff reply also takes the conversation from the bot, so the bot never talks over the person. Meta's
windows decide what may go out: WhatsApp free text within 24 hours of the client's last message;
Messenger and Instagram within 24 hours, then with the HUMAN_AGENT tag up to 7 days.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiohttp import web

from bot import keys
from bot.api.auth import TENANT
from bot.api.json import fail, iso, json_body, path_id, reply
from bot.channels import recipient_for
from flows.messages import Reply, Sender
from storage.staff import Addressee, addressee, queue_message, set_handler

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
TEXT_LIMIT = 4096


@routes.post("/api/v1/conversations/{id}/takeover")
async def takeover(request: web.Request) -> web.Response:
    return await _hand(request, "staff")


@routes.post("/api/v1/conversations/{id}/release")
async def release(request: web.Request) -> web.Response:
    return await _hand(request, "bot")


async def _hand(request: web.Request, to: str) -> web.Response:
    tenant, conversation_id = request[TENANT], path_id(request)
    app = request.app
    async with app[keys.DATABASE].write() as session:
        if not await set_handler(session, tenant.id, conversation_id, to, app[keys.CLOCK].now()):
            fail(404, "conversation not found")
    log.info("event=conversation.handed conversation=%s to=%s by=api", conversation_id, to)
    return reply({"id": conversation_id, "handled_by": to})


@routes.post("/api/v1/conversations/{id}/messages")
async def staff_message(request: web.Request) -> web.Response:
    tenant, conversation_id = request[TENANT], path_id(request)
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        fail(400, "text must be a non-empty string")
    if len(text) > TEXT_LIMIT:
        fail(400, f"text must be at most {TEXT_LIMIT} characters")
    app = request.app
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        to = await addressee(session, tenant.id, conversation_id)
        if to is None:
            fail(404, "conversation not found")
        tag, window_ends_at = _allowed(to, now)
        message = Reply(text=text.strip(), tag=tag)
        recipient = recipient_for(to.channel_kind, Sender(user_id=to.user_id, phone=to.phone))
        message_id = await queue_message(
            session,
            tenant.id,
            to,
            recipient=recipient,
            text=message.text,
            payload=message.to_json(),
            window_ends_at=window_ends_at,
            now=now,
        )
        await set_handler(session, tenant.id, conversation_id, "staff", now)
    app[keys.PIPELINE].sender.wake()
    log.info("event=staff.message_queued conversation=%s tag=%s", conversation_id, tag or "-")
    return reply(
        {
            "id": message_id,
            "direction": "out",
            "author": "staff",
            "text": message.text,
            "status": "queued",
            "created_at": iso(now, tenant.zone),
        },
        status=201,
    )


def _allowed(to: Addressee, now: datetime) -> tuple[str | None, datetime]:
    """The tag the message needs (if any) and when its chance to go out ends; 409 when it has none."""
    last = to.last_client_message_at
    if last is None:
        fail(409, "the client has not written yet, so the platform allows no free-text message")
    if now < last + WINDOW:
        return None, last + WINDOW
    if to.channel_kind in ("messenger", "instagram") and now < last + HUMAN_AGENT_WINDOW:
        return "HUMAN_AGENT", last + HUMAN_AGENT_WINDOW
    if to.channel_kind == "whatsapp":
        fail(409, "outside WhatsApp's 24-hour window: only an approved template may be sent")
    fail(409, "more than 7 days since the client wrote: the platform allows no message")
