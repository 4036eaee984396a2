"""Retention in the database: a business's messages and raw deliveries past their age, counted (what
`jola purge --dry-run` shows) or removed in bounded batches, and the record of each purge.

What is still needed never qualifies: a message whose send is still pending stays, and so does a delivery
not yet handled (state `pending`, deferred or not). A handled delivery keeps its dedupe key (its row)
until Meta can no longer send it again (8 days: storage/inbox.py `purge_before`), so retention empties it
instead: the payload and the conversation key (a phone number or platform user id) go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundEvent, Message, Outbox, PrivacyEvent, Reminder

MESSAGES = Message.__table__
EVENTS = InboundEvent.__table__
OUTBOX = Outbox.__table__
REMINDERS = Reminder.__table__
EMPTIED = ""  # the conversation key of a delivery retention has emptied
PURGE = "purge"  # privacy_events.kind


@dataclass(frozen=True, slots=True)
class Found:
    """Rows past their age: how many, and when the oldest was written or received."""

    count: int
    oldest: datetime | None


def _old_messages(business_id: str, cutoff: datetime) -> tuple[Any, ...]:
    m = MESSAGES.c
    unsent = exists().where(OUTBOX.c.message_id == m.id, OUTBOX.c.state.in_(("pending", "sending")))
    return (m.business_id == business_id, m.created_at < cutoff, ~unsent)


def _old_events(business_id: str, cutoff: datetime) -> tuple[Any, ...]:
    e = EVENTS.c
    return (
        e.business_id == business_id,
        e.received_at < cutoff,
        e.state != "pending",
        e.conversation_key != EMPTIED,
    )


async def old_messages(session: AsyncSession, business_id: str, cutoff: datetime) -> Found:
    row = (
        await session.execute(
            select(func.count(), func.min(MESSAGES.c.created_at)).where(*_old_messages(business_id, cutoff))
        )
    ).one()
    return Found(int(row[0]), row[1])


async def old_events(session: AsyncSession, business_id: str, cutoff: datetime) -> Found:
    """In one inbox (on SQLite the inbox file is a database of its own: pass a session of `db.inbox`)."""
    row = (
        await session.execute(
            select(func.count(), func.min(EVENTS.c.received_at)).where(*_old_events(business_id, cutoff))
        )
    ).one()
    return Found(int(row[0]), row[1])


async def remove_messages(
    session: AsyncSession, business_id: str, cutoff: datetime, limit: int, *, claim: bool = False
) -> int:
    """Up to `limit` of the oldest messages past `cutoff` go, with their finished outbox rows; a reminder
    that was one of them keeps its state and reason. `claim` (PostgreSQL): rows another transaction holds
    are skipped, so two processes never wait on each other's batch."""
    query = (
        select(MESSAGES.c.id)
        .where(*_old_messages(business_id, cutoff))
        .order_by(MESSAGES.c.created_at)
        .limit(limit)
    )
    if claim:
        query = query.with_for_update(skip_locked=True)
    ids = list(await session.scalars(query))
    if not ids:
        return 0
    await session.execute(update(REMINDERS).where(REMINDERS.c.message_id.in_(ids)).values(message_id=None))
    await session.execute(delete(OUTBOX).where(OUTBOX.c.message_id.in_(ids)))
    result = await session.execute(delete(MESSAGES).where(MESSAGES.c.id.in_(ids)))
    return int(result.rowcount or 0)


async def empty_events(
    session: AsyncSession, business_id: str, cutoff: datetime, limit: int, *, claim: bool = False
) -> int:
    """Up to `limit` handled (or given up) deliveries received before `cutoff` lose what they held of the
    client; their provider keys stay for deduplication until housekeeping removes the rows."""
    query = select(EVENTS.c.id).where(*_old_events(business_id, cutoff)).order_by(EVENTS.c.id).limit(limit)
    if claim:
        query = query.with_for_update(skip_locked=True)
    ids = list(await session.scalars(query))
    if not ids:
        return 0
    result = await session.execute(
        update(EVENTS).where(EVENTS.c.id.in_(ids)).values(payload=None, conversation_key=EMPTIED)
    )
    return int(result.rowcount or 0)


def record(
    session: AsyncSession, business_id: str, counts: dict[str, int], *, actor: str, now: datetime
) -> None:
    """One audit row for a purge that removed something: counts only."""
    session.add(
        PrivacyEvent(
            business_id=business_id,
            at=now,
            kind=PURGE,
            actor=actor[:64],
            subject=None,
            status="done",
            details=dict(counts),
        )
    )


@dataclass(frozen=True, slots=True)
class LastPurge:
    at: datetime
    actor: str
    counts: dict[str, int]


async def last_purge(session: AsyncSession, business_id: str) -> LastPurge | None:
    p = PrivacyEvent
    row = (
        await session.execute(
            select(p.at, p.actor, p.details)
            .where(p.business_id == business_id, p.kind == PURGE)
            .order_by(p.at.desc(), p.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    counts = {str(k): int(v) for k, v in (row.details or {}).items() if isinstance(v, int)}
    return LastPurge(row.at, row.actor, counts)
