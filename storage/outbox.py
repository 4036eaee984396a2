"""The outbox: replies are written with the state change that caused them, and sent after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Message, Outbox

OUTBOX = Outbox.__table__
MESSAGES = Message.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    conversation_id: int
    channel_id: int
    message_id: int | None
    recipient: str
    payload: dict[str, Any]
    attempts: int
    window_ends_at: datetime | None = None


# The sender's statements, built once: building a statement costs more than running it on SQLite.
_o, _m = OUTBOX.c, MESSAGES.c
# The scan reads only what the choice needs; payloads are read for the chosen rows alone.
_SCAN = (
    select(_o.id, _o.conversation_id, _o.state, _o.next_attempt_at, _o.claimed_until)
    .where(_o.state.in_(("pending", "sending")), _o.channel_id.in_(bindparam("channels", expanding=True)))
    .order_by(_o.id)
    .limit(bindparam("limit", type_=Integer))
)
_SCAN_LOCKING = _SCAN.with_for_update(skip_locked=True)
_CHOSEN = (
    select(
        _o.id,
        _o.conversation_id,
        _o.channel_id,
        _o.message_id,
        _o.recipient,
        _o.payload,
        _o.attempts,
        _o.window_ends_at,
    )
    .where(_o.id.in_(bindparam("ids", expanding=True)))
    .order_by(_o.id)
)
_TAKE = (
    update(OUTBOX)
    .where(_o.id.in_(bindparam("ids", expanding=True)))
    .values(state="sending", claimed_until=bindparam("until"))
)
_RELEASE = update(OUTBOX).where(_o.id == bindparam("b_id")).values(state="pending", claimed_until=None)
_SENT = (
    update(OUTBOX)
    .where(_o.id == bindparam("b_id"))
    .values(
        state="sent",
        sent_at=bindparam("b_now"),
        attempts=_o.attempts + 1,
        claimed_until=None,
        last_error=None,
    )
)
_MESSAGE_SENT = (
    update(MESSAGES)
    .where(_m.id == bindparam("b_id"), _m.status == "queued")
    .values(
        status="sent",
        status_at=bindparam("b_now"),
        platform_message_id=func.coalesce(bindparam("b_platform_id"), _m.platform_message_id),
    )
)
_ENQUEUE = insert(OUTBOX)
_DUE = select(func.min(_o.next_attempt_at)).where(
    _o.state == "pending", _o.channel_id.in_(bindparam("channels", expanding=True))
)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Outbox rows written in the same transaction as the state change that caused them."""
    if rows:
        await session.execute(_ENQUEUE, rows)


async def claim(
    db: Database,
    session: AsyncSession,
    *,
    channel_ids: list[int],
    now: datetime,
    limit: int,
    lease: timedelta,
    notes: ClaimNotes | None = None,
) -> list[Claimed]:
    """Claim due rows, per conversation in order: a conversation whose oldest open row is not due, or is
    being sent by someone else, waits, so its replies never overtake each other. What the scan saw of the
    rows left behind goes into `notes`."""
    scan = _SCAN if db.is_sqlite else _SCAN_LOCKING
    notes = notes if notes is not None else ClaimNotes()
    blocked: set[int] = set()
    busy_conversations: set[int] = set()
    ids: list[int] = []
    found = (await session.execute(scan, {"channels": channel_ids, "limit": limit * 4})).all()
    notes.complete = len(found) < limit * 4
    for row_id, conversation_id, state, next_attempt_at, claimed_until in found:
        if conversation_id in blocked:
            if conversation_id in busy_conversations and state == "pending":
                notes.held_back.add(conversation_id)  # a reply waits behind one in flight
            continue
        busy = state == "sending" and claimed_until is not None and claimed_until > now
        if busy or next_attempt_at > now:
            blocked.add(conversation_id)
            if busy:
                busy_conversations.add(conversation_id)
            elif notes.next_due is None or next_attempt_at < notes.next_due:
                notes.next_due = next_attempt_at
            continue
        ids.append(row_id)
        if len(ids) >= limit:
            notes.complete = False
            break
    if not ids:
        return []
    chosen = [Claimed(*row) for row in await session.execute(_CHOSEN, {"ids": ids})]
    await session.execute(_TAKE, {"ids": ids, "until": now + lease})
    return chosen


