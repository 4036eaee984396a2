"""Reminders of appointments: planned in the transaction that books, moves or cancels (so the calendar and
its reminders never disagree), claimed once when due, and kept with what became of them.

A reminder falls due its lead time before the start; one that would fall in the business's quiet hours
(local wall time, which a DST night may stretch or shorten) comes just before they begin instead, never
later; one whose time has already passed when the appointment is booked or moved is not made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appointment, BusinessSettings, Client, Message, Reminder, Service

ACTIVE = ("booked", "confirmed")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RANGE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
DEFAULT_LEADS = ("24h", "2h")
DEFAULT_QUIET = ("21:00-08:00",)
# Just before quiet hours begin: a reminder moved out of them goes out this long before they start.
BEFORE_QUIET = timedelta(minutes=1)


# ------------------------------------------------------------------------------------------ when


def lead_of(text: str) -> timedelta | None:
    found = _DURATION.match(text)
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)]) if found else None


def _quiet_ranges(quiet: list[str] | tuple[str, ...]) -> list[tuple[time, time | None]]:
    ranges = []
    for item in quiet:
        found = _RANGE.match(item)
        if not found:
            continue
        a, b = int(found.group(1)) * 60 + int(found.group(2)), int(found.group(3)) * 60 + int(found.group(4))
        if a == b:
            continue
        ranges.append((time(a // 60, a % 60), None if b >= 24 * 60 else time(b // 60, b % 60)))
    return ranges


def _instant(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The first instant the local clock shows `at` on `day` (in a spring-forward gap: when it resumes)."""
    wall = datetime.combine(day, at)
    moment = wall.replace(tzinfo=zone).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != wall:  # a gap: the clock skipped `at`
        moment = (wall + timedelta(hours=1)).replace(tzinfo=zone).astimezone(UTC) - timedelta(hours=1)
    return moment


def _quiet_start(moment: datetime, zone: ZoneInfo, ranges: list[tuple[time, time | None]]) -> datetime | None:
    """When the quiet spell `moment` falls in began, or None if it is not quiet then."""
    local = moment.astimezone(zone)
    now, today = local.time().replace(tzinfo=None), local.date()
    for begin, end in ranges:
        if end is None or begin < end:  # within one day: [begin, end)
            if begin <= now and (end is None or now < end):
                return _instant(zone, today, begin)
        elif now >= begin:  # wraps midnight: [begin, 24:00) today ...
            return _instant(zone, today, begin)
        elif now < end:  # ... or [00:00, end) after yesterday's begin
            return _instant(zone, today - timedelta(days=1), begin)
    return None


def due_time(
    start: datetime, lead: timedelta, zone: ZoneInfo, quiet: list[str] | tuple[str, ...]
) -> datetime:
    """When a reminder `lead` before `start` goes out: earlier when that falls in quiet hours."""
    due = start.astimezone(UTC) - lead
    ranges = _quiet_ranges(quiet)
    for _ in range(len(ranges) + 2):  # ranges may touch: step back out of each in turn
        began = _quiet_start(due, zone, ranges)
        if began is None:
            return due
        due = began - BEFORE_QUIET
    return due


# ------------------------------------------------------------------------------------------ planning


async def _settings(session: AsyncSession, business_id: str) -> tuple[ZoneInfo, list[str], list[str]]:
    document = await session.scalar(
        select(BusinessSettings.document).where(BusinessSettings.business_id == business_id)
    )
    document = document or {}
    reminders = document.get("reminders") or {}
    zone = ZoneInfo(document.get("timezone") or "Europe/Copenhagen")
    return (
        zone,
        list(reminders.get("lead_times", DEFAULT_LEADS)),
        list(reminders.get("quiet_hours", DEFAULT_QUIET)),
    )


