"""Practitioners' time off: when someone is away, and which booked appointments that touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.appointments import calendar_changed
from storage.models import Practitioner, TimeOff


@dataclass(frozen=True, slots=True)
class Away:
    """One period a practitioner is away: `[start, end)`, aware UTC."""

    id: int
    practitioner: str
    start: datetime
    end: datetime
    note: str | None = None


async def away_between(session: AsyncSession, business_id: str, start: datetime, end: datetime) -> list[Away]:
    """Every period of time off that overlaps [start, end), soonest first."""
    t = TimeOff
    return await _periods(session, t.business_id == business_id, t.start_at < end, t.end_at > start)


async def time_off_of(session: AsyncSession, business_id: str, practitioner_id: int) -> list[Away]:
    return await _periods(
        session, TimeOff.business_id == business_id, TimeOff.practitioner_id == practitioner_id
    )


async def _periods(session: AsyncSession, *where: Any) -> list[Away]:
    t, p = TimeOff, Practitioner
    rows = await session.execute(
        select(t.id, p.key, t.start_at, t.end_at, t.note)
        .join(p, p.id == t.practitioner_id)
        .where(*where)
        .order_by(t.start_at, t.id)
    )
    return [Away(*row) for row in rows]


async def add_time_off(
    session: AsyncSession,
    business_id: str,
    practitioner_id: int,
    *,
    start: datetime,
    end: datetime,
    note: str | None,
    actor: str,
    now: datetime,
) -> int:
    row = TimeOff(
        business_id=business_id,
        practitioner_id=practitioner_id,
        start_at=start,
        end_at=end,
        note=note,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await calendar_changed(session, business_id)
    return row.id


async def remove_time_off(
    session: AsyncSession, business_id: str, practitioner_id: int, time_off_id: int
) -> bool:
    result = await session.execute(
        delete(TimeOff)
        .where(
            TimeOff.business_id == business_id,
            TimeOff.practitioner_id == practitioner_id,
            TimeOff.id == time_off_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        await calendar_changed(session, business_id)
    return bool(result.rowcount)
