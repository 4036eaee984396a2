"""Clients, their channel identities, conversations and the messages logged to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, ClientIdentity, Conversation, Message


@dataclass(frozen=True, slots=True)
class Who:
    """What a channel tells us about the person writing."""

    business_id: str
    channel_kind: str
    key: str
    user_id: str | None = None
    phone: str | None = None
    name: str | None = None
    username: str | None = None


async def identify(session: AsyncSession, who: Who, now: datetime) -> tuple[Client, ClientIdentity]:
    """Find or create the client behind a channel identity.

    WhatsApp identities are keyed on the business-scoped user id where present, the phone otherwise; a
    later message that shows both links them, so the record survives a user adopting a username.
    """
    clauses = [ClientIdentity.external_id == who.key]
    if who.user_id:
        clauses.append(ClientIdentity.user_id == who.user_id)
    if who.phone:
        clauses.append(ClientIdentity.phone == who.phone)
    result = await session.execute(
        select(ClientIdentity)
        .where(
            ClientIdentity.business_id == who.business_id,
            ClientIdentity.channel_kind == who.channel_kind,
            or_(*clauses),
        )
        .order_by(ClientIdentity.id)
    )
    identities = list(result.scalars())
    identity = next((i for i in identities if i.external_id == who.key), None) or (
        identities[0] if identities else None
    )
    if identity is None:
        client = Client(
            business_id=who.business_id, name=who.name, phone=who.phone, created_at=now, updated_at=now
        )
        session.add(client)
        await session.flush()
        identity = ClientIdentity(
            business_id=who.business_id,
            client_id=client.id,
            channel_kind=who.channel_kind,
            external_id=who.key,
            user_id=who.user_id,
            phone=who.phone,
            username=who.username,
            display_name=who.name,
            created_at=now,
            updated_at=now,
        )
        session.add(identity)
        await session.flush()
        return client, identity
    changed = False
    for attribute in ("user_id", "phone", "username"):
        value = getattr(who, attribute)
        if value and getattr(identity, attribute) != value:
            setattr(identity, attribute, value)
            changed = True
    if who.name and identity.display_name != who.name:
        identity.display_name = who.name
        changed = True
    if changed:
        identity.updated_at = now
    client = await session.get(Client, identity.client_id)
    assert client is not None
    if (who.phone and not client.phone) or (who.name and not client.name):
        client.phone = client.phone or who.phone
        client.name = client.name or who.name
        client.updated_at = now
    return client, identity


async def conversation_for(
    session: AsyncSession,
    *,
    key: str,
    business_id: str,
    channel_id: int,
    client: Client,
    identity: ClientIdentity,
    flow: str,
    state: str,
    locale: str,
    now: datetime,
) -> Conversation:
    result = await session.execute(select(Conversation).where(Conversation.key == key))
    conversation = result.scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(
            key=key,
            business_id=business_id,
            channel_id=channel_id,
            client_id=client.id,
            identity_id=identity.id,
            flow=flow,
            state=state,
            slots={},
            locale=locale,
            handled_by="bot",
            needs_staff=False,
            misunderstood=0,
            created_at=now,
            updated_at=now,
        )
        session.add(conversation)
        await session.flush()
    return conversation


def log_message(
    session: AsyncSession,
    conversation: Conversation,
    *,
    direction: str,
    author: str,
    type: str,
    text: str | None,
    status: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    platform_message_id: str | None = None,
    reply_to_id: int | None = None,
) -> Message:
    message = Message(
        business_id=conversation.business_id,
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        direction=direction,
        author=author,
        type=type,
        text=text,
        payload=payload,
        platform_message_id=platform_message_id,
        reply_to_id=reply_to_id,
        status=status,
        created_at=now,
        status_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    return message


async def apply_status(
    session: AsyncSession,
    *,
    channel_id: int,
    platform_message_id: str,
    status: str,
    rank: dict[str, int],
    at: datetime,
    error_code: int | None = None,
    error_title: str | None = None,
) -> bool:
    """Move an outbound message's delivery status forward (never back); False for an unknown message."""
    result = await session.execute(
        select(Message).where(
            Message.channel_id == channel_id,
            Message.platform_message_id == platform_message_id,
            Message.direction == "out",
        )
    )
    message = result.scalars().first()
    if message is None:
        return False
    if rank.get(status, -1) > rank.get(message.status, -1):
        await session.execute(
            update(Message)
            .where(Message.id == message.id)
            .values(
                status=status,
                status_at=at,
                error_code=error_code if status == "failed" else message.error_code,
                error_title=error_title if status == "failed" else message.error_title,
            )
        )
    return True
