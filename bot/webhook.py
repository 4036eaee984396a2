"""GET/POST /webhook: verify, store durably, answer 200; everything else happens after."""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import keys
from bot.channels import BY_OBJECT
from bot.channels.parsing import Parsed
from bot.inbox import StoreFailed
from bot.metrics import Metrics
from bot.signature import verify
from flows.messages import EchoMessage, StatusUpdate
from storage import json_codec
from storage.inbox import NewEvent

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# Meta's largest delivery is 3 MB; anything bigger is not Meta.
MAX_BODY = 4 * 1024 * 1024
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
_SURROGATE = re.compile("[\ud800-\udfff]")

# `field` values of `changes[]` Meta documents (WhatsApp, Page, Instagram); the metric label of a dropped
# change is one of these or "other", so a sender cannot grow /metrics with made-up names.
KNOWN_FIELDS = frozenset(
    {
        "account_alerts",
        "account_review_update",
        "account_settings_update",
        "account_update",
        "automatic_events",
        "business_capability_update",
        "business_status_update",
        "calls",
        "comments",
        "feed",
        "flows",
        "history",
        "live_comments",
        "mentions",
        "message_echoes",
        "message_template_components_update",
        "message_template_quality_update",
        "message_template_status_update",
        "messages",
        "messaging_handovers",
        "missing",
        "partner_solutions",
        "payment_configuration_update",
        "phone_number_name_update",
        "phone_number_quality_update",
        "security",
        "smb_app_state_sync",
        "smb_message_echoes",
        "story_insights",
        "template_category_update",
        "user_preferences",
    }
)


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
    raw = await _signed_body(request, metrics)
    meta = app[keys.CONFIG].meta
    if not verify(raw, request.headers["X-Hub-Signature-256"], [meta.app_secret, meta.instagram_app_secret]):
        metrics.count(metrics.deliveries, "-", "bad_signature")
        log.warning("event=webhook.rejected reason=bad_signature bytes=%d", len(raw))
        raise _refused(web.HTTPForbidden, "signature mismatch")
    body = parse_json(raw)
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
    _clamp_future(parsed, app[keys.CLOCK].now(), metrics)
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
        metrics.count(metrics.items, "dropped", drop_label(reason), amount=count)
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


async def _signed_body(request: web.Request, metrics: Metrics) -> bytes:
    """The body exactly as sent, read only for a request that carries a well-formed signature and a
    plain (not compressed) body of at most MAX_BODY bytes; anything else is refused before reading it."""
    header = request.headers.get("X-Hub-Signature-256")
    size = request.content_length
    if not header:
        metrics.count(metrics.deliveries, "-", "unsigned")
        log.warning("event=webhook.rejected reason=unsigned bytes=%s", size if size is not None else "-")
        raise _refused(web.HTTPUnauthorized, "missing X-Hub-Signature-256")
    if not _SIGNATURE.fullmatch(header.strip()):
        metrics.count(metrics.deliveries, "-", "bad_signature")
        log.warning("event=webhook.rejected reason=malformed_signature")
        raise _refused(web.HTTPForbidden, "signature mismatch")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        metrics.count(metrics.deliveries, "-", "encoded")
        log.warning("event=webhook.rejected reason=content_encoding")
        raise _refused(web.HTTPUnsupportedMediaType, "Content-Encoding is not supported; send the body as is")
    if size is not None and size > MAX_BODY:
        metrics.count(metrics.deliveries, "-", "too_large")
        log.warning("event=webhook.rejected reason=too_large bytes=%d", size)
        raise _refused(web.HTTPRequestEntityTooLarge, max_size=MAX_BODY, actual_size=size)
    try:
        return await request.read()  # client_max_size (MAX_BODY) is enforced while reading
    except web.HTTPRequestEntityTooLarge:
        metrics.count(metrics.deliveries, "-", "too_large")
        log.warning("event=webhook.rejected reason=too_large")
        raise _refused(web.HTTPRequestEntityTooLarge, max_size=MAX_BODY, actual_size=MAX_BODY + 1) from None
    except (ConnectionError, web.RequestPayloadError):  # the client went, or broke its own framing
        metrics.count(metrics.deliveries, "-", "incomplete")
        raise _refused(web.HTTPBadRequest, "incomplete body") from None


def _refused(kind: type[web.HTTPException], text: str | None = None, **kw: Any) -> web.HTTPException:
    """An error that closes the connection: whatever is left of a refused body is not worth reading."""
    error = kind(text=text, **kw) if text is not None else kind(**kw)
    error.force_close()
    return error


def parse_json(raw: bytes) -> Any:
    """The delivery's JSON, or None. orjson refuses a lone surrogate escape ("\\ud800"), which is valid
    JSON; then the slower parser reads it and each lone surrogate becomes U+FFFD, so one odd string costs
    one character, not the whole delivery."""
    try:
        return json_codec.loads(raw)
    except ValueError:
        pass
    try:
        return _without_surrogates(json.loads(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def drop_label(reason: str) -> str:
    """A dropped item's metric label, from a fixed set: a change's `field` is named only when known."""
    if reason.startswith("field:"):
        field = reason.removeprefix("field:")
        return reason if field in KNOWN_FIELDS else "field:other"
    return reason


def _clamp_future(parsed: Parsed, now: datetime, metrics: Metrics) -> None:
    """A platform timestamp ahead of our clock becomes the time we received it: a delivery stamped next
    year must not open a messaging window (or order a conversation) as if it had happened then."""
    clamped = 0
    for index, item in enumerate(parsed.items):
        if item.timestamp > now:
            parsed.items[index] = replace(item, timestamp=now)
            clamped += 1
    if clamped:
        metrics.count(metrics.items, "clamped", "future_timestamp", amount=clamped)


def _kind(item: object) -> str:
    if isinstance(item, StatusUpdate):
        return "status"
    return "echo" if isinstance(item, EchoMessage) else "message"
