"""Conversations and their messages as staff read them: listed per business, newest activity first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clients import client_matches, real_clients_only
from storage.models import Channel, Client, Conversation, ConversationRead, Message

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
    kind: str = "text"  # text, options, image, audio, location, ... (the message's type)
    options: tuple[str, ...] = ()  # the buttons or list rows a bot message offered
    error_code: int | None = None  # Meta's error code of a failed send


def _with_client(business_id: str, *more: Any) -> Any:
    """The business's conversations with their channel and client: id, channel, client id, name, phone,
    who handles it, needs staff, then `more`."""
    c = Conversation
    return (
        select(c.id, Channel.kind, c.client_id, Client.name, Client.phone, c.handled_by, c.needs_staff, *more)
        .join(Channel, Channel.id == c.channel_id)
        .join(Client, Client.id == c.client_id)
        .where(c.business_id == business_id)
    )


async def list_conversations(
    session: AsyncSession, business_id: str, *, status: str | None = None, limit: int = 100
) -> list[ConversationView]:
    """The business's conversations, most recent activity first; `status` is one of STATUS_FILTERS. Test
    conversations (the playground) are not listed."""
    c = Conversation
    query = _with_client(business_id, c.state, c.last_message_at).where(Client.test.is_(False))
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
    query = select(
        m.id,
        m.direction,
        m.author,
        m.text,
        m.status,
        m.created_at,
        m.error_title,
        m.type,
        m.payload,
        m.error_code,
    ).where(m.business_id == business_id, m.conversation_id == conversation_id)
    if before is not None:
        query = query.where(m.id < before)
    result = await session.execute(query.order_by(m.id.desc()).limit(limit))
    return [
        MessageView(*row[:8], options=_offered(row[8]), error_code=row[9]) for row in reversed(result.all())
    ]


def _offered(payload: Any) -> tuple[str, ...]:
    options = payload.get("options") if isinstance(payload, dict) else None
    if not isinstance(options, list):
        return ()
    return tuple(str(o.get("title", ""))[:40] for o in options[:10] if isinstance(o, dict))


# --- the staff inbox ------------------------------------------------------------------------------------

INBOX_FILTERS = ("needs_staff", "mine", "bot", "all")
INBOX_PAGE = 50
SEARCH_BY_CLIENT = 500  # matching clients read by client id; more, and the page is read in activity order


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A conversation as the staff inbox lists it: who, where, who has it, and the last word."""

    id: int
    channel: str
    client_id: int
    client_name: str | None
    client_phone: str | None
    handled_by: str
    needs_staff: bool
    assigned_to: int | None
    last_message_at: datetime | None
    unread: int = 0
    last_text: str | None = None
    last_author: str | None = None
    restricted: str | None = None  # why the client's processing is restricted (the bot says nothing)


