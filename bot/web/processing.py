"""/settings/processing: the owner's records of processing (GDPR art. 30), printable, in the owner's
language; the same record as GET /api/v1/processing-record (bot/processing_record.py)."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.processing_record import processing_record
from bot.web.door import STAFF
from bot.web.pages import render
from bot.web.settings_forms import SECTIONS

routes = web.RouteTableDef()


@routes.get("/settings/processing")
async def processing_page(request: web.Request) -> web.Response:
    staff, app = request[STAFF], request.app
    if not staff.is_owner:
        raise web.HTTPForbidden(text="only the business's owner sees its records of processing")
    business = app[keys.PROFILES].settings(staff.business_id)
    record = await processing_record(app[keys.DATABASE], app[keys.CONFIG], business, app[keys.CLOCK].now())
    return render(
        request,
        "settings/processing.html",
        section="processing",
        sections=SECTIONS,
        record=record,
        problems=[],
        bad=set(),
        saved=False,
    )
