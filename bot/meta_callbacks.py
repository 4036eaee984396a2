"""Meta's privacy callbacks: data deletion (with its status page) and deauthorize, both carrying a
`signed_request` verified with the app secret before anything changes.

`signed_request` is `base64url(signature).base64url(payload)`; the signature is HMAC-SHA256 with the app
secret over the encoded payload segment exactly as sent (PLATFORM.md §9, meta/fixtures). A malformed one
is 400, a forged, expired or unverifiable one 403; neither changes anything.

Deauthorize disconnects the named asset's channels (`storage/channel_states.py`): the sender fails what
is queued there with the reason, reminders take another way, a restart keeps them off, and staff see it
on the overview until an owner turns the channel back on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import keys
from bot.privacy import meta_data_deletion, meta_deauthorize
from storage.privacy import deletion_status

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

ALGORITHM = "HMAC-SHA256"
MAX_AGE = timedelta(days=1)  # an older signed_request is refused: a replay, not Meta asking now
MAX_AHEAD = timedelta(minutes=10)  # clocks differ a little, never by this much
MAX_SIGNED_REQUEST = 8 * 1024
MAX_USER_ID = 160  # as client_identities.user_id holds it
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class SignedRequestError(Exception):
    """A signed_request refused; `status` is 400 (malformed) or 403 (not ours, or too old)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _decode(segment: str) -> bytes:
    """base64url without padding, strictly: any other character is malformed, not skipped."""
    try:
        raw = segment.encode("ascii")
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise SignedRequestError(400, "signed_request is not base64url") from None


def parse_signed_request(raw: Any, secret: str, now: datetime) -> dict[str, Any]:
    """The verified payload of a signed_request, or SignedRequestError."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_SIGNED_REQUEST:
        raise SignedRequestError(400, "signed_request missing")
    signature_part, dot, payload_part = raw.strip().partition(".")
    if not dot or not signature_part or not payload_part:
        raise SignedRequestError(400, "signed_request is not <signature>.<payload>")
    signature = _decode(signature_part)
    payload_bytes = _decode(payload_part)
    if not secret:
        raise SignedRequestError(403, "no app secret to verify with")
    expected = hmac.new(secret.encode(), payload_part.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise SignedRequestError(403, "signature does not match")
    try:
        payload = json.loads(payload_bytes)
    except (UnicodeDecodeError, ValueError):
        raise SignedRequestError(400, "payload is not JSON") from None
    if not isinstance(payload, dict):
        raise SignedRequestError(400, "payload is not a JSON object")
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        raise SignedRequestError(400, "algorithm must be HMAC-SHA256")
    issued = payload.get("issued_at")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise SignedRequestError(400, "issued_at missing")
    age = now.timestamp() - issued
    if age > MAX_AGE.total_seconds() or -age > MAX_AHEAD.total_seconds():
        raise SignedRequestError(403, "issued_at too old or in the future")
    return payload


def _text_id(value: Any) -> str | None:
    """A user, page or profile id as Meta sends it (a string, sometimes a number)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= MAX_USER_ID else None


def _refuse(err: SignedRequestError, route: str) -> web.Response:
    log.warning("event=meta.callback_refused route=%s status=%d reason=%s", route, err.status, err)
    return web.json_response({"error": str(err)}, status=err.status, headers=HEADERS)


async def _verified(request: web.Request) -> dict[str, Any]:
    try:
        form = (
            await request.post()
            if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
            else {}
        )
    except (ValueError, LookupError):  # bytes not in its charset, an unknown charset, broken multipart
        raise SignedRequestError(400, "the form could not be read") from None
    return parse_signed_request(
        form.get("signed_request"), request.app[keys.CONFIG].meta.app_secret, request.app[keys.CLOCK].now()
    )


def _status_url(request: web.Request, code: str) -> str:
    base = request.app[keys.CONFIG].server.public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    return f"{base}/meta/data-deletion/status?code={code}"


@routes.post("/meta/data-deletion")
async def data_deletion(request: web.Request) -> web.Response:
    """Erase every client the user id names, in any business; answer where to read the outcome."""
    try:
        payload = await _verified(request)
    except SignedRequestError as err:
        return _refuse(err, "data-deletion")
    user_id = _text_id(payload.get("user_id"))
    if user_id is None:
        return _refuse(SignedRequestError(400, "user_id missing"), "data-deletion")
    code = await meta_data_deletion(request.app[keys.DATABASE], user_id, request.app[keys.CLOCK].now())
    return web.json_response({"url": _status_url(request, code), "confirmation_code": code}, headers=HEADERS)


@routes.get("/meta/data-deletion/status")
async def data_deletion_status(request: web.Request) -> web.Response:
    """The outcome of one deletion request, for the person who asked: JSON, or a small page for a browser."""
    code = request.query.get("code", "").strip()
    found = None
    if code and len(code) <= 64:
        async with request.app[keys.DATABASE].read() as session:
            found = await deletion_status(session, code)
    if found is None:
        raise web.HTTPNotFound(text="no deletion request with that code", headers=HEADERS)
    when = found.at.isoformat(timespec="seconds")
    if found.erased:
        said = f"Done: the messages and personal details we held for you were deleted on {when}."
    else:
        said = (
            f"Done on {when}: we hold no messages or personal details under the account that asked "
            "(clients who only wrote to a business on WhatsApp, Messenger or Instagram can ask that "
            "business to delete their data)."
        )
    if "text/html" in request.headers.get("Accept", ""):
        page = (
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>Data deletion</title>'
            f"<h1>Data deletion request {html.escape(code)}</h1><p>{html.escape(said)}</p></html>"
        )
        return web.Response(text=page, content_type="text/html", headers=HEADERS)
    body = {"confirmation_code": code, "status": found.status, "completed_at": when, "message": said}
    return web.json_response(body, headers=HEADERS)


@routes.post("/meta/deauthorize")
async def deauthorize(request: web.Request) -> web.Response:
    """Someone removed the app: the channels of the asset it names (a Page's `profile_id`, or the user id
    when that is one of our assets) are marked disconnected; a person alone is only recorded."""
    try:
        payload = await _verified(request)
    except SignedRequestError as err:
        return _refuse(err, "deauthorize")
    assets = {a for a in (_text_id(payload.get(k)) for k in ("profile_id", "page_id", "user_id")) if a}
    if not assets:
        return _refuse(SignedRequestError(400, "user_id missing"), "deauthorize")
    switched = await meta_deauthorize(request.app[keys.DATABASE], assets, request.app[keys.CLOCK].now())
    return web.json_response({"received": True, "channels_disconnected": switched}, headers=HEADERS)
