"""Emails about appointments, queued in the transaction that changed the appointment (so none is lost and
none is queued twice) and claimed by the mail worker. The text is written when sending, from the
appointment and the client's address as they are then.

A claimed email is marked `sending` with a lease before the mail server is contacted; one still `sending`
after its lease (the process stopped mid-send) is failed with that said, never sent again: a client gets
an email once or is shown as not having got it, never twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appointment, Client, Email

LEASE = timedelta(minutes=5)
UNKNOWN = "the process stopped while sending it: it may not have gone out"


async def queue(
    session: AsyncSession, business_id: str, appointment_id: int, kind: str, now: datetime
) -> bool:
    """Queue an email about the appointment when its client has an address and has not said stop (and
    the processing of their data is not restricted)."""
    found = await session.execute(
        select(Client.email, Client.email_opted_out_at, Client.test, Client.restricted_at)
        .join(Appointment, Appointment.client_id == Client.id)
        .where(Appointment.id == appointment_id)
    )
    row = found.first()
    if row is None or not row.email or row.email_opted_out_at is not None or row.test:
        return False
    if row.restricted_at is not None:
        return False
    await session.execute(
        insert(Email).values(
            business_id=business_id,
            appointment_id=appointment_id,
            kind=kind,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return True


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    business_id: str
    appointment_id: int
    kind: str
    attempts: int


async def claim(session: AsyncSession, now: datetime, limit: int) -> list[Claimed]:
    query = (
        select(Email.id, Email.business_id, Email.appointment_id, Email.kind, Email.attempts)
        .where(Email.state == "pending", Email.next_attempt_at <= now)
        .order_by(Email.next_attempt_at, Email.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [Claimed(*row) for row in await session.execute(query)]
    if rows:
        await session.execute(
            update(Email)
            .where(Email.id.in_([r.id for r in rows]))
            .values(state="sending", next_attempt_at=now + LEASE, attempts=Email.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return rows


async def settle(
    session: AsyncSession,
    email_id: int,
    *,
    now: datetime,
    sent: bool = False,
    reason: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    state = "sent" if sent else "pending" if retry_at else "failed"
    await session.execute(
        update(Email)
        .where(Email.id == email_id)
        .values(
            state=state,
            reason=reason[:300] if reason else None,
            next_attempt_at=retry_at or now,
            sent_at=now if sent else None,
        )
        .execution_options(synchronize_session=False)
    )


async def give_up_lost(session: AsyncSession, now: datetime) -> int:
    """Emails left `sending` by a process that stopped: failed, with why (never sent twice)."""
    result = await session.execute(
        update(Email)
        .where(Email.state == "sending", Email.next_attempt_at < now)
        .values(state="failed", reason=UNKNOWN)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(Email.next_attempt_at)).where(Email.state == "pending"))


@dataclass(frozen=True, slots=True)
class EmailView:
    id: int
    appointment_id: int
    kind: str
    state: str
    reason: str | None
    created_at: datetime
    sent_at: datetime | None


async def of_appointments(session: AsyncSession, appointment_ids: list[int]) -> list[EmailView]:
    rows = await session.execute(
        select(
            Email.id,
            Email.appointment_id,
            Email.kind,
            Email.state,
            Email.reason,
            Email.created_at,
            Email.sent_at,
        )
        .where(Email.appointment_id.in_(appointment_ids))
        .order_by(Email.id)
    )
    return [EmailView(*row) for row in rows]