@dataclass(slots=True)
class ClaimNotes:
    """What a claim's scan saw besides the rows it took."""

    held_back: set[int] = field(default_factory=set)  # conversations with a reply behind one in flight
    next_due: datetime | None = None  # the soonest retry among the rows it saw
    complete: bool = True  # the scan saw every open row (not cut off by its limit)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed row."""

    row_id: int
    message_id: int | None
    sent: bool = False
    platform_message_id: str | None = None
    error: str | None = None
    error_code: int | None = None
    retry_at: datetime | None = None  # None with an error: gave up
    released: bool = False  # not tried (an earlier reply of the conversation failed): back to pending


async def record(session: AsyncSession, outcomes: list[Outcome], now: datetime) -> None:
    """Write what the sender learned, a few statements per batch whatever its size."""
    o, m = OUTBOX.c, MESSAGES.c
    released = [{"b_id": x.row_id} for x in outcomes if x.released]
    sent = [x for x in outcomes if x.sent]
    retry = [x for x in outcomes if not x.sent and not x.released and x.retry_at is not None]
    failed = [x for x in outcomes if not x.sent and not x.released and x.retry_at is None]
    if released:
        await session.execute(_RELEASE, released)
    if sent:
        await session.execute(_SENT, [{"b_id": x.row_id, "b_now": now} for x in sent])
        with_message = [x for x in sent if x.message_id is not None]
        if with_message:
            await session.execute(
                _MESSAGE_SENT,
                [
                    {"b_id": x.message_id, "b_platform_id": x.platform_message_id, "b_now": now}
                    for x in with_message
                ],
            )
    if retry:
        await session.execute(
            update(OUTBOX)
            .where(o.id == bindparam("b_id"))
            .values(
                state="pending",
                attempts=o.attempts + 1,
                next_attempt_at=bindparam("b_retry_at"),
                claimed_until=None,
                last_error=bindparam("b_error"),
            ),
            [{"b_id": x.row_id, "b_retry_at": x.retry_at, "b_error": (x.error or "")[:300]} for x in retry],
        )
    if failed:
        await session.execute(
            update(OUTBOX)
            .where(o.id == bindparam("b_id"))
            .values(
                state="failed", attempts=o.attempts + 1, claimed_until=None, last_error=bindparam("b_error")
            ),
            [{"b_id": x.row_id, "b_error": (x.error or "")[:300]} for x in failed],
        )
        with_message = [x for x in failed if x.message_id is not None]
        if with_message:
            await session.execute(
                update(MESSAGES)
                .where(m.id == bindparam("b_id"))
                .values(
                    status="failed",
                    status_at=now,
                    error_code=bindparam("b_code"),
                    error_title=bindparam("b_error"),
                ),
                [
                    {"b_id": x.message_id, "b_code": x.error_code, "b_error": (x.error or "")[:300]}
                    for x in with_message
                ],
            )


async def has_due_work(session: AsyncSession, channel_ids: list[int], now: datetime) -> datetime | None:
    """When the next pending row falls due (None: nothing pending)."""
    return (await session.execute(_DUE, {"channels": channel_ids})).scalar()


async def expired_leases(session: AsyncSession, now: datetime) -> int:
    """Rows left 'sending' by a process that died go back to pending."""
    result = await session.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.state == "sending", or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now)
        )
        .values(state="pending", claimed_until=None)
    )
    return result.rowcount or 0


async def purge_finished(session: AsyncSession, cutoff: datetime) -> int:
    """Sent and failed rows created before `cutoff` go; the message rows keep their status and reason."""
    result = await session.execute(
        delete(OUTBOX).where(OUTBOX.c.state.in_(("sent", "failed")), OUTBOX.c.created_at < cutoff)
    )
    return result.rowcount or 0
