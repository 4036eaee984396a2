"""/api/v1/conversations: the inbox as integrations read it, and one conversation's messages."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.api.auth import TENANT
from bot.api.json import MAX_ID, e164, fail, iso, path_id, query_int, reply
from storage.conversation_views import (
    MESSAGE_PAGE,
    MESSAGE_PAGE_MAX,
    STATUS_FILTERS,
    conversation_exists,
    list_conversations,
    messages_of,
)

routes = web.RouteTableDef()

LIST_DEFAULT = 100
LIST_MAX = 500


@routes.get("/api/v1/conversations")
async def list_(request: web.Request) -> web.Response:
    tenant = request[TENANT]
    status = request.query.get("status", "").strip() or None
    if status is not None and status not in STATUS_FILTERS:
        fail(400, f"status must be one of {', '.join(STATUS_FILTERS)}")
    limit = query_int(request, "limit", default=LIST_DEFAULT, low=1, high=LIST_MAX)
    async with request.app[keys.DATABASE].read() as session:
        found = await list_conversations(session, tenant.id, status=status, limit=limit or LIST_DEFAULT)
    zone = tenant.zone
    return reply(
        {
            "conversations": [
                {
                    "id": c.id,
                    "channel": c.channel,
                    "client": {"id": c.client_id, "name": c.client_name, "phone": e164(c.client_phone)},
                    "handled_by": c.handled_by,
                    "needs_staff": c.needs_staff,
                    "state": c.state,
                    "last_message_at": iso(c.last_message_at, zone),
                }
                for c in found
            ]
        }
    )


@routes.get("/api/v1/conversations/{id}/messages")
async def messages(request: web.Request) -> web.Response:
    """Oldest first; `?limit=` (default 50, at most 200) of the latest, `?before=<message id>` pages back."""
    tenant = request[TENANT]
    conversation_id = path_id(request)
    before = query_int(request, "before", default=None, low=1, high=MAX_ID)
    limit = query_int(request, "limit", default=MESSAGE_PAGE, low=1, high=MESSAGE_PAGE_MAX)
    async with request.app[keys.DATABASE].read() as session:
        if not await conversation_exists(session, tenant.id, conversation_id):
            fail(404, "conversation not found")
        found = await messages_of(
            session, tenant.id, conversation_id, before=before, limit=limit or MESSAGE_PAGE
        )
    zone = tenant.zone
    return reply(
        {
            "messages": [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "author": m.author,
                    "text": m.text,
                    "status": m.status,
                    "created_at": iso(m.created_at, zone),
                    **({"error": m.error} if m.status == "failed" and m.error else {}),
                }
                for m in found
            ]
        }
    )
