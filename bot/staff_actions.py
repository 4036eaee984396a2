"""What staff do to a conversation, from the web app or the REST API alike: take it from the bot, hand it
back, give it to a colleague, write to the client. One code path, so both doors obey the same rules.

A staff reply also takes the conversation from the bot, so the bot never talks over the person. Meta's
windows decide what may go out (PLATFORM.md §4): WhatsApp free text within 24 hours of the client's last
message; Messenger and Instagram within 24 hours, then with the HUMAN_AGENT tag up to 7 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import update

from bot import audit, keys
from bot.channels import recipient_for, text_limit_for
from bot.config import MessageTemplateConfig
from bot.live import Change
from flows.messages import Reply, Sender, TemplateRef
from storage.models import Conversation, Staff
from storage.staff import addressee, queue_message, set_handler

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


class Refused(Exception):
    """Staff asked for something the conversation or the platform does not allow; `status` is the HTTP
    status the REST API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ReplyWindow:
    """What a staff member can send now: `free` text (with `tag` when Meta needs one) until `ends_at`;
    `template` only (WhatsApp after 24 hours); or `nothing`, with the reason."""

    kind: str  # free | template | nothing
    ends_at: datetime | None = None
    tag: str | None = None
    reason: str | None = None


def reply_window(channel_kind: str, last_client_message_at: datetime | None, now: datetime) -> ReplyWindow:
    last = last_client_message_at
    if last is None:
        return ReplyWindow("nothing", reason="not_written")
    if now < last + WINDOW:
        return ReplyWindow("free", ends_at=last + WINDOW)
    if channel_kind in ("messenger", "instagram") and now < last + HUMAN_AGENT_WINDOW:
        return ReplyWindow("free", ends_at=last + HUMAN_AGENT_WINDOW, tag="HUMAN_AGENT")
    if channel_kind == "whatsapp":
        return ReplyWindow("template", reason="whatsapp_window")
    return ReplyWindow("nothing", reason="seven_days")


_HANDED = {"staff": "conversation.taken_over", "bot": "conversation.handed_back"}

REFUSALS = {
    "not_written": "the client has not written yet, so the platform allows no free-text message",
    "whatsapp_window": "outside WhatsApp's 24-hour window: only an approved template may be sent",
    "seven_days": "more than 7 days since the client wrote: the platform allows no message",
}


async def hand(
    app: web.Application, business_id: str, conversation_id: int, to: str, by: int | None = None
) -> None:
    """`staff` takes the conversation (and it is given to `by`, a staff id, unless already someone's);
    `bot` hands it back, in the state the bot left it."""
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        if not await set_handler(session, business_id, conversation_id, to, now):
            raise Refused(404, "conversation not found")
        if to == "staff" and by is not None:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.assigned_to.is_(None))
                .values(assigned_to=by)
                .execution_options(synchronize_session=False)
            )
        await audit.record(
            session,
            business_id,
            f"staff:{by}" if by else "api",
            _HANDED[to],
            ("conversation", conversation_id),
            now=now,
        )
    _changed(app, business_id, conversation_id)
    log.info("event=conversation.handed conversation=%s to=%s by=%s", conversation_id, to, by or "api")


