"""Conversations and their messages as staff read them: listed per business, newest activity first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Channel, Client, Conversation, Message

# Which conversations each status filter keeps; None lists them all.
STATUS_FILTERS = ("needs_staff", "staff", "bot")
MESSAGE_PAGE = 50
MESSAGE_PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation with its client, as the inbox lists it."""

    id: int
    channel: str
    client_id: int
    client_name: str | None
    client_phone: str | None
    handled_by: str
    needs_staff: bool
    state: str
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class MessageView:
    """One logged message in or out."""

    id: int
    direction: str
    author: str
    text: str | None
    status: str
    created_at: datetime
    error: str | None = None  # why a send failed or was refused, for staff to see


async def list_conversations(
    session: AsyncSession, business_id: str, *, status: str | None = None, limit: int = 100
) -> list[ConversationView]:
    """The business's conversations, most recent activity first; `status` is one of STATUS_FILTERS."""
    c = Conversation
    query = (
        select(
            c.id,
            Channel.kind,
            c.client_id,
            Client.name,
            Client.phone,
            c.handled_by,
            c.needs_staff,
            c.state,
            c.last_message_at,
        )
        .join(Channel, Channel.id == c.channel_id)
        .join(Client, Client.id == c.client_id)
        .where(c.business_id == business_id)
    )
    if status == "needs_staff":
        query = query.where(c.needs_staff.is_(True))
    elif status in ("staff", "bot"):
        query = query.where(c.handled_by == status)
    elif status is not None:
        raise ValueError(f"unknown conversation status {status!r}")
    activity = func.coalesce(c.last_message_at, c.created_at)
    result = await session.execute(query.order_by(activity.desc(), c.id.desc()).limit(limit))
    return [
        ConversationView(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8])
        for row in result
    ]


async def conversation_exists(session: AsyncSession, business_id: str, conversation_id: int) -> bool:
    result = await session.execute(
        select(Conversation.id).where(
            Conversation.business_id == business_id, Conversation.id == conversation_id
        )
    )
    return result.scalar() is not None


async def messages_of(
    session: AsyncSession,
    business_id: str,
    conversation_id: int,
    *,
    before: int | None = None,
    limit: int = MESSAGE_PAGE,
) -> list[MessageView]:
    """The latest `limit` messages of the conversation (older than message id `before` when given),
    returned oldest first; page back by passing the first id as the next `before`."""
    m = Message
    query = select(m.id, m.direction, m.author, m.text, m.status, m.created_at, m.error_title).where(
        m.business_id == business_id, m.conversation_id == conversation_id
    )
    if before is not None:
        query = query.where(m.id < before)
    result = await session.execute(query.order_by(m.id.desc()).limit(limit))
    return [MessageView(*row) for row in reversed(result.all())]
