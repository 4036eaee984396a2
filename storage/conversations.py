"""Clients, their channel identities, conversations and the messages logged to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
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
    # Writing on a channel where the business tries its own bot (the playground, `jola chat`): a test
    # client, never matched with a real one (nor a real one with it).
    test: bool = False

    @property
    def external_id(self) -> str:
        """What the identity is stored under: a test identity apart from a real one with the same number."""
        return f"test:{self.key}" if self.test else self.key


async def identify(session: AsyncSession, who: Who, now: datetime) -> tuple[Client, ClientIdentity]:
    """Find or create the client behind a channel identity.

    WhatsApp identities are keyed on the business-scoped user id where present, the phone otherwise; a
    later message that shows both links them, so the record survives a user adopting a username. Test
    clients are found among test clients only, and real ones among real ones.
    """
    key = who.external_id
    clauses = [ClientIdentity.external_id == key]
    if who.user_id:
        clauses.append(ClientIdentity.user_id == who.user_id)
    if who.phone:
        clauses.append(ClientIdentity.phone == who.phone)
    result = await session.execute(
        select(ClientIdentity)
        .join(Client, Client.id == ClientIdentity.client_id)
        .where(
            ClientIdentity.business_id == who.business_id,
            ClientIdentity.channel_kind == who.channel_kind,
            or_(*clauses),
            Client.test.is_(who.test),
        )
        .order_by(ClientIdentity.id)
    )
    identities = list(result.scalars())
    identity = next((i for i in identities if i.external_id == key), None) or (
        identities[0] if identities else None
    )
    if identity is None:
        client = Client(
            business_id=who.business_id,
            name=who.name,
            phone=who.phone,
            created_at=now,
            updated_at=now,
            test=who.test,
        )
        session.add(client)
        await session.flush()
        identity = ClientIdentity(
            business_id=who.business_id,
            client_id=client.id,
            channel_kind=who.channel_kind,
            external_id=key,
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
        # The same person under another key (e.g. known by phone before their BSUID arrived): re-key.
        result = await session.execute(
            select(Conversation)
            .where(Conversation.channel_id == channel_id, Conversation.identity_id == identity.id)
            .order_by(Conversation.id)
        )
        conversation = result.scalars().first()
        if conversation is not None:
            conversation.key = key
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


# ------------------------------------------------------------------------------------- batch hot path

CONVERSATIONS = Conversation.__table__
CLIENTS = Client.__table__
IDENTITIES = ClientIdentity.__table__
MESSAGES = Message.__table__


@dataclass(slots=True)
class ConversationRecord:
    """A conversation as the flows see it: loaded in bulk, changed in memory, saved in bulk."""

    id: int
    key: str
    business_id: str
    channel_id: int
    client_id: int
    identity_id: int
    flow: str
    state: str
    slots: dict[str, Any]
    locale: str
    handled_by: str
    needs_staff: bool
    misunderstood: int
    last_client_message_at: datetime | None
    last_message_at: datetime | None
    client_name: str | None
    identity: tuple[str | None, str | None, str | None, str | None]  # user_id, phone, username, name
    client_phone: str | None = None
    # The client's processing is restricted (bot/client_edits.py): messages are kept, the bot says nothing.
    client_restricted: bool = False

    def knows(self, who: Who) -> bool:
        """True when the stored identity already holds everything `who` tells (no update needed)."""
        user_id, phone, username, name = self.identity
        return all(
            new is None or new == old
            for new, old in (
                (who.user_id, user_id),
                (who.phone, phone),
                (who.username, username),
                (who.name, name),
            )
        )


# The dispatcher's statements, built once: building one costs more than running it on SQLite.
_c, _cl, _i = CONVERSATIONS.c, CLIENTS.c, IDENTITIES.c
_LOAD = (
    select(
        _c.id,
        _c.key,
        _c.business_id,
        _c.channel_id,
        _c.client_id,
        _c.identity_id,
        _c.flow,
        _c.state,
        _c.slots,
        _c.locale,
        _c.handled_by,
        _c.needs_staff,
        _c.misunderstood,
        _c.last_client_message_at,
        _c.last_message_at,
        _cl.name,
        _cl.phone.label("client_phone"),
        _cl.restricted_at.label("client_restricted_at"),
        _i.user_id,
        _i.phone,
        _i.username,
        _i.display_name,
    )
    .select_from(
        CONVERSATIONS.join(CLIENTS, _cl.id == _c.client_id).join(IDENTITIES, _i.id == _c.identity_id)
    )
    .where(_c.key.in_(bindparam("keys", expanding=True)))
)

_SAVE = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        flow=bindparam("b_flow"),
        state=bindparam("b_state"),
        slots=bindparam("b_slots"),
        locale=bindparam("b_locale"),
        needs_staff=bindparam("b_needs_staff"),
        handled_by=bindparam("b_handled_by"),
        misunderstood=bindparam("b_misunderstood"),
        last_client_message_at=bindparam("b_last_client"),
        last_message_at=bindparam("b_last"),
        updated_at=bindparam("b_now"),
    )
    .execution_options(synchronize_session=False)
)
_HIGHEST_MESSAGE = select(func.max(MESSAGES.c.id))
_INSERT_MESSAGES = insert(MESSAGES)


async def load_conversations(session: AsyncSession, keys: list[str]) -> dict[str, ConversationRecord]:
    """Every conversation with one of these keys, with its client's name and identity, in one query."""
    if not keys:
        return {}
    result = await session.execute(_LOAD, {"keys": keys})
    records = {}
    for row in result:
        records[row.key] = ConversationRecord(
            id=row.id,
            key=row.key,
            business_id=row.business_id,
            channel_id=row.channel_id,
            client_id=row.client_id,
            identity_id=row.identity_id,
            flow=row.flow,
            state=row.state,
            slots=dict(row.slots or {}),
            locale=row.locale,
            handled_by=row.handled_by,
            needs_staff=row.needs_staff,
            misunderstood=row.misunderstood,
            last_client_message_at=row.last_client_message_at,
            last_message_at=row.last_message_at,
            client_name=row.name,
            identity=(row.user_id, row.phone, row.username, row.display_name),
            client_phone=row.client_phone,
            client_restricted=row.client_restricted_at is not None,
        )
    return records