async def plan(session: AsyncSession, business_id: str, appointment_id: int, now: datetime) -> int:
    """The appointment's reminders from scratch (booked or moved): earlier ones go, whatever became of
    them (a moved appointment is reminded of its new time). Returns how many were made."""
    await session.execute(
        delete(Reminder)
        .where(Reminder.appointment_id == appointment_id)
        .execution_options(synchronize_session=False)
    )
    row = (
        await session.execute(
            select(Appointment.start_at, Appointment.status, Client.test)
            .outerjoin(Client, Client.id == Appointment.client_id)
            .where(Appointment.business_id == business_id, Appointment.id == appointment_id)
        )
    ).first()
    if row is None or row.status not in ACTIVE or row.test:
        return 0  # test clients (the playground, jola chat) are never reminded
    zone, leads, quiet = await _settings(session, business_id)
    rows = []
    for lead in dict.fromkeys(leads):
        length = lead_of(lead)
        if length is None:
            continue
        due = due_time(row.start_at, length, zone, quiet)
        if due <= now:
            continue  # its time passed before the booking was made
        rows.append(
            {
                "business_id": business_id,
                "appointment_id": appointment_id,
                "lead": lead,
                "due_at": due,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
        )
    if rows:
        await session.execute(insert(Reminder), rows)
    return len(rows)


async def drop(session: AsyncSession, appointment_id: int) -> None:
    """Cancelled (or no longer active): what has not gone out will not."""
    await session.execute(
        delete(Reminder)
        .where(Reminder.appointment_id == appointment_id, Reminder.state == "pending")
        .execution_options(synchronize_session=False)
    )


# ------------------------------------------------------------------------------------------ sending


@dataclass(frozen=True, slots=True)
class Due:
    id: int
    business_id: str
    appointment_id: int
    lead: str
    due_at: datetime
    attempts: int


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Due]:
    """Pending reminders whose time has come, soonest first. On PostgreSQL the rows stay locked to this
    transaction (others skip them), so two workers never take the same one; the caller settles each
    (queued, skipped, failed or later) before committing."""
    query = (
        select(
            Reminder.id,
            Reminder.business_id,
            Reminder.appointment_id,
            Reminder.lead,
            Reminder.due_at,
            Reminder.attempts,
        )
        .where(Reminder.state == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [Due(*row) for row in await session.execute(query)]


async def settle(
    session: AsyncSession,
    reminder_id: int,
    *,
    state: str,
    now: datetime,
    route: str | None = None,
    kind: str | None = None,
    message_id: int | None = None,
    reason: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """What became of a claimed reminder; `retry_at` keeps it pending until then (a failure that waiting
    may mend, such as an unreachable mail server)."""
    values: dict[str, Any] = {
        "state": "pending" if retry_at else state,
        "route": route,
        "kind": kind,
        "message_id": message_id,
        "reason": reason[:300] if reason else None,
        "attempts": Reminder.attempts + 1,
        "handled_at": now,
    }
    if retry_at:
        values["due_at"] = retry_at
    await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(Reminder.due_at)).where(Reminder.state == "pending"))


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class ReminderView:
    id: int
    business_id: str
    appointment_id: int
    start: datetime
    service_name: str
    lead: str
    due_at: datetime
    state: str  # pending | queued | skipped | failed; for queued, `delivery` says what Meta reported
    route: str | None
    kind: str | None
    reason: str | None
    delivery: str | None  # the message's status: queued, sent, delivered, read, failed
    error_code: int | None
    error_title: str | None
    attempts: int


async def listing(
    session: AsyncSession,
    business_id: str | None = None,
    *,
    states: tuple[str, ...] | None = None,
    appointment_ids: list[int] | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[ReminderView]:
    r, a, s, m = Reminder, Appointment, Service, Message
    query = (
        select(
            r.id,
            r.business_id,
            r.appointment_id,
            a.start_at,
            s.name,
            r.lead,
            r.due_at,
            r.state,
            r.route,
            r.kind,
            r.reason,
            m.status,
            m.error_code,
            m.error_title,
            r.attempts,
        )
        .join(a, a.id == r.appointment_id)
        .join(s, s.id == a.service_id)
        .outerjoin(m, m.id == r.message_id)
        .order_by(r.due_at, r.id)
        .limit(limit)
    )
    if business_id is not None:
        query = query.where(r.business_id == business_id)
    if states is not None:
        query = query.where(r.state.in_(states))
    if appointment_ids is not None:
        query = query.where(r.appointment_id.in_(appointment_ids))
    if since is not None:
        query = query.where(r.due_at >= since)
    return [ReminderView(*row) for row in await session.execute(query)]


async def not_sent_since(
    session: AsyncSession, business_id: str, since: datetime, limit: int = 20
) -> list[ReminderView]:
    """Reminders that did not reach the client lately (skipped, failed, or refused by the platform), newest
    first: what staff should follow up by phone."""
    found = await listing(
        session, business_id, states=("skipped", "failed", "queued"), since=since, limit=500
    )
    missed = [r for r in found if r.state != "queued" or r.delivery == "failed"]
    return sorted(missed, key=lambda r: r.due_at, reverse=True)[:limit]
