"""Data-subject rights in the database: everything held on one client (export), removing it (erasure)
while keeping anonymous booking facts, and the audit rows of both (privacy_events, no personal data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Appointment,
    AppointmentHistory,
    Channel,
    Client,
    ClientIdentity,
    Conversation,
    ConversationRead,
    Email,
    HandledEvent,
    InboundEvent,
    Message,
    Outbox,
    Practitioner,
    PrivacyEvent,
    Reminder,
    Service,
)

# The channel adapters' dedupe key prefixes for a client's own messages (bot/channels/*.provider_key).
_MESSAGE_KEY_PREFIXES = ("wa:msg:", "fb:msg:", "ig:msg:")
_ID_KEYS = ("id", "choice_id", "message_id", "appointment_id", "practitioner_id", "room_id", "reply_to")


def without_internal_ids(value: Any) -> Any:
    """A payload as the client may read it: our row ids and option ids left out, the rest kept."""
    if isinstance(value, dict):
        return {k: without_internal_ids(v) for k, v in value.items() if k not in _ID_KEYS}
    if isinstance(value, list):
        return [without_internal_ids(v) for v in value]
    return value


async def export_client(session: AsyncSession, business_id: str, client_id: int) -> dict[str, Any] | None:
    """Everything held on one client of this business, as plain values (times as UTC datetimes); None when
    there is no such client here."""
    client = await session.scalar(
        select(Client).where(Client.business_id == business_id, Client.id == client_id)
    )
    if client is None:
        return None
    i = ClientIdentity
    identities = [
        {
            "channel": row.channel_kind,
            "user_id": row.user_id,
            "phone": row.phone,
            "username": row.username,
            "display_name": row.display_name,
            "created_at": row.created_at,
            "opted_out_at": row.opted_out_at,
        }
        for row in (await session.scalars(select(i).where(i.client_id == client_id).order_by(i.id)))
    ]
    return {
        "client": {
            "id": client.id,
            "name": client.name,
            "phone": client.phone,
            "email": client.email,
            "locale": client.locale,
            "notes": client.notes,
            "restriction": None
            if client.restricted_at is None
            else {
                "since": client.restricted_at,
                "reason": client.restricted_reason,
                "note": client.restricted_note,
            },
            "created_at": client.created_at,
            "updated_at": client.updated_at,
        },
        "identities": identities,
        "consents": {
            "email": {
                "address": client.email,
                "reminders": client.email is not None and client.email_opted_out_at is None,
                "opted_out_at": client.email_opted_out_at,
            },
            "channels": [
                {
                    "channel": x["channel"],
                    "reminders": x["opted_out_at"] is None,
                    "opted_out_at": x["opted_out_at"],
                }
                for x in identities
            ],
        },
        "conversations": await _conversations(session, client_id),
        "appointments": await _appointments(session, business_id, client_id),
    }


async def _conversations(session: AsyncSession, client_id: int) -> list[dict[str, Any]]:
    c, m = Conversation, Message
    rows = (
        await session.execute(
            select(c.id, Channel.kind, c.state, c.handled_by, c.locale, c.created_at, c.last_message_at)
            .join(Channel, Channel.id == c.channel_id)
            .where(c.client_id == client_id)
            .order_by(c.id)
        )
    ).all()
    conversations: list[dict[str, Any]] = []
    for row in rows:
        messages = await session.execute(
            select(m.direction, m.author, m.type, m.text, m.status, m.created_at, m.payload)
            .where(m.conversation_id == row.id)
            .order_by(m.id)
        )
        conversations.append(
            {
                "channel": row.kind,
                "state": row.state,
                "handled_by": row.handled_by,
                "locale": row.locale,
                "created_at": row.created_at,
                "last_message_at": row.last_message_at,
                "messages": [
                    {
                        "direction": msg.direction,
                        "author": msg.author,
                        "type": msg.type,
                        "text": msg.text,
                        "status": msg.status,
                        "created_at": msg.created_at,
                        "payload": without_internal_ids(msg.payload) if msg.payload else None,
                    }
                    for msg in messages
                ],
            }
        )
    return conversations


async def _appointments(session: AsyncSession, business_id: str, client_id: int) -> list[dict[str, Any]]:
    a = Appointment
    rows = (
        await session.execute(
            select(
                a.id, a.start_at, a.end_at, a.status, a.channel, a.created_at, Service.name, Practitioner.name
            )
            .join(Service, Service.id == a.service_id)
            .outerjoin(Practitioner, Practitioner.id == a.practitioner_id)
            .where(a.business_id == business_id, a.client_id == client_id)
            .order_by(a.start_at, a.id)
        )
    ).all()
    ids = [row[0] for row in rows]
    history: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    reminders: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    emails: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        h, r, e = AppointmentHistory, Reminder, Email
        for row in await session.execute(
            select(h.appointment_id, h.at, h.actor, h.action, h.from_status, h.to_status, h.details)
            .where(h.appointment_id.in_(ids))
            .order_by(h.at, h.id)
        ):
            history[row[0]].append(
                {
                    "at": row.at,
                    "actor": row.actor,
                    "action": row.action,
                    "from": row.from_status,
                    "to": row.to_status,
                    "details": without_internal_ids(row.details) if row.details else None,
                }
            )
        for row in await session.execute(
            select(r.appointment_id, r.lead, r.due_at, r.state, r.route, r.reason)
            .where(r.appointment_id.in_(ids))
            .order_by(r.due_at, r.id)
        ):
            reminders[row[0]].append(
                {
                    "lead": row.lead,
                    "due_at": row.due_at,
                    "state": row.state,
                    "route": row.route,
                    "reason": row.reason,
                }
            )
        for row in await session.execute(
            select(e.appointment_id, e.kind, e.state, e.created_at, e.sent_at)
            .where(e.appointment_id.in_(ids))
            .order_by(e.id)
        ):
            emails[row[0]].append(
                {"kind": row.kind, "state": row.state, "created_at": row.created_at, "sent_at": row.sent_at}
            )
    return [
        {
            "service": service,
            "practitioner": practitioner,
            "start": start,
            "end": end,
            "status": status,
            "channel": channel,
            "created_at": created,
            "history": history[appointment_id],
            "reminders": reminders[appointment_id],
            "emails": emails[appointment_id],
        }
        for appointment_id, start, end, status, channel, created, service, practitioner in rows
    ]


@dataclass(slots=True)
class InboxTrail:
    """Where a client's deliveries sit in the inbox: the conversation keys their messages, echoes and
    receipts were queued under, and the dedupe keys of their messages (handled_events)."""

    conversation_keys: set[str] = field(default_factory=set)
    provider_keys: set[str] = field(default_factory=set)


async def inbox_trail(session: AsyncSession, business_id: str, client_id: int) -> InboxTrail | None:
    """The inbox keys of one client (read before erasing: they come from the rows erasure removes); None
    when the business has no such client."""
    found = await session.scalar(
        select(Client.id).where(Client.business_id == business_id, Client.id == client_id)
    )
    if found is None:
        return None
    trail = InboxTrail()
    conversations = (
        await session.execute(
            select(Conversation.id, Conversation.key, Conversation.channel_id).where(
                Conversation.client_id == client_id
            )
        )
    ).all()
    for _id, key, _channel in conversations:
        trail.conversation_keys |= {key, f"echo:{key}"}
    identities = (
        await session.execute(
            select(ClientIdentity.business_id, ClientIdentity.channel_kind, ClientIdentity.external_id)
            .add_columns(ClientIdentity.user_id, ClientIdentity.phone)
            .where(ClientIdentity.client_id == client_id)
        )
    ).all()
    for business_id, kind, *names in identities:
        channels = await session.scalars(
            select(Channel.id).where(Channel.business_id == business_id, Channel.kind == kind)
        )
        for channel_id in channels:
            for name in {n for n in names if n}:
                trail.conversation_keys |= {
                    f"{channel_id}:{name}",
                    f"echo:{channel_id}:{name}",
                    f"status:{channel_id}:to:{name}",
                }
    ids = [row[0] for row in conversations]
    if ids:
        messages = await session.execute(
            select(Message.channel_id, Message.direction, Message.platform_message_id).where(
                Message.conversation_id.in_(ids), Message.platform_message_id.is_not(None)
            )
        )
        for channel_id, direction, platform_id in messages:
            trail.conversation_keys.add(f"status:{channel_id}:{platform_id}")
            if direction == "in":
                trail.provider_keys |= {prefix + platform_id for prefix in _MESSAGE_KEY_PREFIXES}
    return trail


async def forget_inbox(session: AsyncSession, trail: InboxTrail) -> set[str]:
    """Remove the client's deliveries from the inbox (its own file on SQLite: pass a session of
    `db.inbox`); returns their dedupe keys, for handled_events."""
    keys = sorted(trail.conversation_keys)
    found: set[str] = set()
    events = InboundEvent.__table__
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found |= set(
            await session.scalars(select(events.c.provider_key).where(events.c.conversation_key.in_(chunk)))
        )
        await session.execute(delete(events).where(events.c.conversation_key.in_(chunk)))
    return found


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure removed, counted (nothing of the client kept)."""

    conversations: int
    messages: int
    appointments_kept: int


