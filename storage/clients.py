"""Client records as staff look them up: search by phone or text, and one client with its identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Appointment, Channel, Client, ClientIdentity, Conversation

SEARCH_LIMIT = 100


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """A client as a search lists it."""

    id: int
    name: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class IdentityView:
    """How the client is known on one channel."""

    channel: str
    user_id: str | None
    phone: str | None
    username: str | None
    opted_out_at: datetime | None = None  # said "stop": no reminders or notices on this channel


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One of the client's conversations, without its messages."""

    id: int
    channel: str
    handled_by: str
    needs_staff: bool
    state: str
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """Everything the client record shows apart from appointments (those come from storage.appointments)."""

    id: int
    name: str | None
    phone: str | None
    locale: str | None
    identities: list[IdentityView]
    conversations: list[ConversationSummary]
    possible_duplicates: list[ClientSummary]
    notes: str | None = None
    email: str | None = None
    email_opted_out_at: datetime | None = None
    # Processing restricted (GDPR art. 18; bot/client_edits.py): since when, why, staff's words, by whom.
    restricted_at: datetime | None = None
    restricted_reason: str | None = None
    restricted_note: str | None = None
    restricted_by: str | None = None


def phone_forms(digits: str) -> tuple[str, str]:
    """A number as it may be stored: E.164 with "+", or bare digits (as older WhatsApp rows held it)."""
    return f"+{digits}", digits


async def search_clients(
    session: AsyncSession,
    business_id: str,
    *,
    phone_digits: str | None = None,
    q: str | None = None,
    limit: int = SEARCH_LIMIT,
) -> list[ClientSummary]:
    """Clients of one business, by exact phone (theirs or a channel identity's) and/or a case-insensitive
    substring of name or phone; oldest first. Test clients (the playground) are not listed."""
    query = select(Client.id, Client.name, Client.phone).where(
        Client.business_id == business_id, Client.test.is_(False)
    )
    if phone_digits:
        forms = phone_forms(phone_digits)
        by_identity = select(ClientIdentity.client_id).where(
            ClientIdentity.business_id == business_id, ClientIdentity.phone.in_(forms)
        )
        query = query.where(or_(Client.phone.in_(forms), Client.id.in_(by_identity)))
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Client.name).contains(needle, autoescape=True),
                Client.phone.contains(needle, autoescape=True),
            )
        )
    result = await session.execute(query.order_by(Client.id).limit(limit))
    return [ClientSummary(*row) for row in result]


async def client_record(session: AsyncSession, business_id: str, client_id: int) -> ClientRecord | None:
    """The client with its channel identities and conversations, or None if not this business's."""
    client = (
        await session.execute(select(Client).where(Client.business_id == business_id, Client.id == client_id))
    ).scalar_one_or_none()
    if client is None:
        return None
    i = ClientIdentity
    identities = await session.execute(
        select(i.channel_kind, i.user_id, i.phone, i.username, i.opted_out_at)
        .where(i.business_id == business_id, i.client_id == client_id)
        .order_by(i.id)
    )
    c = Conversation
    conversations = await session.execute(
        select(c.id, Channel.kind, c.handled_by, c.needs_staff, c.state, c.last_message_at)
        .join(Channel, Channel.id == c.channel_id)
        .where(c.business_id == business_id, c.client_id == client_id)
        .order_by(c.id)
    )
    identities_found = [IdentityView(*row) for row in identities]
    phones = {p for p in [client.phone, *(i.phone for i in identities_found)] if p}
    return ClientRecord(
        id=client.id,
        name=client.name,
        phone=client.phone,
        locale=client.locale,
        identities=identities_found,
        possible_duplicates=await _same_phone(session, business_id, client.id, phones, test=client.test),
        conversations=[
            ConversationSummary(row[0], row[1], row[2], bool(row[3]), row[4], row[5]) for row in conversations
        ],
        notes=client.notes,
        email=client.email,
        email_opted_out_at=client.email_opted_out_at,
        restricted_at=client.restricted_at,
        restricted_reason=client.restricted_reason,
        restricted_note=client.restricted_note,
        restricted_by=client.restricted_by,
    )


