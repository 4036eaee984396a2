"""Saved replies: short answers a business keeps for staff to send with a few keystrokes ("/parking")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SavedReply

SHORTCUT_LIMIT = 40
TEXT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    shortcut: str
    text: str


class ShortcutTaken(Exception):
    pass


async def saved_replies(session: AsyncSession, business_id: str) -> list[Saved]:
    rows = await session.execute(
        select(SavedReply.id, SavedReply.shortcut, SavedReply.text)
        .where(SavedReply.business_id == business_id)
        .order_by(SavedReply.shortcut)
    )
    return [Saved(*row) for row in rows]


async def save_reply(
    session: AsyncSession,
    business_id: str,
    shortcut: str,
    text: str,
    now: datetime,
    reply_id: int | None = None,
) -> bool:
    """Add a saved reply, or change one (`reply_id`); False when that one is not this business's."""
    try:
        async with session.begin_nested():
            if reply_id is None:
                await session.execute(
                    insert(SavedReply).values(
                        business_id=business_id, shortcut=shortcut, text=text, created_at=now, updated_at=now
                    )
                )
                return True
            result = await session.execute(
                update(SavedReply)
                .where(SavedReply.business_id == business_id, SavedReply.id == reply_id)
                .values(shortcut=shortcut, text=text, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)
    except IntegrityError:
        raise ShortcutTaken(shortcut) from None


async def delete_reply(session: AsyncSession, business_id: str, reply_id: int) -> bool:
    result = await session.execute(
        delete(SavedReply).where(SavedReply.business_id == business_id, SavedReply.id == reply_id)
    )
    return bool(result.rowcount)
