"""/account: the signed-in staff member's own settings; for now the language of the app."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import update

from bot import keys
from bot.web.door import STAFF
from bot.web.i18n import LANGUAGES
from bot.web.pages import render
from storage.models import Staff

routes = web.RouteTableDef()


@routes.get("/account")
async def account(request: web.Request) -> web.StreamResponse:
    return render(request, "account.html", saved=request.query.get("saved") == "1")


@routes.post("/account/language")
async def language(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    chosen = (await request.post()).get("language")
    if chosen not in LANGUAGES:
        return render(
            request, "account.html", status=400, saved=False, error="Choose a language from the list."
        )
    async with request.app[keys.DATABASE].write() as session:
        await session.execute(
            update(Staff)
            .where(Staff.id == staff.id)
            .values(locale=chosen, updated_at=request.app[keys.CLOCK].now())
            .execution_options(synchronize_session=False)
        )
    raise web.HTTPSeeOther("/account?saved=1")