async def _same_phone(
    session: AsyncSession, business_id: str, client_id: int, phones: set[str], *, test: bool = False
) -> list[ClientSummary]:
    """Other records with one of these numbers: likely the same person on another channel, for staff to
    link. Never linked by themselves: a number typed in a chat proves nothing about who typed it. A test
    client (the playground) and a real one are never the same person."""
    forms = {form for phone in phones for form in phone_forms(phone.lstrip("+"))}
    if not forms:
        return []
    # Two lookups by index (a client's phone, an identity's phone) rather than one OR over every client.
    by_client = select(Client.id).where(Client.business_id == business_id, Client.phone.in_(forms))
    by_identity = select(ClientIdentity.client_id).where(
        ClientIdentity.business_id == business_id, ClientIdentity.phone.in_(forms)
    )
    ids = set((await session.execute(by_client)).scalars()) | set(
        (await session.execute(by_identity)).scalars()
    )
    ids.discard(client_id)
    if not ids:
        return []
    rows = await session.execute(
        select(Client.id, Client.name, Client.phone)
        .where(Client.id.in_(sorted(ids)[:20]), Client.test.is_(test))
        .order_by(Client.id)
    )
    return [ClientSummary(*row) for row in rows]


async def fill_client_name(
    session: AsyncSession, business_id: str, client_id: int, name: str, now: datetime
) -> None:
    """Give a nameless client the name staff typed; a name the client already has is kept."""
    await session.execute(
        update(Client)
        .where(Client.business_id == business_id, Client.id == client_id, Client.name.is_(None))
        .values(name=name, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def fill_client_email(
    session: AsyncSession, business_id: str, client_id: int, email: str, now: datetime
) -> None:
    """The address given with a booking (the API's client.email), unless the client has one already."""
    await session.execute(
        update(Client)
        .where(Client.business_id == business_id, Client.id == client_id, Client.email.is_(None))
        .values(email=email, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def merge_clients(
    session: AsyncSession, business_id: str, keep_id: int, other_id: int, now: datetime
) -> bool:
    """One person, two records (say WhatsApp and Messenger): everything of `other_id` moves to `keep_id`,
    which keeps its own name and phone and takes the other's where it has none. False if either is
    not a client of this business, or one is a test client (the playground) and the other is not."""
    rows = (
        await session.execute(
            select(Client.id, Client.name, Client.phone, Client.locale, Client.test).where(
                Client.business_id == business_id, Client.id.in_((keep_id, other_id))
            )
        )
    ).all()
    found = {row.id: row for row in rows}
    if keep_id == other_id or len(found) != 2 or found[keep_id].test != found[other_id].test:
        return False
    keep, other = found[keep_id], found[other_id]
    for model in (ClientIdentity, Conversation, Appointment):
        await session.execute(
            update(model)
            .where(model.client_id == other_id)
            .values(client_id=keep_id)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Client)
        .where(Client.id == keep_id)
        .values(
            name=keep.name or other.name,
            phone=keep.phone or other.phone,
            locale=keep.locale or other.locale,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(Client).where(Client.id == other_id))
    return True


# --- the staff app's client list and record --------------------------------------------------------------

CLIENT_PAGE = 50


def client_matches(search: str) -> Any:
    """A name containing the words (any case), or, when the search looks like a phone number, a phone
    containing its digits: the staff app's inbox and client list search alike."""
    text = search.strip().lower()[:100]
    digits = "".join(ch for ch in text if ch.isdigit())
    by_name = func.lower(Client.name).contains(text, autoescape=True)
    if len(digits) >= 3 and len(digits) >= len(text.replace(" ", "").replace("+", "")) - 1:
        return or_(by_name, Client.phone.contains(digits, autoescape=True))
    return by_name


NOTES_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: int
    name: str | None
    phone: str | None
    created_at: datetime


async def client_page(
    session: AsyncSession, business_id: str, *, q: str | None = None, before: int | None = None
) -> tuple[list[ClientRow], int | None]:
    """The business's clients, newest first, `CLIENT_PAGE` at a time; searched by name (any part, any
    case) or phone digits. Returns the page and the `before` of the next one (None at the end). Test
    clients (the playground) are not listed."""
    query = select(Client.id, Client.name, Client.phone, Client.created_at).where(
        Client.business_id == business_id, Client.test.is_(False)
    )
    if q:
        query = query.where(client_matches(q))
    if before is not None:
        query = query.where(Client.id < before)
    rows = [
        ClientRow(*row)
        for row in await session.execute(query.order_by(Client.id.desc()).limit(CLIENT_PAGE + 1))
    ]
    more = len(rows) > CLIENT_PAGE
    rows = rows[:CLIENT_PAGE]
    return rows, (rows[-1].id if more and rows else None)


async def set_notes(
    session: AsyncSession, business_id: str, client_id: int, notes: str, now: datetime
) -> bool:
    result = await session.execute(
        update(Client)
        .where(Client.business_id == business_id, Client.id == client_id)
        .values(notes=notes or None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


# --- test clients: the business trying its own bot (the playground, `jola chat`) --------------------------


async def is_test_client(session: AsyncSession, client_id: int) -> bool:
    """Whether the client was made by the business trying its own bot: whatever acts on clients by itself
    (reminders, exports, statistics) leaves these out."""
    found = await session.execute(select(Client.test).where(Client.id == client_id))
    return bool(found.scalar())


def real_clients_only(column: Any, business_id: str) -> Any:
    """A clause for rows that name a client in `column` (appointments, conversations): the business's real
    clients' rows, and rows without a client; not test clients' (the playground's)."""
    tests = select(Client.id).where(Client.business_id == business_id, Client.test.is_(True))
    return or_(column.is_(None), column.not_in(tests))


async def find_test_clients(
    session: AsyncSession,
    business_id: str | None = None,
    *,
    identity_prefix: str | None = None,
    made_before: datetime | None = None,
) -> list[tuple[str, int]]:
    """Test clients that still have conversations or identities to remove, as (business id, client id):
    of one business, whose identity is stored under `identity_prefix` (one staff member's playground),
    made before a moment (housekeeping)."""
    i = ClientIdentity
    identities = select(i.client_id)
    if identity_prefix is not None:
        identities = identities.where(i.external_id.startswith(identity_prefix, autoescape=True))
    query = select(Client.business_id, Client.id).where(Client.test.is_(True), Client.id.in_(identities))
    if business_id is not None:
        query = query.where(Client.business_id == business_id)
    if made_before is not None:
        query = query.where(Client.created_at < made_before)
    return [(row[0], row[1]) for row in await session.execute(query.order_by(Client.id))]


async def forget_test_clients(session: AsyncSession, business_id: str, client_ids: list[int]) -> None:
    """Remove test clients: their conversations (messages, outbox rows and read marks go with them), their
    identities, and the client rows. Appointments are never deleted (a kept calendar sees one go by its
    cancellation, storage.appointments), so a test client with appointments (cancelled by the caller)
    stays as a nameless row that keeps them marked as test, out of the client list and the statistics."""
    if not client_ids:
        return
    ids = select(Client.id).where(
        Client.business_id == business_id, Client.test.is_(True), Client.id.in_(client_ids)
    )
    found = list((await session.execute(ids)).scalars())
    if not found:
        return
    for model in (Conversation, ClientIdentity):
        await session.execute(
            delete(model).where(model.client_id.in_(found)).execution_options(synchronize_session=False)
        )
    booked = select(Appointment.client_id).where(Appointment.client_id.in_(found))
    await session.execute(
        delete(Client)
        .where(Client.id.in_(found), Client.id.not_in(booked))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Client)
        .where(Client.id.in_(found))
        .values(name=None, phone=None, notes=None, locale=None)
        .execution_options(synchronize_session=False)
    )


async def set_opted_out(
    session: AsyncSession, client_id: int, channel_kind: str | None, at: datetime | None
) -> None:
    """The client's "stop" (`at`) or "start" (None) for reminders and notices on one channel."""
    if channel_kind is None:
        return
    await session.execute(
        update(ClientIdentity)
        .where(ClientIdentity.client_id == client_id, ClientIdentity.channel_kind == channel_kind)
        .values(opted_out_at=at)
        .execution_options(synchronize_session=False)
    )


EMAIL_LIMIT = 254


async def set_email(
    session: AsyncSession, business_id: str, client_id: int, email: str | None, reminders: bool, now: datetime
) -> bool:
    """The client's email address (None: none) and whether reminders and notices go there."""
    found = await session.scalar(
        select(Client.email_opted_out_at).where(Client.business_id == business_id, Client.id == client_id)
    )
    exists = await session.scalar(
        select(func.count())
        .select_from(Client)
        .where(Client.business_id == business_id, Client.id == client_id)
    )
    if not exists:
        return False
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(email=email, email_opted_out_at=None if reminders else (found or now), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


def looks_like_email(address: str) -> bool:
    """One plain address (no name, no list, no header-breaking characters): staff forms and the API."""
    from email.utils import parseaddr

    _, found = parseaddr(address)
    local, _, domain = found.partition("@")
    return (
        found == address
        and len(address) <= EMAIL_LIMIT
        and bool(local)
        and "." in domain.strip(".")
        and not any(ch.isspace() or ch in '<>,;"' for ch in address)
    )


async def opted_out(session: AsyncSession, conversation_id: int) -> bool:
    """Whether the client said "stop" on this conversation's channel."""
    found = await session.scalar(
        select(ClientIdentity.opted_out_at)
        .join(Conversation, Conversation.identity_id == ClientIdentity.id)
        .where(Conversation.id == conversation_id)
    )
    return found is not None
