"""Handling a batch of inbox events inside the dispatcher's transaction: log them, run the flows, queue
the replies (statuses and echoes are sorted out in `bot/receipts.py`). Statements are per batch, not per
event: conversations are loaded in one query, messages and outbox rows inserted in one statement each,
conversations saved in one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import recipient_for
from bot.channels.directory import ChannelDirectory
from bot.clock import Clock
from bot.live import Change
from bot.profiles import Profiles
from bot.receipts import Deferred, Event, apply_statuses, sort_echoes
from bot.tenants import TEST_TRANSPORTS
from flows.calendar_cache import CalendarCache
from flows.context import BusinessProfile, Turn
from flows.desk import Desk
from flows.engine import DEFAULT_FLOW, Engine, initial_state
from flows.messages import (
    ChannelKind,
    EchoMessage,
    InboundMessage,
    MessageType,
    Reply,
    Sender,
    StatusUpdate,
)
from storage.conversations import (
    ConversationRecord,
    Who,
    conversation_for,
    identify,
    insert_messages,
    load_conversations,
    save_conversations,
)
from storage.outbox import enqueue_many

log = logging.getLogger(__name__)

SILENT_TYPES = {MessageType.REACTION, MessageType.SYSTEM}
# Meta's customer-service window: free-form messages only within 24 hours of the client's last message.
WINDOW = timedelta(hours=24)


class UnknownTenant(Exception):
    """An event for a channel or business no longer configured."""


@dataclass
class _Outgoing:
    """Rows written at the end of a batch, linked by position until the database gives them ids."""

    inbound: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    replies_to: list[int] = field(default_factory=list)  # index into inbound, per outbound row
    outbox: list[dict[str, Any]] = field(default_factory=list)  # one per outbound row
    touched: dict[str, ConversationRecord] = field(default_factory=dict)


@dataclass
class Handler:
    directory: ChannelDirectory
    profiles: Profiles
    clock: Clock
    app_id: str | None = None  # our Meta app: its echoes are our own sends, anyone else's are a person's
    engine: Engine = field(default_factory=Engine)
    calendars: CalendarCache = field(default_factory=CalendarCache)
    # What the handled events changed, for the staff app's live pages; taken by the dispatcher once the
    # transaction has committed (bot/live.py).
    changes: list[Change] = field(default_factory=list)

    def take_changes(self) -> list[Change]:
        taken, self.changes = self.changes, []
        return taken

    async def handle(
        self, session: AsyncSession, events: list[Event], *, yield_between: bool = True
    ) -> dict[int, Deferred]:
        """Handle `events` (in order); returns the ones to try again later. Raises on a bad event.
        `yield_between`: let other tasks (webhook acks) run between turns; a short paced batch during a
        flood runs its turns back to back instead, and then steps aside for longer."""
        deferred: dict[int, Deferred] = {}
        statuses = [(e, StatusUpdate.from_json(e.payload)) for e in events if e.kind == "status"]
        echoes = {e.id: EchoMessage.from_json(e.payload) for e in events if e.kind == "echo"}
        people: set[int] = set()
        if echoes:
            people, waiting = await sort_echoes(
                session, [(e, echoes[e.id]) for e in events if e.id in echoes], self.app_id
            )
            deferred.update(waiting)
        conversational: list[InboundMessage | EchoMessage] = [
            echoes[e.id] if e.kind == "echo" else InboundMessage.from_json(e.payload)
            for e in events
            if e.kind == "message" or e.id in people
        ]
        if statuses:
            deferred.update(await apply_statuses(session, statuses))
            self.changes.extend(Change(status.business_id, None, "status") for _, status in statuses)
        if conversational:
            await self._messages(session, conversational, yield_between)
        return deferred

    # ------------------------------------------------------------------------------------------ messages

    async def _messages(
        self, session: AsyncSession, messages: list[InboundMessage | EchoMessage], yield_between: bool
    ) -> None:
        now = self.clock.now()
        await self.profiles.refresh(session)  # settings saved by any process since the last batch
        records = await load_conversations(session, list({_key(m) for m in messages}))
        out = _Outgoing()
        for message in messages:
            if yield_between:
                # A turn may run without awaiting anything real; let waiting webhook acks in between.
                await asyncio.sleep(0)
            profile = self.profiles.get(message.business_id)
            channel = self.directory.get(message.channel_id)
            if channel is None or profile is None:
                raise UnknownTenant(f"channel {message.channel_id}")
            who = _who(message, test=channel.transport in TEST_TRANSPORTS)
            record = records.get(_key(message))
            if record is None or not record.knows(who):
                fresh = await self._resolve(session, message, who, profile, now)
                if record is not None and record.id == fresh.id:
                    # Same conversation, the person told us something new: keep this batch's state.
                    record.identity, record.client_name = fresh.identity, fresh.client_name
                else:
                    record = records[_key(message)] = fresh
            if isinstance(message, EchoMessage):
                self._person_answered(message, record, out, now)
            else:
                await self._one(session, message, record, profile, out, now)
        inbound_ids = await insert_messages(session, out.inbound)
        for row, index in zip(out.outbound, out.replies_to, strict=True):
            row["reply_to_id"] = inbound_ids[index]
        outbound_ids = await insert_messages(session, out.outbound)
        for row, message_id in zip(out.outbox, outbound_ids, strict=True):
            row["message_id"] = message_id
        await enqueue_many(session, out.outbox)
        await save_conversations(session, list(out.touched.values()), now)
        self.changes.extend(
            Change(record.business_id, record.id, "message")
            for record in (records.get(_key(m)) for m in messages)
            if record is not None
        )

    def _person_answered(
        self, echo: EchoMessage, record: ConversationRecord, out: _Outgoing, now: datetime
    ) -> None:
        """Someone answered from Meta's inbox (or another app): log it, and the bot steps back; the staff
        app flags the conversation (needs staff) so colleagues see it is being handled outside Jola and
        can hand it back to the bot when done."""
        out.inbound.append(
            _message_row(
                record,
                direction="out",
                author="staff",
                type="text",
                text=echo.text,
                status="sent",
                now=now,
                platform_message_id=echo.platform_id,
            )
        )
        record.last_message_at = now
        record.handled_by = "staff"
        record.needs_staff = True
        out.touched[record.key] = record
        log.info("event=conversation.taken_over conversation=%s by=echo standby=%s", record.id, echo.standby)

    async def _resolve(
        self,
        session: AsyncSession,
        message: InboundMessage | EchoMessage,
        who: Who,
        profile: BusinessProfile,
        now: datetime,
    ) -> ConversationRecord:
        """The slow path: a new client or conversation, or an identity that learned something new."""
        client, identity = await identify(session, who, now)
        conversation = await conversation_for(
            session,
            key=_key(message),
            business_id=message.business_id,
            channel_id=message.channel_id,
            client=client,
            identity=identity,
            flow=DEFAULT_FLOW,
            state=initial_state(),
            locale=profile.locale,
            now=now,
        )
        await session.flush()
        return (await load_conversations(session, [conversation.key]))[conversation.key]

    async def _one(
        self,
        session: AsyncSession,
        message: InboundMessage,
        record: ConversationRecord,
        profile: BusinessProfile,
        out: _Outgoing,
        now: datetime,
    ) -> None:
        index = len(out.inbound)
        out.inbound.append(
            _message_row(
                record,
                direction="in",
                author="client",
                type=str(message.type),
                text=message.text,
                status="received",
                now=now,
                payload=_details(message),
                platform_message_id=message.platform_id,
            )
        )
        if record.last_client_message_at is None or message.timestamp > record.last_client_message_at:
            record.last_client_message_at = message.timestamp
        record.last_message_at = now
        out.touched[record.key] = record
        if message.type in SILENT_TYPES or record.handled_by != "bot" or message.detail == "standby":
            return  # logged only: staff (or another app, for `standby`) answers this conversation
        if record.client_restricted:  # processing restricted (GDPR art. 18): kept and shown, not answered
            record.needs_staff = True
            log.info("event=message.held conversation=%s reason=restricted", record.id)
            return
        turn = Turn(
            type=message.type,
            text=message.text,
            choice_id=message.choice_id or _numbered_choice(message, record),
            client_name=record.client_name,
        )
        desk = Desk(
            session,
            profile,
            record.client_id,
            str(message.channel),
            now,
            address=_address,
            cache=self.calendars,
        )
        replies = await self.engine.respond(record, profile, turn, desk)
        to = recipient_for(message.channel, message.sender)
        window_ends_at = (record.last_client_message_at or message.timestamp) + WINDOW
        for reply in replies:
            payload = reply.to_json()
            out.outbound.append(
                _message_row(
                    record,
                    direction="out",
                    author="bot",
                    type=_reply_type(reply),
                    text=reply.text,
                    status="queued",
                    now=now,
                    payload=payload,
                )
            )
            out.replies_to.append(index)
            out.outbox.append(
                {
                    "business_id": record.business_id,
                    "conversation_id": record.id,
                    "channel_id": record.channel_id,
                    "recipient": to,
                    "payload": payload,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "window_ends_at": window_ends_at,
                    "created_at": now,
                }
            )
        log.info(
            "event=message.handled conversation=%s type=%s state=%s replies=%d",
            record.id,
            message.type,
            record.state,
            len(replies),
        )


def _address(kind: str, user_id: str | None, phone: str | None) -> str:
    return recipient_for(kind, Sender(user_id=user_id, phone=phone))


def _numbered_choice(message: InboundMessage, record: ConversationRecord) -> str | None:
    """Instagram lists the options as "1. Massage" in the text (its website shows no quick replies), so a
    client there may answer "1"."""
    if message.channel != ChannelKind.INSTAGRAM or not message.text:
        return None
    offered = (record.slots or {}).get("last_options") or []
    number = message.text.strip().rstrip(".")
    if number.isdigit() and 1 <= int(number) <= len(offered):
        return str(offered[int(number) - 1])
    return None


def _key(message: InboundMessage | EchoMessage) -> str:
    return message.client_conversation_key if isinstance(message, EchoMessage) else message.conversation_key


def _who(message: InboundMessage | EchoMessage, *, test: bool) -> Who:
    """`test`: the channel is one the business tries its own bot on (the playground, `jola chat`)."""
    sender: Sender = message.recipient if isinstance(message, EchoMessage) else message.sender
    return Who(
        business_id=message.business_id,
        channel_kind=str(message.channel),
        key=sender.key,
        user_id=sender.user_id,
        phone=sender.phone,
        name=sender.name,
        username=sender.username,
        test=test,
    )


def _reply_type(reply: Reply) -> str:
    return "options" if reply.options else ("template" if reply.template else "text")


def _message_row(
    record: ConversationRecord,
    *,
    direction: str,
    author: str,
    type: str,
    text: str | None,
    status: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    platform_message_id: str | None = None,
) -> dict[str, Any]:
    return {
        "business_id": record.business_id,
        "conversation_id": record.id,
        "channel_id": record.channel_id,
        "direction": direction,
        "author": author,
        "type": type,
        "text": text,
        "payload": payload,
        "platform_message_id": platform_message_id,
        "reply_to_id": None,
        "status": status,
        "error_code": None,
        "error_title": None,
        "created_at": now,
        "status_at": now,
    }


def _details(message: InboundMessage) -> dict[str, Any] | None:
    """What the record keeps beyond the text: the tapped option, the media reference, the place."""
    details: dict[str, Any] = {}
    if message.choice_id:
        details["choice_id"] = message.choice_id
    if message.media:
        details["media"] = {k: v for k, v in message.to_json()["media"].items() if v is not None}
    if message.location:
        details["location"] = {k: v for k, v in message.to_json()["location"].items() if v is not None}
    if message.type == MessageType.REACTION:
        details["reaction"] = {"to": message.reaction_to, "emoji": message.reaction_emoji}
    if message.detail:
        details["detail"] = message.detail
    if message.reply_to:
        details["reply_to"] = message.reply_to
    return details or None
