"""What the database holds for one business, counted for its records of processing (GDPR art. 30): how
many clients and messages, since when, who has access, which channels. Counts and dates only, and staff
accounts without their passwords. What the business did trying its own bot (test clients) is left out of
the client figures and counted on its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Appointment,
    AuditEvent,
    Channel,
    Client,
    ClientIdentity,
    Conversation,
    Email,
    Message,
    PrivacyEvent,
    Reminder,
    SettingsChange,
    Staff,
)


@dataclass(frozen=True, slots=True)
class Holdings:
    clients: int
    with_phone: int
    with_email: int
    with_notes: int
    identities: int  # how clients are known on channels (user ids, usernames, numbers)
    opted_out: int  # channels (and email addresses) a client said "stop" on
    restricted: int  # clients whose processing is restricted (art. 18)
    conversations: int
    messages: int
    oldest_message_at: datetime | None
    appointments: int  # with a client (an erased client's appointments stay, without one)
    anonymous_appointments: int
    reminders: int
    emails: int
    privacy_events: int  # exports, erasures, Meta's callbacks, retention purges
    audit_events: int
    settings_changes: int
    test_clients: int


@dataclass(frozen=True, slots=True)
class Access:
    """A staff account as the record lists it: who, which role, whether it can log in."""

    name: str
    email: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChannelHeld:
    kind: str
    asset_id: str
    active: bool
    connected_at: datetime


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int((await session.execute(query)).scalar_one())


async def holdings(session: AsyncSession, business_id: str) -> Holdings:
    real = (Client.business_id == business_id) & Client.test.is_(False)
    tests = select(Client.id).where(Client.business_id == business_id, Client.test.is_(True))
    client_row = (
        await session.execute(
            select(
                func.count(),
                func.count(Client.phone),
                func.count(Client.email),
                func.count(Client.notes),
                func.count(Client.email_opted_out_at),
                func.count(Client.restricted_at),
            ).where(real)
        )
    ).one()
    real_client = ClientIdentity.client_id.not_in(tests)
    identities, opted_out = (
        await session.execute(
            select(func.count(), func.count(ClientIdentity.opted_out_at)).where(
                ClientIdentity.business_id == business_id, real_client
            )
        )
    ).one()
    held = Conversation.client_id.not_in(tests)
    conversations = await _count(
        session, select(func.count()).where(Conversation.business_id == business_id, held)
    )
    in_real = Message.conversation_id.in_(
        select(Conversation.id).where(Conversation.business_id == business_id, held)
    )
    messages, oldest = (
        await session.execute(
            select(func.count(), func.min(Message.created_at)).where(
                Message.business_id == business_id, in_real
            )
        )
    ).one()
    a = Appointment
    appointments = await _count(
        session,
        select(func.count()).where(
            a.business_id == business_id, a.client_id.is_not(None), a.client_id.not_in(tests)
        ),
    )
    anonymous = await _count(
        session, select(func.count()).where(a.business_id == business_id, a.client_id.is_(None))
    )
    return Holdings(
        clients=int(client_row[0]),
        with_phone=int(client_row[1]),
        with_email=int(client_row[2]),
        with_notes=int(client_row[3]),
        identities=int(identities),
        opted_out=int(opted_out) + int(client_row[4]),
        restricted=int(client_row[5]),
        conversations=conversations,
        messages=int(messages),
        oldest_message_at=oldest,
        appointments=appointments,
        anonymous_appointments=anonymous,
        reminders=await _count(session, select(func.count()).where(Reminder.business_id == business_id)),
        emails=await _count(session, select(func.count()).where(Email.business_id == business_id)),
        privacy_events=await _count(
            session, select(func.count()).where(PrivacyEvent.business_id == business_id)
        ),
        audit_events=await _count(session, select(func.count()).where(AuditEvent.business_id == business_id)),
        settings_changes=await _count(
            session, select(func.count()).where(SettingsChange.business_id == business_id)
        ),
        test_clients=await _count(
            session, select(func.count()).where(Client.business_id == business_id, Client.test.is_(True))
        ),
    )


async def access(session: AsyncSession, business_id: str) -> list[Access]:
    """Every staff account of the business, owners first, then by name (no password hashes)."""
    rows = await session.execute(
        select(Staff.name, Staff.email, Staff.role, Staff.active, Staff.created_at, Staff.last_login_at)
        .where(Staff.business_id == business_id)
        .order_by(Staff.role != "owner", Staff.name, Staff.id)
    )
    return [Access(*row) for row in rows]


async def channels(session: AsyncSession, business_id: str) -> list[ChannelHeld]:
    """The business's Meta channels (not the playground's or the terminal's)."""
    rows = await session.execute(
        select(Channel.kind, Channel.external_id, Channel.active, Channel.created_at)
        .where(Channel.business_id == business_id, Channel.transport == "graph")
        .order_by(Channel.kind, Channel.external_id)
    )
    return [ChannelHeld(*row) for row in rows]
