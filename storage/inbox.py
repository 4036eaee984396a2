"""The durable inbox: store deliveries once, hand them out per conversation in arrival order.

Two lanes: client messages (`kind = 'message'`) and receipts (statuses and echoes, which are about our own
messages). The dispatcher reads each lane on its own, so a backlog of receipts never stands in line ahead
of a client's message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import HandledEvent, InboundEvent

EVENTS = InboundEvent.__table__
HANDLED = HandledEvent.__table__


@dataclass(frozen=True, slots=True)
class NewEvent:
    provider_key: str
    business_id: str | None
    channel_id: int | None
    conversation_key: str
    kind: str
    payload: dict[str, Any]


async def store_events(
    db: Database, session: AsyncSession, events: list[NewEvent], now: datetime
) -> set[str]:
    """Insert what is new; returns the provider keys that were stored (duplicates are skipped atomically)."""
    if not events:
        return set()
    rows = [
        {
            "provider_key": e.provider_key,
            "business_id": e.business_id,
            "channel_id": e.channel_id,
            "conversation_key": e.conversation_key,
            "kind": e.kind,
            "payload": e.payload,
            "state": "pending",
            "attempts": 0,
            "received_at": now,
        }
        for e in events
    ]
    # executemany, not one multi-VALUES statement: its compiled form is cached whatever the row count.
    statement = db.insert_ignoring_duplicates(EVENTS).returning(EVENTS.c.provider_key)
    result = await session.execute(statement, rows)
    return {row[0] for row in result}


Lane = Literal["messages", "receipts"] | None  # None: both
MESSAGE = "message"  # the kind of a client's message; every other kind (status, echo) is a receipt


def _due(now: datetime) -> Any:
    return or_(EVENTS.c.available_at.is_(None), EVENTS.c.available_at <= now)


def _in_lane(lane: Lane) -> Any:
    if lane == "messages":
        return EVENTS.c.kind == MESSAGE
    if lane == "receipts":
        return EVENTS.c.kind != MESSAGE
    return True


async def pending_conversations(
    session: AsyncSession, channel_ids: list[int], limit: int, now: datetime, lane: Lane = None
) -> list[str]:
    """Conversation keys with work due on these channels (in this lane), oldest first."""
    result = await session.execute(
        select(EVENTS.c.id, EVENTS.c.conversation_key)
        .where(EVENTS.c.state == "pending", EVENTS.c.channel_id.in_(channel_ids), _due(now), _in_lane(lane))
        .order_by(EVENTS.c.id)
        .limit(limit)
    )
    keys: dict[str, None] = {}
    for _id, key in result:
        keys.setdefault(key, None)
    return list(keys)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    id: int
    conversation_key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    received_at: datetime
    provider_key: str = ""


async def pending_events(
    session: AsyncSession,
    channel_ids: list[int],
    keys: list[str] | None,
    limit: int,
    now: datetime,
    lane: Lane = None,
    *,
    claim: bool = False,
) -> list[PendingEvent]:
    """Due events, oldest first, of these channels (and, when given, only these conversations, or this
    lane). `claim` (PostgreSQL): lock the rows until the transaction ends, skipping rows another
    transaction holds, so several workers share a lane without taking an event twice."""
    e = EVENTS.c
    query = select(
        e.id, e.conversation_key, e.kind, e.payload, e.attempts, e.received_at, e.provider_key
    ).where(e.state == "pending", e.channel_id.in_(channel_ids), _due(now), _in_lane(lane))
    if keys is not None:
        query = query.where(e.conversation_key.in_(keys))
    query = query.order_by(e.id).limit(limit)
    if claim:
        query = query.with_for_update(skip_locked=True)
    result = await session.execute(query)
    return [PendingEvent(*row) for row in result]


async def finish(session: AsyncSession, event_ids: list[int], now: datetime) -> None:
    """Done: keep the key for deduplication, drop the payload (it holds personal data)."""
    if event_ids:
        await session.execute(
            update(EVENTS)
            .where(EVENTS.c.id.in_(event_ids))
            .values(state="done", payload=None, processed_at=now)
        )


async def defer(session: AsyncSession, event_id: int, until: datetime) -> None:
    await defer_many(session, {event_id: until})


async def defer_many(session: AsyncSession, until: dict[int, datetime]) -> None:
    """Look at these events again later: one statement per due time (a batch shares one or a few)."""
    by_time: dict[datetime, list[int]] = {}
    for event_id, moment in until.items():
        by_time.setdefault(moment, []).append(event_id)
    for moment, ids in by_time.items():
        await session.execute(
            update(EVENTS)
            .where(EVENTS.c.id.in_(ids))
            .values(attempts=EVENTS.c.attempts + 1, available_at=moment)
        )


async def give_up_events(session: AsyncSession, reasons: dict[int, str], now: datetime) -> None:
    """Set these events aside for good: done, with why (no personal data) and without their payload."""
    by_reason: dict[str, list[int]] = {}
    for event_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(event_id)
    for reason, ids in by_reason.items():
        await session.execute(
            update(EVENTS)
            .where(EVENTS.c.id.in_(ids))
            .values(
                state="done",
                payload=None,
                attempts=EVENTS.c.attempts + 1,
                error=reason[:200],
                processed_at=now,
            )
        )


async def record_failure(
    session: AsyncSession, event_id: int, error: str, give_up: bool, now: datetime
) -> None:
    values: dict[str, Any] = {"attempts": EVENTS.c.attempts + 1, "error": error[:200]}
    if give_up:
        values.update(state="failed", processed_at=now)
    await session.execute(update(EVENTS).where(EVENTS.c.id == event_id).values(**values))


async def purge_before(session: AsyncSession, cutoff: datetime) -> int:
    """Forget handled deliveries once Meta can no longer retry them (it retries for up to 7 days)."""
    result = await session.execute(
        delete(EVENTS).where(EVENTS.c.state != "pending", EVENTS.c.received_at < cutoff)
    )
    return result.rowcount or 0


_HANDLED = select(HANDLED.c.provider_key).where(HANDLED.c.provider_key.in_(bindparam("keys", expanding=True)))
_MARK_HANDLED = insert(HANDLED)


async def already_handled(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these events the conversation state already holds (handled before a crash)."""
    if not keys:
        return set()
    result = await session.execute(_HANDLED, {"keys": keys})
    return {row[0] for row in result}


async def mark_handled(session: AsyncSession, keys: list[str], now: datetime) -> None:
    if keys:
        await session.execute(_MARK_HANDLED, [{"provider_key": k, "handled_at": now} for k in keys])


async def forget_handled_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(HANDLED).where(HANDLED.c.handled_at < cutoff))
    return result.rowcount or 0
