"""/login and /logout: email and password, throttled per account and per address, then a signed cookie."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot import keys
from bot.web.door import SIGNER, STAFF
from bot.web.pages import render
from bot.web.passwords import MAX_LENGTH, verify_password
from bot.web.sessions import LOGIN_COOKIE, LOGIN_LIFE, SESSION_COOKIE, SESSION_LIFE, new_nonce
from storage.staff_accounts import (
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
    """Only a path of this site: never "//evil.example" or "https://..." (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return "/inbox"


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if STAFF in request:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return _form(request, status=200)


def _form(request: web.Request, *, status: int, error: str | None = None, email: str = "") -> web.Response:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or len(nonce) > 64:
        nonce = new_nonce()
    response = render(
        request,
        "login.html",
        status=status,
        error=error,
        email=email,
        next=_safe_next(request.query.get("next")),
        login_token=request.app[SIGNER].csrf_token("login:" + nonce),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=int(LOGIN_LIFE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure(request),
        path="/login",
    )
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    app = request.app
    form = await request.post()
    nonce = request.cookies.get(LOGIN_COOKIE)
    token = form.get("csrf_token")
    if not nonce or not app[SIGNER].csrf_ok("login:" + nonce, token if isinstance(token, str) else None):
        raise web.HTTPForbidden(text="the login form is out of date (CSRF token); reload the page")
    email, password = form.get("email"), form.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email.strip() or not password:
        return _form(request, status=400, error="Enter your email and password.", email=_kept(email))
    if len(email) > 254 or len(password) > MAX_LENGTH:
        return _form(request, status=400, error="Wrong email or password.", email="")
    now = app[keys.CLOCK].now()
    signer = app[SIGNER]
    account_key = signer.throttle_key("account", email.strip().casefold())
    address_key = signer.throttle_key("address", request.remote or "-")
    since = now - THROTTLE_WINDOW
    async with app[keys.DATABASE].read() as session:
        account = await login_of(session, email)
        too_many = (
            await failures_since(session, account_key, since) >= ACCOUNT_TRIES
            or await failures_since(session, address_key, since) >= ADDRESS_TRIES
        )
    if too_many:
        log.warning("event=web.login_throttled")
        return _form(
            request,
            status=429,
            error="Too many failed attempts. Wait 15 minutes and try again.",
            email=_kept(email),
        )
    right, fresh_hash = await verify_password(account.password_hash if account else None, password)
    if not right or account is None or not account.active:
        async with app[keys.DATABASE].write() as session:
            await note_failure(session, [account_key, address_key], now)
            await forget_failures(session, before=now - THROTTLE_WINDOW * 4)
        log.info("event=web.login_failed")
        return _form(request, status=400, error="Wrong email or password.", email=_kept(email))
    async with app[keys.DATABASE].write() as session:
        await logged_in(session, account.id, fresh_hash, now)
        await forget_failures(session, account_key)
        staff = await staff_by_id(session, account.id)
    assert staff is not None
    cookie, _ = signer.session_cookie(staff.id, staff.session_version, now)
    response = web.HTTPFound(_safe_next(str(form.get("next") or "")))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure(request),
        path="/",
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    log.info("event=web.login business=%s staff=%s", staff.business_id, staff.id)
    raise response


def _kept(email: object) -> str:
    return email.strip()[:254] if isinstance(email, str) else ""


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response
