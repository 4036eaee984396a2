"""The staff web app: server-rendered pages behind a login, for the people who answer clients.

One door (`web_door`) reads the signed session cookie, loads the staff member, sends strangers to /login
(or answers 401 where a script asked), checks the CSRF token on every change and adds the security headers;
every handler after it reads `request[STAFF]` and scopes every query to that person's business.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot import keys
from bot.web import (
    account,
    audit,
    calendar,
    clients,
    conversations,
    events,
    inbox,
    login,
    overview,
    playground,
    processing,
    replies,
    settings,
)
from bot.web.door import SIGNER, WEB_TENANTS, web_door
from bot.web.sessions import Signer

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_web(app: web.Application) -> None:
    """Add the staff app's routes and its door; needs the config and the API's tenants on the app."""
    from bot.api.auth import TENANTS

    config = app[keys.CONFIG]
    key = config.server.secret_key
    if not key:
        key = secrets.token_urlsafe(32)
        log.warning("event=web.no_secret_key sessions=this_process_only")
    app[SIGNER] = Signer(key)
    app[WEB_TENANTS] = {tenant.id: tenant for tenant in app[TENANTS]}
    app.middlewares.append(web_door)
    for module in (
        login,
        overview,
        inbox,
        conversations,
        events,
        clients,
        account,
        replies,
        calendar,
        processing,  # before settings: /settings/processing is not one of its /settings/{section}
        settings,
        playground,
        audit,
    ):
        app.add_routes(module.routes)
    app.router.add_static("/static/", STATIC, append_version=True, name="static")
    app.on_shutdown.append(_end_streams)


async def _end_streams(app: web.Application) -> None:
    """Open pages' event streams end first, so shutting down never waits them out (browsers reconnect)."""
    if keys.PIPELINE in app:
        app[keys.PIPELINE].live.closing.set()
