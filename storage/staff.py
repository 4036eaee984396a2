"""What staff do to a conversation: take it from the bot, hand it back, write to the client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Channel, Client, ClientIdentity, Conversation, Message, Outbox


@dataclass(frozen=True, slots=True)
class Addressee:
    """Where a staff message goes: the conversation's channel and the client's identity on it."""

    conversation_id: int
    channel_id: int
    channel_kind: str
    user_id: str | None
    phone: str | None
    last_client_message_at: datetime | None


async def addressee(session: AsyncSession, business_id: str, conversation_id: int) -> Addressee | None:
    c, ch, i = Conversation, Channel, ClientIdentity
    row = (
        await session.execute(
            select(c.id, c.channel_id, ch.kind, i.user_id, i.phone, c.last_client_message_at)
            .join(ch, ch.id == c.channel_id)
            .join(i, i.id == c.identity_id)
            .where(c.business_id == business_id, c.id == conversation_id)
        )
    ).first()
    return Addressee(*row) if row else None


async def set_handler(
    session: AsyncSession, business_id: str, conversation_id: int, handled_by: str, now: datetime
) -> bool:
    """`staff` takes the conversation from the bot; `bot` hands it back, in the state the bot left it."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.business_id == business_id, Conversation.id == conversation_id)
        .values(handled_by=handled_by, needs_staff=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def queue_message(
    session: AsyncSession,
    business_id: str,
    to: Addressee,
    *,
    recipient: str,
    text: str,
    payload: dict[str, Any],
    window_ends_at: datetime,
    now: datetime,
    author: str = "staff",
) -> int:
    """Log a message (staff's, or the bot's outside a client's turn) on the client's record and queue it
    for sending, in one transaction."""
    message_id = (
        await session.execute(
            insert(Message)
            .values(
                business_id=business_id,
                conversation_id=to.conversation_id,
                channel_id=to.channel_id,
                direction="out",
                author=author,
                type="template"
                if payload.get("template")
                else "options"
                if payload.get("options")
                else "text",
                text=text,
                payload=payload,
                status="queued",
                created_at=now,
                status_at=now,
            )
            .returning(Message.id)
        )
    ).scalar_one()
    await session.execute(
        insert(Outbox).values(
            business_id=business_id,
            conversation_id=to.conversation_id,
            channel_id=to.channel_id,
            message_id=message_id,
            recipient=recipient,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            window_ends_at=window_ends_at,
            created_at=now,
        )
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.id == to.conversation_id)
        .values(last_message_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(message_id)


async def whatsapp_owner_of(
    session: AsyncSession, business_id: str, phone: str, exclude_client_id: int
) -> tuple[int, Addressee, dict[str, Any]] | None:
    """Another client of this business who writes on WhatsApp from `phone`: their client id, where to reach
    them, and their conversation's slots (the most recently active conversation). A test client (the
    playground) only ever finds test clients, and a real one real ones."""
    c, ch, i = Conversation, Channel, ClientIdentity
    asking = aliased(Client)
    asking_is_test = select(asking.test).where(asking.id == exclude_client_id).scalar_subquery()
    digits = phone.lstrip("+")
    row = (
        await session.execute(
            select(
                c.client_id,
                c.id,
                c.channel_id,
                ch.kind,
                i.user_id,
                i.phone,
                c.last_client_message_at,
                c.slots,
            )
            .join(ch, ch.id == c.channel_id)
            .join(i, i.id == c.identity_id)
            .join(Client, Client.id == c.client_id)
            .where(
                c.business_id == business_id,
                ch.kind == "whatsapp",
                i.phone.in_((phone, f"+{digits}", digits)),
                c.client_id != exclude_client_id,
                Client.test == func.coalesce(asking_is_test, False),
                Client.restricted_at.is_(None),  # nothing is sent to a client whose processing is restricted
            )
            .order_by(c.last_client_message_at.desc().nulls_last(), c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return row[0], Addressee(row[1], row[2], row[3], row[4], row[5], row[6]), dict(row[7] or {})


async def set_conversation_slots(
    session: AsyncSession, conversation_id: int, slots: dict[str, Any], now: datetime
) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(slots=slots, updated_at=now)
        .execution_options(synchronize_session=False)
    )
