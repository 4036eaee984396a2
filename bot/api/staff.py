"""/api/v1/conversations/{id}/takeover, /release and /messages: a person steps in, and steps out. The
rules live in `bot/staff_actions.py`, shared with the staff web app."""

from __future__ import annotations

from aiohttp import web

from bot.api.auth import TENANT
from bot.api.json import fail, iso, json_body, path_id, reply
from bot.staff_actions import Refused, hand, send_reply

routes = web.RouteTableDef()


@routes.post("/api/v1/conversations/{id}/takeover")
async def takeover(request: web.Request) -> web.Response:
    return await _hand(request, "staff")


@routes.post("/api/v1/conversations/{id}/release")
async def release(request: web.Request) -> web.Response:
    return await _hand(request, "bot")


async def _hand(request: web.Request, to: str) -> web.Response:
    tenant, conversation_id = request[TENANT], path_id(request)
    try:
        await hand(request.app, tenant.id, conversation_id, to)
    except Refused as refused:
        fail(refused.status, refused.message)
    return reply({"id": conversation_id, "handled_by": to})


@routes.post("/api/v1/conversations/{id}/messages")
async def staff_message(request: web.Request) -> web.Response:
    tenant, conversation_id = request[TENANT], path_id(request)
    body = await json_body(request)
    try:
        sent = await send_reply(request.app, tenant.id, conversation_id, body.get("text"))
    except Refused as refused:
        fail(refused.status, refused.message)
    return reply(
        {
            "id": sent.message_id,
            "direction": "out",
            "author": "staff",
            "text": sent.text,
            "status": "queued",
            "created_at": iso(sent.at, tenant.zone),
        },
        status=201,
    )
