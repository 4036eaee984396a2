"""/account: the signed-in staff member's own settings; for now the language of the app."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import update

from bot import audit, keys
from bot.web.door import STAFF
from bot.web.i18n import LANGUAGES
from bot.web.pages import render, tenant_of
from storage.models import Staff

routes = web.RouteTableDef()


@routes.get("/account")
async def account(request: web.Request) -> web.StreamResponse:
    return _page(request, saved=request.query.get("saved") == "1")


def _page(
    request: web.Request, *, status: int = 200, saved: bool = False, error: str | None = None
) -> web.Response:
    people = tenant_of(request).profile.practitioners
    return render(request, "account.html", status=status, saved=saved, error=error, practitioners=people)


@routes.post("/account/calendar")
async def calendar_column(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    chosen = (await request.post()).get("practitioner", "")
    people = {p.key for p in tenant_of(request).profile.practitioners}
    if not isinstance(chosen, str) or (chosen != "" and chosen not in people):
        return _page(request, status=400, error="Choose a practitioner from the list.")
    async with request.app[keys.DATABASE].write() as session:
        await session.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(practitioner=chosen or None, updated_at=request.app[keys.CLOCK].now())
            .execution_options(synchronize_session=False)
        )
        await audit.account_event(
            session,
            "account.updated",
            staff.id,
            audit.Actor.of(staff),
            now=request.app[keys.CLOCK].now(),
            fields=["calendar"],
        )
    raise web.HTTPSeeOther("/account?saved=1")


@routes.post("/account/language")
async def language(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    chosen = (await request.post()).get("language")
    if not isinstance(chosen, str) or chosen not in LANGUAGES:
        return _page(request, status=400, error="Choose a language from the list.")
    async with request.app[keys.DATABASE].write() as session:
        await session.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(locale=chosen, updated_at=request.app[keys.CLOCK].now())
            .execution_options(synchronize_session=False)
        )
        await audit.account_event(
            session,
            "account.updated",
            staff.id,
            audit.Actor.of(staff),
            now=request.app[keys.CLOCK].now(),
            fields=["language"],
        )
    raise web.HTTPSeeOther("/account?saved=1")
