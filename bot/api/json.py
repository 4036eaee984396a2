"""JSON in and out of the REST API: errors as raised responses, times in the business's zone, safe parsing."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from aiohttp import web

# The largest id a BIGINT column holds; anything outside 1..MAX_ID cannot name a row.
MAX_ID = 2**63 - 1
_E164 = re.compile(r"\+?(\d{8,15})")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")

_ID_DIGITS = len(str(MAX_ID))  # more digits than this is out of range before int() is asked (or refuses)
MAX_BODY = 4 * 1024 * 1024  # the app's client_max_size
# Times the API takes: far enough either way for any real calendar, near enough that arithmetic on them
# (a day later, an appointment's end) never leaves what datetime can hold.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200

_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    405: web.HTTPMethodNotAllowed,
    409: web.HTTPConflict,
    413: web.HTTPRequestEntityTooLarge,
    415: web.HTTPUnsupportedMediaType,
    422: web.HTTPUnprocessableEntity,
    429: web.HTTPTooManyRequests,
    500: web.HTTPInternalServerError,
    503: web.HTTPServiceUnavailable,
}
# Every error answer is `{"error": "<what is wrong, in words>", "code": "<one of these>", ...details}`:
# programs branch on `code` (it follows the status), people read `error`.
ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_code(status: int) -> str:
    return ERROR_CODES.get(status) or ("internal_error" if status >= 500 else "bad_request")


def error_body(status: int, message: str, /, **extra: Any) -> dict[str, Any]:
    """The one shape of every API error; details (`appointments`, `start`...) cannot hide the two keys."""
    details = {k: v for k, v in extra.items() if k not in ("error", "code")}
    return {"error": message, "code": error_code(status), **details}


def error_response(
    status: int, message: str, /, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body = json.dumps(error_body(status, message, **extra))
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def fail(status: int, message: str, /, **extra: Any) -> NoReturn:
    """Stop the handler with a JSON error `{"error": message, "code": ..., ...extra}`."""
    kind = _ERRORS.get(status, web.HTTPBadRequest)
    text = json.dumps(error_body(kind.status_code, message, **extra))
    if kind is web.HTTPRequestEntityTooLarge:  # it wants the limit (without it: a TypeError, a 500)
        raise web.HTTPRequestEntityTooLarge(MAX_BODY, text=text, content_type="application/json")
    raise kind(text=text, content_type="application/json")


def reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """An instant in the business's zone with its UTC offset, e.g. "2026-11-26T10:00:00+01:00"."""
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def e164(phone: str | None) -> str | None:
    """A stored phone as E.164 with its "+" (rows may hold bare digits); None stays None."""
    if not phone:
        return None
    return phone if phone.startswith("+") else f"+{phone}"


def phone_digits(value: str) -> str | None:
    """The digits of an E.164 number ("+45 12 34 56 78" → "4512345678"), or None when it is not one.

    A "+" in an unencoded query string arrives as a space, so a missing "+" is forgiven."""
    cleaned = _PHONE_SEPARATORS.sub("", value)
    match = _E164.fullmatch(cleaned)
    return match.group(1) if match else None


def parse_moment(value: str, zone: ZoneInfo, name: str, *, allow_date: bool = True) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC instant: a date is local midnight, a naive time is
    local time. Anything else is a 400 naming the parameter."""
    text = value.strip()
    parsed = _fromisoformat(text)
    if parsed is None and " " in text:
        # "+01:00" sent unencoded in a query string arrives as " 01:00".
        cut = text.rfind(" ")
        parsed = _fromisoformat(f"{text[:cut]}+{text[cut + 1 :]}")
    if parsed is None or (isinstance(parsed, date) and not isinstance(parsed, datetime) and not allow_date):
        what = "an ISO 8601 date or date-time" if allow_date else "an ISO 8601 date-time"
        fail(400, f"{name} must be {what}, e.g. 2026-11-26T10:00:00+01:00")
    if not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time())
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        fail(400, f"{name} is out of range: give a year from {EARLIEST_YEAR} to {LATEST_YEAR}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        fail(400, f"{name} is out of range")


def _fromisoformat(text: str) -> date | datetime | None:
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text) if len(text) > 10 else None
    except ValueError:
        return None


def path_id(request: web.Request, name: str = "id") -> int:
    """A row id from the path; one that cannot name a row is simply not found."""
    raw = request.match_info.get(name, "")
    number = _number(raw)
    if number is None or not 0 < number <= MAX_ID:
        fail(404, "not found")
    return number


def query_int(request: web.Request, name: str, *, default: int | None, low: int, high: int) -> int | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    number = _number(raw)
    if number is None or not low <= number <= high:
        fail(400, f"{name} must be a whole number from {low} to {high}")
    return number


def _number(raw: str) -> int | None:
    """Plain ASCII digits as a number, or None; more digits than an id has is None before int() sees
    them (past 4,300 digits int() raises, which was a 500)."""
    if not raw.isascii() or not raw.isdigit():
        return None
    digits = raw.lstrip("0") or "0"
    return int(digits) if len(digits) <= _ID_DIGITS else None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx saying what is wrong with it."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        fail(415, "Content-Encoding is not supported; send the body as is")
    if (request.content_length or 0) > MAX_BODY:
        fail(413, f"body is too large (at most {MAX_BODY} bytes)")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        fail(413, f"body is too large (at most {MAX_BODY} bytes)")
    except (ConnectionError, web.RequestPayloadError):
        fail(400, "body is incomplete")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        fail(400, "body is not valid JSON")
    if not isinstance(body, dict):
        fail(400, "body must be a JSON object")
    return body