async def assign(
    app: web.Application, business_id: str, conversation_id: int, staff_id: int | None, by: int | None = None
) -> None:
    """Give the conversation to a colleague of the same business (None: to no one in particular); `by`:
    the staff member who gave it (None: the API)."""
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        if staff_id is not None:
            colleague = await session.get(Staff, staff_id)
            if colleague is None or colleague.business_id != business_id or not colleague.active:
                raise Refused(400, "no such colleague")
        result = await session.execute(
            update(Conversation)
            .where(Conversation.business_id == business_id, Conversation.id == conversation_id)
            .values(assigned_to=staff_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise Refused(404, "conversation not found")
        await audit.record(
            session,
            business_id,
            f"staff:{by}" if by else "api",
            "conversation.assigned",
            ("conversation", conversation_id),
            now=now,
            to=staff_id,
        )
    _changed(app, business_id, conversation_id)
    log.info("event=conversation.assigned conversation=%s to=%s", conversation_id, staff_id or "-")


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int
    text: str
    at: datetime
    tag: str | None


async def send_reply(
    app: web.Application, business_id: str, conversation_id: int, text: object, by: int | None = None
) -> Sent:
    """Queue a staff message on the conversation's channel; it takes the conversation from the bot."""
    if not isinstance(text, str) or not text.strip():
        raise Refused(400, "text must be a non-empty string")
    text = text.strip()
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        to = await addressee(session, business_id, conversation_id)
        if to is None:
            raise Refused(404, "conversation not found")
        limit = text_limit_for(to.channel_kind)
        if len(text) > limit:
            raise Refused(400, f"text must be at most {limit} characters")
        window = reply_window(to.channel_kind, to.last_client_message_at, now)
        if window.kind != "free" or window.ends_at is None:
            raise Refused(409, REFUSALS[window.reason or "seven_days"])
        message = Reply(text=text, tag=window.tag)
        recipient = recipient_for(to.channel_kind, Sender(user_id=to.user_id, phone=to.phone))
        message_id = await queue_message(
            session,
            business_id,
            to,
            recipient=recipient,
            text=message.text,
            payload=message.to_json(),
            window_ends_at=window.ends_at,
            now=now,
        )
        await set_handler(session, business_id, conversation_id, "staff", now)
        if by is not None:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.assigned_to.is_(None))
                .values(assigned_to=by)
                .execution_options(synchronize_session=False)
            )
    app[keys.PIPELINE].sender.wake()
    _changed(app, business_id, conversation_id, "message")
    log.info("event=staff.message_queued conversation=%s tag=%s", conversation_id, window.tag or "-")
    return Sent(message_id, message.text, now, window.tag)


PARAMETER_LIMIT = 200


def templates_of(app: web.Application, business_id: str) -> list[MessageTemplateConfig]:
    business = next((b for b in app[keys.CONFIG].businesses if b.id == business_id), None)
    return list(business.message_templates) if business else []


async def send_template(
    app: web.Application,
    business_id: str,
    conversation_id: int,
    name: object,
    values: list[object],
    by: int | None = None,
) -> Sent:
    """Queue one of the business's approved WhatsApp templates, its placeholders filled by staff: what
    WhatsApp allows once the client's 24-hour window has closed."""
    template = next((t for t in templates_of(app, business_id) if t.name == name), None)
    if template is None:
        raise Refused(400, "no such template")
    filled = [v.strip() if isinstance(v, str) else "" for v in values[: template.parameters]]
    if len(filled) < template.parameters or not all(filled):
        raise Refused(400, "fill in every value of the template")
    if any(len(v) > PARAMETER_LIMIT or "\n" in v for v in filled):
        raise Refused(400, f"each value must be one line of at most {PARAMETER_LIMIT} characters")
    now = app[keys.CLOCK].now()
    text = template.filled(filled)
    async with app[keys.DATABASE].write() as session:
        to = await addressee(session, business_id, conversation_id)
        if to is None:
            raise Refused(404, "conversation not found")
        if to.channel_kind != "whatsapp":
            raise Refused(409, "message templates are sent on WhatsApp only")
        message = Reply(
            text=text,
            template=TemplateRef(name=template.name, language=template.language, body_params=tuple(filled)),
        )
        recipient = recipient_for(to.channel_kind, Sender(user_id=to.user_id, phone=to.phone))
        message_id = await queue_message(
            session,
            business_id,
            to,
            recipient=recipient,
            text=text,
            payload=message.to_json(),
            window_ends_at=now + HUMAN_AGENT_WINDOW,  # a template goes out whenever; this only bounds retries
            now=now,
        )
        await set_handler(session, business_id, conversation_id, "staff", now)
    app[keys.PIPELINE].sender.wake()
    _changed(app, business_id, conversation_id, "message")
    log.info("event=staff.template_queued conversation=%s", conversation_id)
    return Sent(message_id, text, now, None)


def _changed(
    app: web.Application, business_id: str, conversation_id: int, kind: str = "conversation"
) -> None:
    app[keys.PIPELINE].live.publish([Change(business_id, conversation_id, kind)])
