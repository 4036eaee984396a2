"""/events: server-sent events for the staff app's open pages, and /inbox/counts, which they fetch to
know whether something new needs a person (to notify). See bot/live.py for where changes come from.

Each event says which conversation changed (or that the page fell behind and should fetch everything); a
page fetches what it shows, so after a dropped connection the browser reconnects (EventSource does so by
itself), fetches once, and has lost or repeated nothing."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bot import keys
from bot.web.door import SESSION, STAFF
from storage.conversation_views import inbox_counts
from storage.staff_accounts import staff_by_id

routes = web.RouteTableDef()
HEARTBEAT = 20.0  # seconds: keeps proxies from closing an idle stream, and notices a gone browser


@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    hub = request.app[keys.PIPELINE].live
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass events through as they come
        }
    )
    await response.prepare(request)
    stream = hub.subscribe(staff.business_id)
    try:
        await response.write(b"retry: 3000\nevent: hello\ndata: {}\n\n")
        closing = asyncio.ensure_future(hub.closing.wait())
        try:
            while not hub.closing.is_set():
                getter = asyncio.ensure_future(stream.queue.get())
                done, _ = await asyncio.wait(
                    {getter, closing}, timeout=HEARTBEAT, return_when="FIRST_COMPLETED"
                )
                if getter not in done:
                    getter.cancel()
                    if not done:
                        if not await _still_signed_in(request):
                            break  # logged out, a new password, or the account closed meanwhile
                        await response.write(b": keep-alive\n\n")
                    continue
                changes = [getter.result()]
                while not stream.queue.empty():
                    changes.append(stream.queue.get_nowait())
                if stream.behind:
                    stream.behind = False
                    await response.write(b"event: resync\ndata: {}\n\n")
                    continue
                for change in dict.fromkeys(c for c in changes if c.kind != "resync"):
                    await response.write(f"data: {json.dumps(change.to_json())}\n\n".encode())
        finally:
            closing.cancel()
    except ConnectionResetError:  # the browser went away
        pass
    finally:
        hub.unsubscribe(stream)
    return response


async def _still_signed_in(request: web.Request) -> bool:
    session, staff = request[SESSION], request[STAFF]
    async with request.app[keys.DATABASE].read() as db:
        now = await staff_by_id(db, staff.id)
    return now is not None and now.active and now.session_version == session.version


@routes.get("/inbox/counts")
async def counts(request: web.Request) -> web.Response:
    staff = request[STAFF]
    async with request.app[keys.DATABASE].read() as session:
        found = await inbox_counts(session, staff.business_id, staff.id)
    return web.json_response(found, headers={"Cache-Control": "no-store"})
