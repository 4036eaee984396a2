"""The audit log in the database: rows appended (never changed or removed: the table's triggers refuse it),
and read back a page at a time, newest first, filtered by who, what, which record and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, SettingsChange, Staff

PAGE = 50
PAGE_MAX = 500
ACTOR_KINDS = ("staff", "owner", "api", "cli", "system")


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit event as the owner's page and the API read it."""

    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    action: str
    subject_type: str | None
    subject_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the owner narrows the log to; None leaves a part open. `actor_id`: what one staff member did
    and what was done to their account (failed logins to it, say); `actor_kind` alone: everything the API,
    the command line or Jola itself did."""

    actor_kind: str | None = None
    actor_id: int | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def append(
    session: AsyncSession,
    *,
    business_id: str | None,
    at: datetime,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    subject_type: str | None = None,
    subject_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row, in the caller's transaction (so it commits, or not, with the change it tells of)."""
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    await session.execute(
        insert(AuditEvent).values(
            business_id=business_id,
            at=at,
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action[:40],
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail or None,
        )
    )


async def recorded_since(
    session: AsyncSession,
    business_id: str,
    actor_id: int,
    action: str,
    subject: tuple[str, int],
    since: datetime,
) -> bool:
    """Whether this person's `action` on `subject` is in the log since `since` (a page the live view
    fetches again is not read anew)."""
    a = AuditEvent
    found = await session.scalar(
        select(a.id)
        .where(
            a.business_id == business_id,
            a.actor_id == actor_id,
            a.subject_type == subject[0],
            a.subject_id == subject[1],
            a.action == action,
            a.at >= since,
        )
        .limit(1)
    )
    return found is not None


async def settings_change_id(
    session: AsyncSession, business_id: str, *, version: int | None, staff_id: int | None
) -> int | None:
    """The settings change just written in this transaction (bot/business_settings.py saved `version`;
    a change kept outside the document, like time off, is this staff member's newest)."""
    s = SettingsChange
    query = select(s.id).where(s.business_id == business_id)
    if version is not None:
        query = query.where(s.version == version)
    else:
        query = query.where(s.staff_id.is_(None) if staff_id is None else s.staff_id == staff_id)
    return await session.scalar(query.order_by(s.id.desc()).limit(1))


async def staff_of(session: AsyncSession, staff_id: int) -> tuple[str, str] | None:
    """(business id, role) of a staff account: whose log a row goes in, and whether it was an owner."""
    row = (await session.execute(select(Staff.business_id, Staff.role).where(Staff.id == staff_id))).first()
    return (row[0], row[1]) if row else None


async def page(
    session: AsyncSession,
    business_id: str,
    wanted: AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE,
) -> tuple[list[AuditRow], int | None]:
    """The business's events matching `wanted`, newest first, `limit` at a time; returns the page and the
    `before` of the next one (None at the end)."""
    a = AuditEvent
    query = select(
        a.id, a.at, a.actor_kind, a.actor_id, a.action, a.subject_type, a.subject_id, a.detail
    ).where(a.business_id == business_id)
    if wanted.actor_id is not None:  # what the person did, and what was done to their account
        to_them = and_(a.subject_type == "staff", a.subject_id == wanted.actor_id)
        query = query.where(or_(a.actor_id == wanted.actor_id, to_them))
    elif wanted.actor_kind is not None:
        query = query.where(a.actor_kind == wanted.actor_kind)
    if wanted.action is not None:
        query = query.where(a.action == wanted.action)
    if wanted.subject_type is not None:
        query = query.where(a.subject_type == wanted.subject_type)
    if wanted.subject_id is not None:
        query = query.where(a.subject_id == wanted.subject_id)
    if wanted.since is not None:
        query = query.where(a.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(a.at < wanted.until)
    if before is not None:
        query = query.where(a.id < before)
    rows = [
        AuditRow(*row[:7], detail=dict(row[7] or {}))
        for row in await session.execute(query.order_by(a.id.desc()).limit(limit + 1))
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def staff_names(session: AsyncSession, business_id: str) -> dict[int, str]:
    """Every account of the business, the inactive ones too (the log still names them)."""
    rows = await session.execute(
        select(Staff.id, Staff.name).where(Staff.business_id == business_id).order_by(Staff.name, Staff.id)
    )
    return {row[0]: row[1] for row in rows}
