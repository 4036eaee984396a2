"""/settings: the owner sets up the business (hours, services, people, booking rules, automated replies).

Every save validates the whole settings document and stores it as the next version in one transaction, or
stores nothing and shows each problem beside its field, with what was typed kept. Two owners saving at
once cannot overwrite each other unseen: the form carries the version it was made from. Every change is
recorded with who and when (the Changes page).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from aiohttp import web
from sqlalchemy import select

from bot import audit, business_settings, keys
from bot.config import CHANNEL_KINDS, WEEKDAYS, ConfigError
from bot.retention import retention_view
from bot.web.door import STAFF
from bot.web.i18n import translate
from bot.web.ids import number
from bot.web.pages import render, tenant_of
from bot.web.settings_forms import SECTIONS, FormProblems, changed, text
from flows.business_texts import VARIABLES
from storage import business_settings as store
from storage.models import Practitioner
from storage.time_off import add_time_off, remove_time_off, time_off_of

routes = web.RouteTableDef()
TIME_OFF_LONGEST = timedelta(days=366)

# How a key reads on the page: the last part of a problem's key path, in plain words.
LABELS = {
    "name": "Name",
    "timezone": "Time zone",
    "locale": "Language",
    "currency": "Currency",
    "phone": "Phone",
    "address": "Address",
    "hours": "Opening hours",
    "holidays": "Closed dates",
    "start": "First closed date",
    "end": "Last closed date",
    "services": "Services",
    "duration_minutes": "Duration (minutes)",
    "price": "Price",
    "capacity": "Places",
    "sessions": "Class times",
    "time": "Time",
    "days": "Days",
    "date": "Date",
    "practitioner": "Practitioner",
    "room": "Room",
    "practitioners": "Practitioners",
    "rooms": "Rooms",
    "booking": "Booking",
    "slot_step_minutes": "Start times every (minutes)",
    "buffer_minutes": "Free time after each appointment (minutes)",
    "min_notice": "Shortest notice",
    "max_ahead": "Furthest ahead",
    "reminders": "Reminders",
    "lead_times": "Reminder times",
    "quiet_hours": "Quiet hours",
    "whatsapp_template": "WhatsApp template",
    "template_language": "WhatsApp template's language code",
    "messenger_template": "Messenger utility template",
    "messenger_template_language": "Messenger template's language code",
    "replies": "Automated replies",
    "greeting": "Greeting",
    "away": "Away message",
    "faq": "Answers",
    "keywords": "Keywords",
    "answer": "Answer",
    "names": "Name in the other language",
    "retention": "Keeping data",
    "messages": "Messages",
    "inbound_events": "Raw deliveries from Meta",
}
DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
# Pydantic's words for the common problems, as an owner would say them.
_PLAIN = (
    (re.compile(r"^Input should be greater than or equal to (\S+)$"), "must be at least {0}"),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), "must be at most {0}"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^String should have at least 1 character$"), "must be filled in"),
    (re.compile(r"^String should have at most (\d+) characters?$"), "can be at most {0} characters"),
    (re.compile(r"^String should match pattern .*$"), "is not in the expected form"),
    (re.compile(r"^Input should be a valid date.*$"), "is not a date (YYYY-MM-DD)"),
    (re.compile(r"^Field required$"), "must be filled in"),
    (re.compile(r"^Input should be 'en' or 'da'$"), "must be English or Danish"),
)


def _owner(request: web.Request) -> None:
    if not request[STAFF].is_owner:
        raise web.HTTPForbidden(text="only the business's owner changes its settings")


@routes.get("/settings")
async def general_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "general")


@routes.get("/settings/{section}")
async def section_page(request: web.Request) -> web.StreamResponse:
    section = request.match_info["section"]
    if section == "changes":
        return await _changes(request)
    if section not in SECTIONS:
        raise web.HTTPNotFound(text="no such settings page")
    return await _page(request, section)


@routes.post("/settings/{section}")
async def save(request: web.Request) -> web.StreamResponse:
    _owner(request)
    section = request.match_info["section"]
    if section not in SECTIONS:
        raise web.HTTPNotFound(text="no such settings page")
    form = await request.post()
    staff, app = request[STAFF], request.app
    profiles = app[keys.PROFILES]
    now = app[keys.CLOCK].now()
    today = now.astimezone(tenant_of(request).zone).date()
    async with app[keys.DATABASE].read() as session:
        stored = await store.load(session, staff.business_id)
    current = (
        stored.document if stored else business_settings.document_of(profiles.settings(staff.business_id))
    )
    expected = number(form.get("version"))
    try:
        document = changed(current, section, form, today)
    except FormProblems as problems:
        return await _page(request, section, status=400, problems=problems.problems, document=current)
    try:
        async with app[keys.DATABASE].write() as session:
            business, version, _ = await business_settings.save(
                session,
                profiles.base(staff.business_id),
                document,
                expected_version=expected,
                section=section,
                actor=staff.name or staff.email,
                staff_id=staff.id,
                now=now,
            )
    except ConfigError as refused:
        return await _page(request, section, status=400, problems=refused.problems, document=document)
    except store.StaleSettings:
        return await _page(
            request,
            section,
            status=409,
            problems=[
                "(page): Someone else saved these settings a moment ago. They are shown as saved now; "
                "make your change again."
            ],
        )
    profiles.put(business, version)
    anchor = text(form, "anchor", 40)
    raise web.HTTPSeeOther(
        f"/settings{'' if section == 'general' else '/' + section}?saved=1"
        + (f"#{anchor}" if re.fullmatch(r"[a-z0-9-]+", anchor) else "")
    )


async def _page(
    request: web.Request,
    section: str,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    document: dict[str, Any] | None = None,
) -> web.Response:
    _owner(request)
    staff, app = request[STAFF], request.app
    async with app[keys.DATABASE].read() as session:
        stored = await store.load(session, staff.business_id)
        away = await _time_off(session, staff.business_id) if section == "people" else {}
        kept = await retention_view(session, staff.business_id) if section == "booking" else {}
    shown = document or (stored.document if stored else {})
    locale = staff.locale
    explained = [_explain(p, shown, lambda words: translate(locale, words)) for p in problems or []]
    return render(
        request,
        f"settings/{section}.html",
        status=status,
        section=section,
        sections=SECTIONS,
        doc=shown,
        version=stored.version if stored else "",
        problems=explained,
        bad={key for key, _, _ in explained},
        saved=request.query.get("saved") == "1" and not problems,
        weekdays=WEEKDAYS,
        channel_kinds=CHANNEL_KINDS,
        zones=_zones(),
        variables=VARIABLES,
        time_off=away,
        hours_text=lambda ranges: ", ".join(ranges or []),
        other_locale="da" if shown.get("locale", "en") == "en" else "en",
        today=app[keys.CLOCK].now().astimezone(tenant_of(request).zone).date(),
        **kept,
    )


def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _explain(problem: str, document: dict[str, Any], t: Any = str) -> tuple[str, str, str]:
    """("services[1].duration_minutes", "Services › Physiotherapy › Duration (minutes)", "must be at
    least 5"): the key (to mark its field), where it is in words, and what is wrong."""
    key, _, message = problem.partition(": ")
    for pattern, plain in _PLAIN:
        found = pattern.match(message)
        if found:
            message = t(plain).format(*found.groups())
            break
    where = []
    node: Any = document
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", key):
        if part.startswith("["):
            inner = part[1:-1]
            item = (
                node[int(inner)]
                if isinstance(node, list) and inner.isdigit() and int(inner) < len(node)
                else None
            )
            node = item
            if isinstance(item, dict) and (item.get("name") or item.get("builtin") or item.get("keywords")):
                label = item.get("name") or item.get("builtin") or ", ".join(item.get("keywords") or [])
                where.append(str(label))
            elif inner == "new":
                where.append(t("new"))
            continue
        node = node.get(part) if isinstance(node, dict) else None
        where.append(t(LABELS.get(part, DAY_NAMES.get(part, part))))
    return key, " › ".join(where) if key != "(page)" else "", message


# ------------------------------------------------------------------------------------------ time off


async def _time_off(session: Any, business_id: str) -> dict[str, list[Any]]:
    rows = await session.execute(
        select(Practitioner.id, Practitioner.key).where(
            Practitioner.business_id == business_id, Practitioner.active.is_(True)
        )
    )
    found: dict[str, list[Any]] = {}
    for row_id, key in rows:
        found[key] = await time_off_of(session, business_id, row_id)
    return found


@routes.post("/settings/people/time-off")
async def add_away(request: web.Request) -> web.StreamResponse:
    """A practitioner away for whole days (first and last included), in the business's time zone."""
    _owner(request)
    form = await request.post()
    staff, app, tenant = request[STAFF], request.app, tenant_of(request)
    who = text(form, "practitioner", 64)
    note = text(form, "note", 200) or None
    try:
        first = date.fromisoformat(text(form, "from", 10))
        last = date.fromisoformat(text(form, "to", 10) or text(form, "from", 10))
    except ValueError:
        return await _page(
            request, "people", status=400, problems=["time_off.from: give the first and last day"]
        )
    zone, now = tenant.zone, app[keys.CLOCK].now()
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    if last < first:
        return await _page(request, "people", status=400, problems=["time_off.to: ends before it starts"])
    if last < now.astimezone(zone).date():
        return await _page(request, "people", status=400, problems=["time_off.to: that date has passed"])
    if end - start > TIME_OFF_LONGEST:
        return await _page(request, "people", status=400, problems=["time_off.to: at most a year at a time"])
    async with app[keys.DATABASE].write() as session:
        row_id = await _practitioner_row(session, staff.business_id, who)
        await add_time_off(
            session,
            staff.business_id,
            row_id,
            start=start,
            end=end,
            note=note,
            actor=f"staff:{staff.id}",
            now=now,
        )
        await store.record(
            session,
            staff.business_id,
            section="time off",
            actor=staff.name or staff.email,
            staff_id=staff.id,
            changes=[
                {
                    "key": f"practitioners[{who}].time_off",
                    "before": None,
                    "after": f"{first.isoformat()} – {last.isoformat()}" + (f" ({note})" if note else ""),
                }
            ],
            now=now,
        )
        away = [{"key": f"practitioners[{who}].time_off"}]
        await audit.settings_changed(session, staff.business_id, staff.id, "time off", away, now=now)
    raise web.HTTPSeeOther("/settings/people?saved=1#time-off")


@routes.post("/settings/people/time-off/{id}/remove")
async def remove_away(request: web.Request) -> web.StreamResponse:
    _owner(request)
    form = await request.post()
    staff, app = request[STAFF], request.app
    time_off_id = number(request.match_info["id"])
    who = text(form, "practitioner", 64)
    if time_off_id is None:
        raise web.HTTPNotFound(text="no such time off")
    async with app[keys.DATABASE].write() as session:
        row_id = await _practitioner_row(session, staff.business_id, who)
        if not await remove_time_off(session, staff.business_id, row_id, time_off_id):
            raise web.HTTPNotFound(text="no such time off")
        await store.record(
            session,
            staff.business_id,
            section="time off",
            actor=staff.name or staff.email,
            staff_id=staff.id,
            changes=[{"key": f"practitioners[{who}].time_off", "before": f"#{time_off_id}", "after": None}],
            now=app[keys.CLOCK].now(),
        )
        away = [{"key": f"practitioners[{who}].time_off"}]
        await audit.settings_changed(
            session, staff.business_id, staff.id, "time off", away, now=app[keys.CLOCK].now()
        )
    raise web.HTTPSeeOther("/settings/people?saved=1#time-off")


async def _practitioner_row(session: Any, business_id: str, key: str) -> int:
    found = await session.scalar(
        select(Practitioner.id).where(Practitioner.business_id == business_id, Practitioner.key == key)
    )
    if found is None:
        raise web.HTTPNotFound(text="no such practitioner")
    return int(found)


# ------------------------------------------------------------------------------------------ changes


async def _changes(request: web.Request) -> web.Response:
    _owner(request)
    async with request.app[keys.DATABASE].read() as session:
        found = await store.history(session, request[STAFF].business_id, limit=200)
    return render(
        request,
        "settings/changes.html",
        section="changes",
        sections=SECTIONS,
        changes=found,
        problems=[],
        bad=set(),
        saved=False,
    )
