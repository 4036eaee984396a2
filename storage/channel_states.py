"""Which channels may send: one Meta disconnected (its deauthorize callback) stays off, across restarts and
processes, until an owner turns it back on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Channel

_OFF = select(Channel.id).where(Channel.active.is_(False))


@dataclass(frozen=True, slots=True)
class Disconnected:
    id: int
    kind: str
    external_id: str
    since: datetime | None


async def off(session: AsyncSession) -> frozenset[int]:
    """The ids of every channel that must not send (a handful at most: one small query per send pass)."""
    return frozenset((await session.scalars(_OFF)).all())


async def disconnected(session: AsyncSession, business_id: str) -> list[Disconnected]:
    """A business's disconnected channels, for the staff app to say so."""
    rows = await session.execute(
        select(Channel.id, Channel.kind, Channel.external_id, Channel.disconnected_at)
        .where(Channel.business_id == business_id, Channel.active.is_(False), Channel.transport == "graph")
        .order_by(Channel.id)
    )
    return [Disconnected(*row) for row in rows]


async def switch_off(session: AsyncSession, asset_ids: set[str], now: datetime) -> list[tuple[str, int]]:
    """Mark the channels of these Meta assets (a Page, an Instagram account, a phone number id) as
    disconnected; returns (business id, channel id) of each."""
    if not asset_ids:
        return []
    rows = (
        await session.execute(
            select(Channel.business_id, Channel.id).where(
                Channel.external_id.in_(sorted(asset_ids)), Channel.transport == "graph"
            )
        )
    ).all()
    if rows:
        await session.execute(
            update(Channel)
            .where(Channel.id.in_([r[1] for r in rows]), Channel.active.is_(True))
            .values(active=False, disconnected_at=now)
        )
    return [(row[0], row[1]) for row in rows]


async def turn_on(session: AsyncSession, business_id: str, channel_id: int) -> bool:
    """An owner says the app is connected at Meta again; False when no such disconnected channel."""
    done = await session.execute(
        update(Channel)
        .where(Channel.id == channel_id, Channel.business_id == business_id, Channel.active.is_(False))
        .values(active=True, disconnected_at=None)
    )
    return bool(done.rowcount)
