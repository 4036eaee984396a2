"""The inbox: the business's conversations, those that need a person first to the eye, newest activity
first, filtered, searched and paged."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.web.door import STAFF
from bot.web.pages import render
from storage.conversation_views import INBOX_FILTERS, inbox_page
from storage.staff_accounts import colleagues

routes = web.RouteTableDef()


@routes.get("/inbox")
async def inbox(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    show = request.query.get("show", "all")
    if show not in INBOX_FILTERS:
        show = "all"
    search = request.query.get("q", "").strip()[:100] or None
    after = request.query.get("after") or None
    async with request.app[keys.DATABASE].read() as session:
        page = await inbox_page(session, staff.business_id, staff.id, show=show, search=search, after=after)
        names = {s.id: s.name for s in await colleagues(session, staff.business_id)}
    return render(
        request,
        "inbox.html",
        page=page,
        show=show,
        search=search or "",
        after=after,
        filters=INBOX_FILTERS,
        names=names,
    )