async def save_conversations(session: AsyncSession, records: list[ConversationRecord], now: datetime) -> None:
    if not records:
        return
    await session.execute(
        _SAVE,
        [
            {
                "b_id": r.id,
                "b_flow": r.flow,
                "b_state": r.state,
                "b_slots": r.slots,
                "b_locale": r.locale,
                "b_needs_staff": r.needs_staff,
                "b_handled_by": r.handled_by,
                "b_misunderstood": r.misunderstood,
                "b_last_client": r.last_client_message_at,
                "b_last": r.last_message_at,
                "b_now": now,
            }
            for r in records
        ],
    )


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert message rows in one statement; returns their ids in the rows' order. Call it inside
    `Database.write()`."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        # SQLite cannot return the ids of a multi-row insert in the rows' order, so SQLAlchemy would fall
        # back to one INSERT per row. The write transaction holds the database's write lock (BEGIN
        # IMMEDIATE): nobody else takes an id until it ends, so the rows are numbered here, as SQLite
        # itself would (the highest id plus one).
        highest = (await session.execute(_HIGHEST_MESSAGE)).scalar() or 0
        ids = list(range(highest + 1, highest + 1 + len(rows)))
        await session.execute(_INSERT_MESSAGES, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    result = await session.execute(
        insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: int
    status: str


async def outbound_by_platform_id(
    session: AsyncSession, channel_ids: set[int], platform_ids: set[str]
) -> dict[tuple[int, str], SentMessage]:
    if not platform_ids:
        return {}
    m = MESSAGES.c
    result = await session.execute(
        select(m.id, m.channel_id, m.platform_message_id, m.status).where(
            m.platform_message_id.in_(platform_ids), m.channel_id.in_(channel_ids), m.direction == "out"
        )
    )
    return {(row[1], row[2]): SentMessage(row[0], row[3]) for row in result}


async def save_statuses(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """changes: {"b_id", "b_status", "b_at", "b_code", "b_title"}; codes only land with 'failed'."""
    if changes:
        await session.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                status_at=bindparam("b_at"),
                error_code=bindparam("b_code"),
                error_title=bindparam("b_title"),
            )
            .execution_options(synchronize_session=False),
            changes,
        )


async def mark_read_up_to(
    session: AsyncSession, conversation_key: str, status: str, until: datetime, ranks: dict[str, int]
) -> int:
    """A "read up to here" watermark (Messenger): every earlier outbound message of the conversation moves
    forward to `status`, never back. Returns how many changed."""
    c, m = CONVERSATIONS.c, MESSAGES.c
    conversation_id = (await session.execute(select(c.id).where(c.key == conversation_key))).scalar()
    if conversation_id is None:
        return 0
    behind = [name for name, rank in ranks.items() if rank < ranks[status] and name != "failed"]
    result = await session.execute(
        update(MESSAGES)
        .where(
            m.conversation_id == conversation_id,
            m.direction == "out",
            m.status.in_(behind),
            m.platform_message_id.is_not(None),
            m.created_at <= until,
        )
        .values(status=status, status_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
