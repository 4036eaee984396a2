"""/audit: the business's audit log for its owners (in the Settings area): who logged in, opened, exported,
erased, corrected or restricted which record, took over which conversation, changed which settings; one
readable line each, newest first, narrowed by who, what, which record and when."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot import audit, keys
from bot.web.door import STAFF
from bot.web.ids import number
from bot.web.pages import render, tenant_of
from bot.web.settings_forms import SECTIONS
from storage.audit import AuditFilter, page, staff_names

routes = web.RouteTableDef()
OTHER_ACTORS = ("api", "cli", "system")


@routes.get("/audit")
async def audit_log(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    if not staff.is_owner:
        raise web.HTTPForbidden(text="only the business's owners read the audit log")
    query = request.query
    zone = tenant_of(request).zone
    shown = {k: query.get(k, "").strip()[:40] for k in ("who", "what", "subject", "id", "from", "to")}
    problems: list[str] = []
    wanted = _filter(shown, zone, problems)
    async with request.app[keys.DATABASE].read() as session:
        team = await staff_names(session, staff.business_id)
        rows, more = (
            ([], None)
            if problems
            else await page(session, staff.business_id, wanted, before=number(query.get("before")))
        )
    return render(
        request,
        "audit.html",
        status=400 if problems else 200,
        section="audit",
        sections=SECTIONS,
        problems=[],
        bad=set(),
        saved=False,
        wrong=problems,
        rows=[_row(r, zone) for r in rows],
        more=more,
        team=team,
        actions=audit.ACTIONS,
        shown=shown,
        others=OTHER_ACTORS,
        next_query=_next_query(shown, more),
    )


def _filter(shown: dict[str, str], zone: Any, problems: list[str]) -> AuditFilter:
    """The page's fields as a filter; what cannot be read goes in `problems` (codes the page words)."""
    who, what = shown["who"], shown["what"]
    actor_kind = actor_id = None
    if who.startswith("staff:") and number(who[6:]) is not None:
        actor_id = number(who[6:])
    elif who in OTHER_ACTORS:
        actor_kind = who
    elif who:
        problems.append("who")
    if what and what not in audit.ACTIONS:
        problems.append("what")
    subject_type = shown["subject"] or None
    if subject_type is not None and subject_type not in audit.SUBJECT_TYPES:
        problems.append("subject")
    subject_id = number(shown["id"].lstrip("#")) if shown["id"] else None
    if shown["id"] and subject_id is None:
        problems.append("id")
    if subject_id is not None and subject_type is None:
        subject_type = "client"  # a bare number: a client's id, the record owners ask about most
    since, until = _day(shown["from"], zone, problems), _day(shown["to"], zone, problems)
    return AuditFilter(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=what or None,
        subject_type=subject_type,
        subject_id=subject_id,
        since=since,
        until=until + timedelta(days=1) if until else None,  # the last day included
    )


def _day(text: str, zone: Any, problems: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append("date")
        return None
    if not 1970 <= day.year <= 2200:
        problems.append("date")
        return None
    return datetime.combine(day, time(), zone)


def _row(row: Any, zone: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        "actor_kind": row.actor_kind,
        "actor_id": row.actor_id,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "detail": row.detail,
    }


def _next_query(shown: dict[str, str], more: int | None) -> str:
    if more is None:
        return ""
    return urlencode({**{k: v for k, v in shown.items() if v}, "before": more})
