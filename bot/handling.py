"""Handling one inbox event inside the dispatcher's transaction: log it, run the flow, queue the replies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import recipient_for
from bot.channels.directory import ChannelDirectory
from bot.clock import Clock
from flows.context import BusinessProfile, Turn
from flows.engine import DEFAULT_FLOW, initial_state, respond
from flows.messages import STATUS_RANK, InboundMessage, MessageType, Reply, StatusUpdate
from storage.conversations import Who, apply_status, conversation_for, identify, log_message
from storage.models import Conversation, InboundEvent
from storage.outbox import enqueue

log = logging.getLogger(__name__)

SILENT_TYPES = {MessageType.REACTION, MessageType.SYSTEM}
_RANK = {str(k): v for k, v in STATUS_RANK.items()}


class UnknownTenant(Exception):
    """An event for a channel or business no longer configured."""


class Deferred(Exception):
    """Not yet: try this event again after `seconds` (e.g. a status that beat its message's send record)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deferred {seconds}s")
        self.seconds = seconds


# A status can arrive before the sender has recorded the message id it refers to; wait for it a little.
STATUS_RETRIES = 5


@dataclass
class Handler:
    directory: ChannelDirectory
    profiles: dict[str, BusinessProfile]
    clock: Clock
    on_status_failed: Callable[[StatusUpdate], None] | None = None

    async def handle(self, session: AsyncSession, event: InboundEvent) -> None:
        payload = event.payload or {}
        if event.kind == "status":
            await self._status(session, StatusUpdate.from_json(payload), event.attempts)
        else:
            await self._message(session, InboundMessage.from_json(payload))

    async def _status(self, session: AsyncSession, update: StatusUpdate, attempts: int) -> None:
        known = await apply_status(
            session,
            channel_id=update.channel_id,
            platform_message_id=update.platform_id,
            status=str(update.status),
            rank=_RANK,
            at=update.timestamp,
            error_code=update.error_code,
            error_title=update.error_title,
        )
        if not known and attempts < STATUS_RETRIES:
            raise Deferred(2.0**attempts)
        if update.status == "failed":
            log.warning(
                "event=status.failed channel=%s code=%s known=%s", update.channel_id, update.error_code, known
            )
            if self.on_status_failed:
                self.on_status_failed(update)
        elif not known:
            log.debug("event=status.unknown_message channel=%s status=%s", update.channel_id, update.status)

    async def _message(self, session: AsyncSession, message: InboundMessage) -> None:
        now = self.clock.now()
        channel = self.directory.get(message.channel_id)
        profile = self.profiles.get(message.business_id)
        if channel is None or profile is None:
            raise UnknownTenant(f"channel {message.channel_id}")
        sender = message.sender
        client, identity = await identify(
            session,
            Who(
                business_id=message.business_id,
                channel_kind=str(message.channel),
                key=sender.key,
                user_id=sender.user_id,
                phone=sender.phone,
                name=sender.name,
                username=sender.username,
            ),
            now,
        )
        conversation = await conversation_for(
            session,
            key=message.conversation_key,
            business_id=message.business_id,
            channel_id=channel.id,
            client=client,
            identity=identity,
            flow=DEFAULT_FLOW,
            state=initial_state(),
            locale=profile.locale,
            now=now,
        )
        inbound = log_message(
            session,
            conversation,
            direction="in",
            author="client",
            type=str(message.type),
            text=message.text,
            status="received",
            now=now,
            payload=_details(message),
            platform_message_id=message.platform_id,
        )
        last = conversation.last_client_message_at
        if last is None or message.timestamp > last:
            conversation.last_client_message_at = message.timestamp
        conversation.updated_at = now
        await session.flush()
        if message.type in SILENT_TYPES or conversation.handled_by != "bot":
            return
        turn = Turn(
            type=message.type, text=message.text, choice_id=message.choice_id, client_name=client.name
        )
        replies = respond(conversation, profile, turn)
        to = recipient_for(message.channel, sender)
        for reply in replies:
            self.queue_reply(session, conversation, reply, to, author="bot", reply_to_id=inbound.id)
        log.info(
            "event=message.handled conversation=%s type=%s state=%s replies=%d",
            conversation.id,
            message.type,
            conversation.state,
            len(replies),
        )

    def queue_reply(
        self,
        session: AsyncSession,
        conversation: Conversation,
        reply: Reply,
        to: str,
        *,
        author: str,
        reply_to_id: int | None = None,
    ) -> None:
        now = self.clock.now()
        payload = reply.to_json()
        out = log_message(
            session,
            conversation,
            direction="out",
            author=author,
            type="options" if reply.options else ("template" if reply.template else "text"),
            text=reply.text,
            status="queued",
            now=now,
            payload=payload,
            reply_to_id=reply_to_id,
        )
        row = enqueue(
            session,
            business_id=conversation.business_id,
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            message=None,
            recipient=to,
            payload=payload,
            now=now,
        )
        row.message = out


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
