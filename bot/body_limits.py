"""How much of a request's body each part of the server reads. The app's `client_max_size` is the
webhook's (Meta's deliveries, bot/webhook.py) and the REST API reads as much (bot/api/json.py); the staff
app's forms and Meta's callbacks read at most MAX_FORM. The limit is checked while the body is read, so a
body sent without Content-Length (chunked) is held to it too; past it the answer is a 413."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import webhook
from bot.api.json import MAX_BODY as API_BODY
from bot.web.door import MAX_FORM

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def limit_for(path: str) -> int:
    if path == "/webhook":
        return webhook.MAX_BODY
    if path == "/api/v1" or path.startswith("/api/v1/"):
        return API_BODY
    return MAX_FORM


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    limit = limit_for(request.path)
    if limit != request.client_max_size:
        request = request.clone(client_max_size=limit)
    return await handler(request)
