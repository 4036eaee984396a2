"""REST API /api/v1: one door (token → business, JSON errors, one log line per request), then the routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from json import loads  # (the name `json` here is bot.api.json)

from aiohttp import web

from bot import keys
from bot.api import (
    appointments,
    audit,
    availability,
    clients,
    conversations,
    openapi,
    practitioners,
    processing,
    staff,
)
from bot.api.auth import CALENDARS, TENANT, TENANTS, Unauthorized, tenants_of
from bot.api.json import error_code, error_response
from bot.api.limits import LIMITS, ApiLimits, Throttled, admit
from flows.calendar_cache import CalendarCache

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Answers hold personal data: no cache keeps them, and no browser reads them as anything but JSON.
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Open without a token: the reference says what the API is, and holds no business's data.
PUBLIC = frozenset({openapi.PATH})
_BODY_HEADERS = ("content-type", "content-length", "content-encoding")


def setup_api(app: web.Application) -> None:
    """Add the API's routes and its door; needs the config already on the app."""
    app[TENANTS] = tenants_of(app[keys.CONFIG], app[keys.PROFILES])
    app[LIMITS] = ApiLimits(app[keys.CONFIG].api, app[keys.CONFIG].server.secret_key)
    app[CALENDARS] = CalendarCache()
    app.middlewares.append(api_door)
    for module in (
        appointments,
        audit,
        availability,
        clients,
        conversations,
        openapi,
        practitioners,
        processing,
        staff,
    ):
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
        if request.path not in PUBLIC:
            tenant = await admit(request)
            business = tenant.id
            if keys.DATABASE in request.app:
                await request.app[keys.PROFILES].refresh_soon(request.app[keys.DATABASE])
            request[TENANT] = tenant
        response = await handler(request)
    except Throttled as throttled:
        response = throttled.response()
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
        response = _uniform(response)
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


def _uniform(response: web.StreamResponse) -> web.StreamResponse:
    """An error answered in any other shape (a handler's own response) is put in the one shape."""
    if response.status < 400 or not isinstance(response, web.Response):
        return response
    body = None
    if response.content_type == "application/json" and response.body:
        try:
            body = loads(response.text or "")
        except ValueError:
            body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        if body.get("code") == error_code(response.status):
            return response
        message, details = body["error"], body
    else:
        message, details = (response.reason or "error").lower(), {}
    kept = {k: v for k, v in response.headers.items() if k.lower() not in _BODY_HEADERS}
    return error_response(response.status, message, headers=kept or None, **details)


def _extra(raised: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in raised.headers.items() if k.lower() == "allow"}


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"