@dataclass(frozen=True, slots=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None  # for ?after=: the page after this one, or None at the end
    counts: dict[str, int]  # conversations per filter, for the tabs


def _cursor(row: InboxRow) -> str:
    moment = row.last_message_at.isoformat() if row.last_message_at else ""
    return f"{moment}~{row.id}"


def _read_cursor(cursor: str | None) -> tuple[datetime | None, int] | None:
    if not cursor or "~" not in cursor or len(cursor) > 80:
        return None
    moment, _, ident = cursor.rpartition("~")
    if not ident.isdigit() or len(ident) > 18:
        return None
    try:
        when = datetime.fromisoformat(moment) if moment else None
    except (ValueError, OverflowError):
        return None
    if when is not None and when.tzinfo is None:
        return None
    return when, int(ident)


async def inbox_page(
    session: AsyncSession,
    business_id: str,
    reader: int,
    *,
    show: str = "all",
    search: str | None = None,
    after: str | None = None,
    limit: int = INBOX_PAGE,
) -> InboxPage:
    """One page of the business's conversations, newest activity first (conversations without any come
    last), with `reader`'s unread counts; `after` is the previous page's `next_cursor`. Test conversations
    (the playground) are not listed."""
    if show not in INBOX_FILTERS:
        raise ValueError(f"unknown inbox filter {show!r}")
    c = Conversation
    query = _filtered(
        _with_client(business_id, c.assigned_to, c.last_message_at, Client.restricted_reason), show, reader
    ).where(Client.test.is_(False))
    few, found_ids = False, []
    if search:
        # One pass over the clients first: few matches are then read by client (an index), many in
        # activity order (stopping at the page's end); never every conversation tested one by one.
        found_ids = (
            (await session.execute(_matching(business_id, search).limit(SEARCH_BY_CLIENT + 1)))
            .scalars()
            .all()
        )
        few = len(found_ids) <= SEARCH_BY_CLIENT
        query = query.where(c.client_id.in_(found_ids if few else _matching(business_id, search)))
    position = _read_cursor(after)
    if position is not None:
        moment, ident = position
        if moment is None:
            query = query.where(c.last_message_at.is_(None), c.id < ident)
        else:
            query = query.where(
                or_(
                    c.last_message_at < moment,
                    and_(c.last_message_at == moment, c.id < ident),
                    c.last_message_at.is_(None),
                )
            )
    # Conversations get their first message in the transaction that makes them: no NULLs to place.
    if few and not found_ids:
        rows_read = []
    elif few:  # a few clients' conversations: read them all by client, put in order here
        rows_read = sorted(
            await session.execute(query),
            key=lambda r: (r[8] or datetime.min.replace(tzinfo=UTC), r[0]),
            reverse=True,
        )[: limit + 1]
    else:
        ordered = query.order_by(c.last_message_at.desc(), c.id.desc()).limit(limit + 1)
        rows_read = list(await session.execute(ordered))
    found = [
        InboxRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], restricted=r[9])
        for r in rows_read
    ]
    more = len(found) > limit
    rows = await _with_last_words(session, reader, found[:limit])
    return InboxPage(
        rows=rows,
        next_cursor=_cursor(rows[-1]) if more and rows else None,
        counts=await inbox_counts(session, business_id, reader),
    )


def _filtered(query: Any, show: str, reader: int) -> Any:
    c = Conversation
    if show == "needs_staff":
        return query.where(c.needs_staff.is_(True))
    if show == "mine":
        return query.where(c.assigned_to == reader)
    if show == "bot":
        return query.where(c.handled_by == "bot", c.needs_staff.is_(False))
    return query


def _matching(business_id: str, search: str) -> Any:
    """The clients the search finds: one pass over the clients, then their conversations in activity
    order (rather than testing every conversation)."""
    return select(Client.id).where(Client.business_id == business_id, client_matches(search))


async def inbox_counts(session: AsyncSession, business_id: str, reader: int) -> dict[str, int]:
    """How many conversations need staff and are the reader's (the tabs' badges); test conversations (the
    playground) are not counted."""
    c = Conversation
    real = real_clients_only(c.client_id, business_id)
    needs = await session.execute(
        select(func.count()).where(c.business_id == business_id, c.needs_staff.is_(True), real)
    )
    mine = await session.execute(
        select(func.count()).where(c.assigned_to == reader, c.business_id == business_id, real)
    )
    return {"needs_staff": int(needs.scalar_one()), "mine": int(mine.scalar_one())}


async def _with_last_words(session: AsyncSession, reader: int, rows: list[InboxRow]) -> list[InboxRow]:
    if not rows:
        return rows
    ids = [row.id for row in rows]
    m, r = Message, ConversationRead
    unread = dict(
        (
            await session.execute(
                select(m.conversation_id, func.count())
                .select_from(m)
                .outerjoin(r, and_(r.conversation_id == m.conversation_id, r.staff_id == reader))
                .where(
                    m.conversation_id.in_(ids),
                    m.direction == "in",
                    m.id > func.coalesce(r.last_read_id, 0),
                )
                .group_by(m.conversation_id)
            )
        ).all()
    )
    latest = select(func.max(m.id)).where(m.conversation_id.in_(ids)).group_by(m.conversation_id)
    last = {
        row[0]: (row[1], row[2])
        for row in await session.execute(select(m.conversation_id, m.text, m.author).where(m.id.in_(latest)))
    }
    return [
        replace(
            row,
            unread=int(unread.get(row.id, 0)),
            last_text=last.get(row.id, (None, None))[0],
            last_author=last.get(row.id, (None, None))[1],
        )
        for row in rows
    ]


