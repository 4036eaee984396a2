"""/api/v1/audit: the business's audit log for integrations (a compliance archive, a SIEM), the same rows
and filters as the owners' /audit page, newest first, a page at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot import audit, keys
from bot.api.auth import TENANT
from bot.api.json import MAX_ID, fail, iso, parse_moment, query_int, reply
from storage.audit import PAGE_MAX, AuditFilter, page, staff_names

routes = web.RouteTableDef()

LIST_DEFAULT = 100


@routes.get("/api/v1/audit")
async def audit_log(request: web.Request) -> web.Response:
    """`from`, `to` (ISO 8601; a date alone as `to` takes in that whole day), `action`, `subject`
    ("client:12", "conversation:7", "staff:3", or a client's bare id), `actor` ("staff:3", "api", "cli",
    "system"), `before` (the previous page's `next_before`), `limit` (1-500)."""
    tenant = request[TENANT]
    query, zone = request.query, tenant.zone
    since = parse_moment(query["from"], zone, "from") if query.get("from", "").strip() else None
    raw_to = query.get("to", "").strip()
    until = parse_moment(raw_to, zone, "to") if raw_to else None
    if until is not None and len(raw_to) == 10:
        until += timedelta(days=1)
    if since is not None and until is not None and since >= until:
        fail(400, "from must be before to")
    action = query.get("action", "").strip() or None
    if action is not None and action not in audit.ACTIONS:
        fail(400, f"action must be one of {', '.join(audit.ACTIONS)}")
    subject_type, subject_id = _subject(query.get("subject", "").strip())
    actor_kind, actor_id = _actor(query.get("actor", "").strip())
    before = query_int(request, "before", default=None, low=1, high=MAX_ID)
    limit = query_int(request, "limit", default=LIST_DEFAULT, low=1, high=PAGE_MAX) or LIST_DEFAULT
    wanted = AuditFilter(actor_kind, actor_id, action, subject_type, subject_id, since, until)
    async with request.app[keys.DATABASE].read() as session:
        rows, more = await page(session, tenant.id, wanted, before=before, limit=limit)
        names = await staff_names(session, tenant.id) if rows else {}
    return reply(
        {
            "events": [
                {
                    "id": row.id,
                    "at": iso(row.at, zone),
                    "actor": {
                        "kind": row.actor_kind,
                        "staff_id": row.actor_id,
                        "name": names.get(row.actor_id) if row.actor_id is not None else None,
                    },
                    "action": row.action,
                    "subject": None
                    if row.subject_type is None
                    else {"type": row.subject_type, "id": row.subject_id},
                    "detail": row.detail,
                }
                for row in rows
            ],
            "next_before": more,
        }
    )


def _subject(text: str) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    kind, _, ident = text.rpartition(":")
    kind = kind or "client"
    number = _id(ident)
    if kind not in audit.SUBJECT_TYPES or number is None:
        fail(
            400, f"subject must be a kind and an id, e.g. client:12 (kinds: {', '.join(audit.SUBJECT_TYPES)})"
        )
    return kind, number


def _actor(text: str) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    kind, _, ident = text.partition(":")
    if kind in ("api", "cli", "system") and not ident:
        return kind, None
    number = _id(ident)
    if kind in ("staff", "owner") and number is not None:
        return None, number
    fail(400, 'actor must be "staff:<id>", "api", "cli" or "system"')


def _id(text: Any) -> int | None:
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
