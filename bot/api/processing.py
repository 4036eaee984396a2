"""/api/v1/processing-record: the business's records of processing (GDPR art. 30) as JSON, the same
record as the owner's page /settings/processing (bot/processing_record.py)."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.api.auth import TENANT
from bot.api.json import reply
from bot.processing_record import processing_record

PATH = "/api/v1/processing-record"
routes = web.RouteTableDef()


@routes.get(PATH)
async def record(request: web.Request) -> web.Response:
    app, tenant = request.app, request[TENANT]
    business = app[keys.PROFILES].settings(tenant.id)
    found = await processing_record(app[keys.DATABASE], app[keys.CONFIG], business, app[keys.CLOCK].now())
    return reply(found)
