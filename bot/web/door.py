"""The staff app's door: who is asking (signed session cookie), may they (CSRF on every change), and the
headers every page carries. Requests outside the app (webhook, API, health) pass straight through."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from bot import keys
from bot.web.sessions import SESSION_COOKIE, Session, Signer
from storage.staff_accounts import StaffView, staff_by_id

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SIGNER: web.AppKey[Signer] = web.AppKey("web_signer")
WEB_TENANTS: web.AppKey[dict[str, Any]] = web.AppKey("web_tenants")
STAFF: web.RequestKey[StaffView] = web.RequestKey("web_staff")
SESSION: web.RequestKey[Session] = web.RequestKey("web_session")

_OUTSIDE = ("/api/", "/webhook", "/healthz", "/metrics", "/meta/")
PUBLIC = ("/login", "/favicon.ico")
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM = 64 * 1024
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def is_web(path: str) -> bool:
    return not (path == "/api/v1" or path.startswith(_OUTSIDE))


def wants_page(request: web.Request) -> bool:
    """A browser asking for a page (redirect it to /login), not a script (answer 401)."""
    accept = request.headers.get("Accept", "")
    return request.method in ("GET", "HEAD") and "text/html" in accept


@web.middleware
async def web_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_web(request.path):
        return await handler(request)
    started = time.perf_counter()
    try:
        response = await _through(request, handler)
    except web.HTTPException as raised:
        response = raised
    except Exception as err:  # a bug, not bad input: a plain page, the kind of error in the log (no data)
        log.error("event=web.failed route=%s error=%s", _route(request), type(err).__name__)
        log.debug("event=web.failed_trace", exc_info=True)
        response = web.Response(
            status=500, text="Something went wrong on our side. Try again.", content_type="text/plain"
        )
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    staff = request.get(STAFF)
    log.info(
        "event=web.request business=%s staff=%s method=%s route=%s status=%d ms=%.1f",
        staff.business_id if staff else "-",
        staff.id if staff else "-",
        request.method,
        _route(request),
        response.status,
        (time.perf_counter() - started) * 1000,
    )
    return response


async def _through(request: web.Request, handler: Handler) -> web.StreamResponse:
    app = request.app
    if request.path.startswith("/static/"):
        return await handler(request)
    if request.method in CHANGES and (request.content_length or 0) > MAX_FORM:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM, actual_size=request.content_length or 0)
    session = app[SIGNER].read_session(request.cookies.get(SESSION_COOKIE), app[keys.CLOCK].now())
    if session is not None:
        await app[keys.PROFILES].refresh_soon(app[keys.DATABASE])  # another process's settings save
        async with app[keys.DATABASE].read() as db:
            staff = await staff_by_id(db, session.staff_id)
        if staff is not None and staff.active and staff.session_version == session.version:
            request[STAFF] = staff
            request[SESSION] = session
    if request.path in PUBLIC:
        await _read_form(request)
        return await handler(request)
    if STAFF not in request:
        if wants_page(request):
            target = request.path_qs if request.path != "/" else ""
            raise web.HTTPFound("/login" + (f"?next={quote(target, safe='')}" if target else ""))
        raise web.HTTPUnauthorized(text="log in first", content_type="text/plain")
    if request.method in CHANGES:
        form = await _read_form(request)
        token = request.headers.get("X-CSRF-Token")
        if token is None and form is not None:
            token = form.get("csrf_token")
        if not app[SIGNER].csrf_ok(request[SESSION].nonce, token if isinstance(token, str) else None):
            raise web.HTTPForbidden(
                text="the form is out of date (CSRF token); reload the page", content_type="text/plain"
            )
    return await handler(request)


async def _read_form(request: web.Request) -> MultiDictProxy[str | bytes | web.FileField] | None:
    """A change's form, read here before any handler uses it (aiohttp keeps it for them); one that cannot
    be read (bytes not in its charset, an unknown charset, broken multipart) is the sender's 400."""
    if request.method not in CHANGES or request.content_type not in FORMS:
        return None
    try:
        return await request.post()
    except (ValueError, LookupError):
        raise web.HTTPBadRequest(text="the form could not be read", content_type="text/plain") from None


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"