async def erase_client(
    session: AsyncSession, business_id: str, client_id: int, provider_keys: set[str]
) -> Erased | None:
    """Remove one client's personal data and messages: the client row, identities, conversations with
    their messages, read marks and outbox rows, the reminders and emails of their appointments, and the
    dedupe keys of their deliveries. Appointments stay, without a client (statistics count them), with
    their history (times and statuses only). None when there is no such client here."""
    found = await session.scalar(
        select(Client.id).where(Client.business_id == business_id, Client.id == client_id)
    )
    if found is None:
        return None
    conversations = list(
        await session.scalars(select(Conversation.id).where(Conversation.client_id == client_id))
    )
    appointments = list(
        await session.scalars(select(Appointment.id).where(Appointment.client_id == client_id))
    )
    messages = 0
    if conversations:
        message_ids = select(Message.id).where(Message.conversation_id.in_(conversations))
        await _run(
            session, update(Reminder).where(Reminder.message_id.in_(message_ids)).values(message_id=None)
        )
        await _run(session, delete(Outbox).where(Outbox.conversation_id.in_(conversations)))
        messages = (
            await _run(session, delete(Message).where(Message.conversation_id.in_(conversations)))
        ).rowcount
        await _run(
            session, delete(ConversationRead).where(ConversationRead.conversation_id.in_(conversations))
        )
        await _run(session, delete(Conversation).where(Conversation.id.in_(conversations)))
    if appointments:
        await _run(session, delete(Reminder).where(Reminder.appointment_id.in_(appointments)))
        await _run(session, delete(Email).where(Email.appointment_id.in_(appointments)))
        await _run(
            session, update(Appointment).where(Appointment.id.in_(appointments)).values(client_id=None)
        )
    await _run(session, delete(ClientIdentity).where(ClientIdentity.client_id == client_id))
    await _run(session, delete(Client).where(Client.id == client_id))
    keys = sorted(provider_keys)
    for start in range(0, len(keys), 500):
        await _run(
            session, delete(HandledEvent).where(HandledEvent.provider_key.in_(keys[start : start + 500]))
        )
    return Erased(len(conversations), messages or 0, len(appointments))


