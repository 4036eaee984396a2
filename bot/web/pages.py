"""Rendering the staff app's pages: Jinja2 with autoescaping, the person's language, times in the
business's time zone, and the CSRF token every form carries."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot import keys
from bot.web.door import SESSION, SIGNER, STAFF, WEB_TENANTS
from bot.web.i18n import LANGUAGES, WEB_TEMPLATES, translate, translator
from bot.web.reasons import plain_reason, reminder_reason
from flows import formatting


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(WEB_TEMPLATES),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def static_url(request: web.Request, name: str) -> str:
    return str(request.app.router["static"].url_for(filename=name))


def tenant_of(request: web.Request) -> Any:
    return request.app[WEB_TENANTS][request[STAFF].business_id]


def render(request: web.Request, template: str, /, *, status: int = 200, **context: Any) -> web.Response:
    staff = request.get(STAFF)
    locale = staff.locale if staff else _browser_locale(request)
    zone = tenant_of(request).zone if staff else None
    now = request.app[keys.CLOCK].now()
    session = request.get(SESSION)

    def when(moment: datetime | None) -> str:
        """ "14:05" today, "Yesterday 14:05", "Thu 26 Nov 14:05" otherwise."""
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        today = now.astimezone(zone).date()
        if local.date() == today:
            return formatting.clock(local, locale)
        return (
            formatting.slot_title(local, locale, today)
            if local.date() > today
            else _past(local, locale, today)
        )

    def local_clock(moment: datetime) -> str:
        return formatting.clock(moment.astimezone(zone) if zone and moment.tzinfo else moment, locale)

    def day_text(value: Any) -> str:
        return formatting.day(value, locale, now.astimezone(zone).date() if zone else None)

    def long_when(moment: datetime) -> str:
        return formatting.moment(moment.astimezone(zone), locale, now.astimezone(zone).date())

    html = (
        environment()
        .get_template(template)
        .render(
            t=translator(locale),
            locale=locale,
            languages=LANGUAGES,
            staff=staff,
            csrf_token=request.app[SIGNER].csrf_token(session.nonce) if session else "",
            static=lambda name: static_url(request, name),
            when=when,
            why_failed=lambda summary, code=None: translate(locale, plain_reason(summary, code)),
            reminder_reason=lambda reason: reminder_reason(locale, reason),
            clock=local_clock,
            day_text=day_text,
            long_when=long_when,
            business_name=tenant_of(request).profile.name if staff else "",
            path=request.path,
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _past(local: datetime, locale: str, today: Any) -> str:
    if (today - local.date()).days == 1:
        return ("I går " if locale == "da" else "Yesterday ") + formatting.clock(local, locale)
    return formatting.slot_title(local, locale)  # "Thu 26 Nov 10:00"


def _browser_locale(request: web.Request) -> str:
    """Before login: Danish when the browser prefers it to English."""
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("da"):
            return "da"
        if tag.startswith("en"):
            return "en"
    return "en"
