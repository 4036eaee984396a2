"""/login and /logout: email and password, throttled per account and per address, then a signed cookie."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web
from yarl import URL

from bot import audit, keys
from bot.addresses import client_address
from bot.web.door import SIGNER, STAFF
from bot.web.pages import render
from bot.web.passwords import MAX_LENGTH, verify_password
from bot.web.sessions import LOGIN_COOKIE, LOGIN_LIFE, SESSION_COOKIE, SESSION_LIFE, new_nonce
from storage.staff_accounts import (
    end_sessions,
    failures_since,
    forget_failures,
    logged_in,
    login_of,
    note_failure,
    staff_by_id,
)

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_TRIES = 5  # wrong passwords for one account within the window
ADDRESS_TRIES = 30  # wrong logins from one address within the window (an office shares one)


def secure(request: web.Request) -> bool:
    """Cookies are Secure when the app is reached over https (directly or as `server.public_url` says)."""
    return request.secure or request.app[keys.CONFIG].server.public_url.startswith("https://")


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never "//evil.example", "https://..." or "/\t/evil.example" (which URL
    parsing turns into "//evil.example"): an open redirect."""
    if (
        not target
        or len(target) > 500
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return "/inbox"
    if not target.startswith("/") or target.startswith("//"):
        return "/inbox"
    normal = str(URL(target))
    return target if normal.startswith("/") and not normal.startswith("//") else "/inbox"


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if STAFF in request:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return _form(request, status=200, target=request.query.get("next"))


def _form(
    request: web.Request,
    *,
    status: int,
    error: str | None = None,
    email: str = "",
    target: object = None,
) -> web.Response:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or len(nonce) > 64:
        nonce = new_nonce()
    response = render(
        request,
        "login.html",
        status=status,
        error=error,
        email=email,
        next=_safe_next(target if isinstance(target, str) else None),
        login_token=request.app[SIGNER].csrf_token("login:" + nonce),
    )
    _cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_LIFE, "/login")
    return response


def _cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, life: timedelta, path: str
) -> None:
    """Our cookies: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=int(life.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure(request),
        path=path,
    )


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    app = request.app
    form = await request.post()
    nonce = request.cookies.get(LOGIN_COOKIE)
    token = form.get("csrf_token")
    if not nonce or not app[SIGNER].csrf_ok("login:" + nonce, token if isinstance(token, str) else None):
        raise web.HTTPForbidden(text="the login form is out of date (CSRF token); reload the page")
    email, password = form.get("email"), form.get("password")
    target = form.get("next")
    if not isinstance(email, str) or not isinstance(password, str) or not email.strip() or not password:
        return _form(
            request, status=400, error="Enter your email and password.", email=_kept(email), target=target
        )
    if len(email) > 254 or len(password) > MAX_LENGTH:
        return _form(request, status=400, error="Wrong email or password.", email="", target=target)
    now = app[keys.CLOCK].now()
    signer = app[SIGNER]
    account_key = signer.throttle_key("account", email.strip().casefold())
    address_key = signer.throttle_key("address", client_address(request))
    since = now - THROTTLE_WINDOW
    # Counted as a failure before the password is checked, and forgotten if it was right: attempts sent
    # all at once each see the others, so none gets past the limit.
    async with app[keys.DATABASE].write() as session:
        attempt = await note_failure(session, [account_key, address_key], now)
    async with app[keys.DATABASE].read() as session:
        account = await login_of(session, email)
        too_many = (
            await failures_since(session, account_key, since) > ACCOUNT_TRIES
            or await failures_since(session, address_key, since) > ADDRESS_TRIES
        )
    if too_many:
        log.warning("event=web.login_throttled")
        async with app[keys.DATABASE].write() as session:
            await audit.login_failed(session, account.id if account else None, now, throttled=True)
        return _form(
            request,
            status=429,
            error="Too many failed attempts. Wait 15 minutes and try again.",
            email=_kept(email),
            target=target,
        )
    right, fresh_hash = await verify_password(account.password_hash if account else None, password)
    if not right or account is None or not account.active:
        async with app[keys.DATABASE].write() as session:
            await forget_failures(session, before=now - THROTTLE_WINDOW * 4)
            await audit.login_failed(session, account.id if account else None, now)
        log.info("event=web.login_failed")
        return _form(request, status=400, error="Wrong email or password.", email=_kept(email), target=target)
    async with app[keys.DATABASE].write() as session:
        await logged_in(session, account.id, fresh_hash, now)
        await forget_failures(session, account_key)
        await forget_failures(session, ids=attempt)
        staff = await staff_by_id(session, account.id)
        assert staff is not None
        await audit.record(session, staff.business_id, audit.Actor.of(staff), "auth.login", now=now)
    cookie, _ = signer.session_cookie(staff.id, staff.session_version, now)
    response = web.HTTPFound(_safe_next(str(form.get("next") or "")))
    _cookie(request, response, SESSION_COOKIE, cookie, SESSION_LIFE, "/")
    response.del_cookie(LOGIN_COOKIE, path="/login")
    log.info("event=web.login business=%s staff=%s", staff.business_id, staff.id)
    raise response


def _kept(email: object) -> str:
    return email.strip()[:254] if isinstance(email, str) else ""


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """Ends the session for good: its version moves on, so the cookie, replayed, opens nothing (the
    person's sessions on other devices end too)."""
    if STAFF in request:
        staff, now = request[STAFF], request.app[keys.CLOCK].now()
        async with request.app[keys.DATABASE].write() as session:
            await end_sessions(session, staff.id, now)
            await audit.record(session, staff.business_id, audit.Actor.of(staff), "auth.logout", now=now)
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