async def mark_read(session: AsyncSession, staff_id: int, conversation_id: int) -> None:
    """Everything in the conversation so far counts as read by this staff member."""
    newest = (
        await session.execute(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
    ).scalar()
    if newest is None:
        return
    r = ConversationRead
    mine = (r.staff_id == staff_id, r.conversation_id == conversation_id)
    exists = (await session.execute(select(r.last_read_id).where(*mine))).scalar()
    if exists is None:
        try:
            async with session.begin_nested():  # two tabs opening it at once: one inserts, one updates
                await session.execute(
                    insert(r).values(staff_id=staff_id, conversation_id=conversation_id, last_read_id=newest)
                )
            return
        except IntegrityError:
            pass
    await session.execute(
        update(r)
        .where(*mine, r.last_read_id < newest)  # never backwards
        .values(last_read_id=newest)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class ConversationHead:
    """One conversation's header on its page: the client, the channel, who has it, the reply window."""

    id: int
    channel: str
    client_id: int
    client_name: str | None
    client_phone: str | None
    handled_by: str
    needs_staff: bool
    assigned_to: int | None
    flow: str
    state: str
    last_client_message_at: datetime | None


async def conversation_head(
    session: AsyncSession, business_id: str, conversation_id: int
) -> ConversationHead | None:
    c = Conversation
    query = _with_client(business_id, c.assigned_to, c.flow, c.state, c.last_client_message_at)
    row = (await session.execute(query.where(c.id == conversation_id))).first()
    return ConversationHead(*row[:6], bool(row[6]), *row[7:]) if row else None


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """A message on a client's record: which conversation (channel) it was in, who wrote it."""

    id: int
    conversation_id: int
    channel: str
    direction: str
    author: str
    text: str | None
    status: str
    created_at: datetime
    kind: str


async def client_messages(
    session: AsyncSession, business_id: str, client_id: int, *, before: int | None = None, limit: int = 100
) -> list[ClientMessage]:
    """Every message of every conversation the client has, the latest `limit` (older than `before`),
    oldest first."""
    m, c = Message, Conversation
    query = (
        select(
            m.id,
            m.conversation_id,
            Channel.kind,
            m.direction,
            m.author,
            m.text,
            m.status,
            m.created_at,
            m.type,
        )
        .join(c, c.id == m.conversation_id)
        .join(Channel, Channel.id == m.channel_id)
        .where(m.business_id == business_id, c.client_id == client_id)
    )
    if before is not None:
        query = query.where(m.id < before)
    rows = await session.execute(query.order_by(m.id.desc()).limit(limit))
    return [ClientMessage(*row) for row in reversed(rows.all())]


# --- the playground (bot/web/playground.py) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where a conversation stands, found by its key."""

    id: int
    handled_by: str
    needs_staff: bool


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """A logged message with its payload (a Reply's JSON for the bot's and staff's messages)."""

    id: int
    direction: str
    author: str
    type: str
    text: str | None
    payload: dict[str, Any] | None
    created_at: datetime


async def conversation_by_key(session: AsyncSession, business_id: str, key: str) -> ConversationState | None:
    c = Conversation
    row = (
        await session.execute(
            select(c.id, c.handled_by, c.needs_staff).where(c.business_id == business_id, c.key == key)
        )
    ).first()
    return ConversationState(row[0], row[1], bool(row[2])) if row else None


async def messages_after(
    session: AsyncSession, business_id: str, conversation_id: int, after: int, limit: int = MESSAGE_PAGE_MAX
) -> list[LoggedMessage]:
    """The conversation's messages with an id above `after`, oldest first, at most `limit`."""
    m = Message
    rows = await session.execute(
        select(m.id, m.direction, m.author, m.type, m.text, m.payload, m.created_at)
        .where(m.business_id == business_id, m.conversation_id == conversation_id, m.id > after)
        .order_by(m.id)
        .limit(limit)
    )
    return [LoggedMessage(*row) for row in rows]
