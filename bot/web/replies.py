"""/replies: the business's saved replies. Every colleague uses them (typing "/" in a reply box offers
them); the owner adds, changes and deletes them."""

from __future__ import annotations

import re

from aiohttp import web

from bot import keys
from bot.web.door import STAFF
from bot.web.ids import path_id
from bot.web.pages import render
from storage.saved_replies import (
    SHORTCUT_LIMIT,
    TEXT_LIMIT,
    ShortcutTaken,
    delete_reply,
    save_reply,
    saved_replies,
)

routes = web.RouteTableDef()
SHORTCUT = re.compile(rf"^[a-z0-9æøå-]{{1,{SHORTCUT_LIMIT}}}$")


@routes.get("/replies")
async def replies(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _page(
    request: web.Request, *, status: int = 200, error: str | None = None, form: dict[str, str] | None = None
) -> web.Response:
    staff = request[STAFF]
    async with request.app[keys.DATABASE].read() as session:
        found = await saved_replies(session, staff.business_id)
    return render(
        request,
        "replies.html",
        status=status,
        replies=found,
        error=error,
        form=form or {},
        shortcut_limit=SHORTCUT_LIMIT,
        text_limit=TEXT_LIMIT,
    )


def _owner(request: web.Request) -> None:
    if not request[STAFF].is_owner:
        raise web.HTTPForbidden(text="only the business's owner changes saved replies")


@routes.post("/replies")
async def add(request: web.Request) -> web.StreamResponse:
    return await _save(request, None)


@routes.post("/replies/{id}")
async def change(request: web.Request) -> web.StreamResponse:
    return await _save(request, path_id(request, "saved reply"))


async def _save(request: web.Request, reply_id: int | None) -> web.StreamResponse:
    _owner(request)
    form = await request.post()
    shortcut = form.get("shortcut", "")
    text = form.get("text", "")
    if not isinstance(shortcut, str) or not isinstance(text, str):
        return await _page(request, status=400, error="Fill in a shortcut and a text.")
    shortcut, text = shortcut.strip().lstrip("/").casefold(), text.replace("\r\n", "\n").strip()
    kept = {"shortcut": shortcut, "text": text, "id": str(reply_id or "")}
    if not shortcut or not text:
        return await _page(request, status=400, error="Fill in a shortcut and a text.", form=kept)
    if not SHORTCUT.match(shortcut):
        return await _page(
            request, status=400, error="A shortcut is one word: letters, digits and dashes.", form=kept
        )
    if len(text) > TEXT_LIMIT:
        return await _page(
            request, status=400, error="A saved reply can be at most 1000 characters.", form=kept
        )
    staff = request[STAFF]
    try:
        async with request.app[keys.DATABASE].write() as session:
            if not await save_reply(
                session, staff.business_id, shortcut, text, request.app[keys.CLOCK].now(), reply_id
            ):
                raise web.HTTPNotFound(text="no such saved reply")
    except ShortcutTaken:
        return await _page(request, status=400, error="Another saved reply has that shortcut.", form=kept)
    raise web.HTTPSeeOther("/replies")


@routes.post("/replies/{id}/delete")
async def remove(request: web.Request) -> web.StreamResponse:
    _owner(request)
    reply_id, staff = path_id(request, "saved reply"), request[STAFF]
    async with request.app[keys.DATABASE].write() as session:
        if not await delete_reply(session, staff.business_id, reply_id):
            raise web.HTTPNotFound(text="no such saved reply")
    raise web.HTTPSeeOther("/replies")
