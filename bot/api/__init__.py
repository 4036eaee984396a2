"""REST API /api/v1: one door (token → business, JSON errors, one log line per request), then the routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import keys
from bot.api import appointments, availability, clients, conversations, practitioners, staff
from bot.api.auth import CALENDARS, TENANT, TENANTS, Unauthorized, authenticate, tenants_of
from bot.api.json import error_response
from flows.calendar_cache import CalendarCache

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Answers hold personal data: no cache keeps them, and no browser reads them as anything but JSON.
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def setup_api(app: web.Application) -> None:
    """Add the API's routes and its door; needs the config already on the app."""
    app[TENANTS] = tenants_of(app[keys.CONFIG], app[keys.PROFILES])
    app[CALENDARS] = CalendarCache()
    app.middlewares.append(api_door)
    for module in (appointments, availability, clients, conversations, practitioners, staff):
        app.add_routes(module.routes)


def _is_api(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@web.middleware
async def api_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, run the handler, turn every outcome into JSON, and log ids only."""
    if not _is_api(request.path):
        return await handler(request)
    started = time.perf_counter()
    business = "-"
    try:
        tenant = authenticate(request)
        business = tenant.id
        if keys.DATABASE in request.app:
            await request.app[keys.PROFILES].refresh_soon(request.app[keys.DATABASE])
        request[TENANT] = tenant
        response = await handler(request)
    except Unauthorized as refused:
        challenge = 'Bearer realm="jola"' + (', error="invalid_token"' if refused.presented else "")
        response = error_response(401, str(refused), headers={"WWW-Authenticate": challenge})
    except web.HTTPException as raised:
        response = _as_json(raised)
    except Exception as err:  # a bug, not bad input: answer JSON, log the kind only (no personal data)
        log.error(
            "event=api.failed business=%s route=%s error=%s", business, _route(request), type(err).__name__
        )
        response = error_response(500, "internal error")
    if not response.prepared:
        response.headers.update(PRIVATE)
    log.info(
        "event=api.request business=%s method=%s route=%s status=%d ms=%.1f",
        business,
        request.method,
        _route(request),
        response.status,
        (time.perf_counter() - started) * 1000,
    )
    return response


def _as_json(raised: web.HTTPException) -> web.Response:
    """Our own errors are JSON already; the router's 404/405 get a JSON body too."""
    if raised.content_type == "application/json" and raised.text:
        return web.Response(
            status=raised.status, text=raised.text, content_type="application/json", headers=_extra(raised)
        )
    message = raised.reason.lower() if raised.status >= 400 else raised.reason
    return error_response(raised.status, message, headers=_extra(raised) or None)


def _extra(raised: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in raised.headers.items() if k.lower() == "allow"}


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"