async def _run(session: AsyncSession, statement: Any) -> Any:
    return await session.execute(statement.execution_options(synchronize_session=False))


async def clients_of_meta_user(session: AsyncSession, user_id: str) -> list[tuple[str, int]]:
    """The clients (business id, client id), in every business, known on a channel by this platform user
    id (a PSID, IGSID or WhatsApp user id as the identities store it)."""
    i = ClientIdentity
    rows = await session.execute(
        select(i.business_id, i.client_id)
        .where(or_(i.user_id == user_id, i.external_id == user_id))
        .distinct()
        .order_by(i.client_id)
    )
    return [(row[0], row[1]) for row in rows]


def record(
    session: AsyncSession,
    *,
    business_id: str | None,
    kind: str,
    actor: str,
    subject: int | None,
    status: str,
    now: datetime,
    confirmation_code: str | None = None,
) -> None:
    """One audit row: ids and outcomes only."""
    session.add(
        PrivacyEvent(
            business_id=business_id,
            at=now,
            kind=kind,
            actor=actor[:64],
            subject=subject,
            confirmation_code=confirmation_code,
            status=status,
        )
    )


@dataclass(frozen=True, slots=True)
class DeletionStatus:
    """What became of one Meta data deletion request."""

    at: datetime
    status: str
    erased: int


async def deletion_status(session: AsyncSession, code: str) -> DeletionStatus | None:
    rows = (
        await session.execute(
            select(PrivacyEvent.kind, PrivacyEvent.at, PrivacyEvent.status)
            .where(PrivacyEvent.confirmation_code == code)
            .order_by(PrivacyEvent.id)
        )
    ).all()
    request = next((row for row in rows if row.kind == "meta_deletion"), None)
    if request is None:
        return None
    erased = sum(1 for row in rows if row.kind == "erase" and row.status == "done")
    return DeletionStatus(request.at, request.status, erased)
