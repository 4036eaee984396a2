"""GET/POST /webhook: verify, store durably, answer 200; everything else happens after."""

from __future__ import annotations

import hmac
import logging
import time

from aiohttp import web

from bot import keys
from bot.channels import BY_OBJECT
from bot.inbox import StoreFailed
from bot.signature import verify
from flows.messages import EchoMessage, StatusUpdate
from storage import json_codec
from storage.inbox import NewEvent

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# Meta's largest delivery is 3 MB; anything bigger is not Meta.
MAX_BODY = 4 * 1024 * 1024


@routes.get("/webhook")
async def handshake(request: web.Request) -> web.Response:
    meta = request.app[keys.CONFIG].meta
    mode = request.query.get("hub.mode")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    expected = meta.verify_token
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        log.info("event=webhook.verified")
        return web.Response(text=challenge, content_type="text/plain")
    log.warning("event=webhook.verify_refused mode_ok=%s", mode == "subscribe")
    raise web.HTTPForbidden(text="verify token mismatch")


@routes.post("/webhook")
async def receive(request: web.Request) -> web.Response:
    with request.app[keys.PIPELINE].pressure.delivery():
        return await _receive(request)


async def _receive(request: web.Request) -> web.Response:
    started = time.perf_counter()
    app = request.app
    metrics = app[keys.METRICS]
    raw = await request.read()
    header = request.headers.get("X-Hub-Signature-256")
    if not header:
        metrics.count(metrics.deliveries, "-", "unsigned")
        log.warning("event=webhook.rejected reason=unsigned bytes=%d", len(raw))
        raise web.HTTPUnauthorized(text="missing X-Hub-Signature-256")
    if not verify(raw, header, [app[keys.CONFIG].meta.app_secret]):
        metrics.count(metrics.deliveries, "-", "bad_signature")
        log.warning("event=webhook.rejected reason=bad_signature bytes=%d", len(raw))
        raise web.HTTPForbidden(text="signature mismatch")
    try:
        body = json_codec.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        metrics.count(metrics.deliveries, "-", "malformed")
        log.warning("event=webhook.dropped reason=not_a_json_object bytes=%d", len(raw))
        raise web.HTTPBadRequest(text="body is not a JSON object")
    kind = body.get("object")
    adapter = BY_OBJECT.get(kind) if isinstance(kind, str) else None
    if adapter is None:
        metrics.count(metrics.deliveries, "unknown", "ignored")
        log.info("event=webhook.dropped reason=unknown_object")
        return web.Response(text="ignored")
    parsed = adapter.parse(body, app[keys.DIRECTORY])
    events = [
        NewEvent(
            provider_key=adapter.provider_key(item),
            business_id=item.business_id,
            channel_id=item.channel_id,
            conversation_key=item.conversation_key,
            kind=_kind(item),
            payload=item.to_json(),
        )
        for item in parsed.items
    ]
    try:
        stored = await app[keys.PIPELINE].inbox.store(events)
    except StoreFailed:
        metrics.count(metrics.deliveries, kind, "store_failed")
        raise web.HTTPServiceUnavailable(text="could not store the delivery; please retry") from None
    for reason, count in parsed.dropped.items():
        metrics.count(metrics.items, "dropped", reason, amount=count)
    metrics.count(metrics.deliveries, kind, "stored")
    metrics.ack_latency.observe(time.perf_counter() - started)
    duplicates = len(events) - len(stored)
    if duplicates or parsed.dropped or not events:  # the rest are in the inbox writer's line per group
        log.info(
            "event=webhook.delivery object=%s items=%d stored=%d duplicates=%d dropped=%d",
            kind,
            len(events),
            len(stored),
            duplicates,
            sum(parsed.dropped.values()),
        )
    return web.Response(text="EVENT_RECEIVED")


def _kind(item: object) -> str:
    if isinstance(item, StatusUpdate):
        return "status"
    return "echo" if isinstance(item, EchoMessage) else "message"
