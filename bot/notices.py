"""Telling a client what staff changed (booked, moved, cancelled by hand), on the channel they last wrote
on, in their language, when Meta's window allows; otherwise the staff member is told why not."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.channels import recipient_for
from bot.live import Change
from bot.staff_actions import reply_window
from flows import formatting
from flows.messages import Reply, Sender
from flows.texts import say
from storage.appointments import AppointmentView
from storage.client_changes import is_restricted
from storage.clients import opted_out
from storage.models import Conversation
from storage.staff import addressee, queue_message

log = logging.getLogger(__name__)

TEMPLATES = {"booked": "booked", "moved": "moved", "cancelled": "cancelled"}


async def tell_client(app: web.Application, tenant: Any, appointment: AppointmentView, what: str) -> str:
    """ "told", or why not: "no_conversation" (they never wrote to us), "window" (Meta's window is closed:
    staff should tell them another way), "opted_out" (they said "stop" there), "restricted" (processing
    of their data is restricted: nothing is sent to them)."""
    if appointment.client_id is None:
        return "no_conversation"
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        if await is_restricted(session, appointment.client_id):
            return "restricted"
        row = (
            await session.execute(
                select(Conversation.id, Conversation.locale)
                .where(Conversation.business_id == tenant.id, Conversation.client_id == appointment.client_id)
                .order_by(Conversation.last_client_message_at.desc().nulls_last(), Conversation.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return "no_conversation"
        conversation_id, locale = row
        to = await addressee(session, tenant.id, conversation_id)
        if to is None:
            return "no_conversation"
        if await opted_out(session, conversation_id):
            return "opted_out"  # the client said "stop" on that channel
        window = reply_window(to.channel_kind, to.last_client_message_at, now)
        if window.kind != "free" or window.ends_at is None:
            return "window"
        local = appointment.start.astimezone(tenant.zone)
        text = say(
            locale,
            TEMPLATES[what],
            business_name=tenant.profile.name,
            service_name=appointment.service_name,
            practitioner=appointment.practitioner_name,
            when=formatting.moment(local, locale, now.astimezone(tenant.zone).date()),
            switched=False,
        )
        message = Reply(text=text, tag=window.tag)
        await queue_message(
            session,
            tenant.id,
            to,
            recipient=recipient_for(to.channel_kind, Sender(user_id=to.user_id, phone=to.phone)),
            text=text,
            payload=message.to_json(),
            window_ends_at=window.ends_at,
            now=now,
            author="staff",
        )
    app[keys.PIPELINE].sender.wake()
    app[keys.PIPELINE].live.publish([Change(tenant.id, conversation_id, "message")])
    log.info("event=notice.queued appointment=%s what=%s", appointment.id, what)
    return "told"
