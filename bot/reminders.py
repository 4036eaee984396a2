"""Sending reminders when they fall due: the one way Meta allows at that moment, answerable with a tap.

Each due reminder is settled in the transaction that claims it: its message queued in the outbox (the
sender delivers it like any reply), or skipped or failed with the reason in plain words. Claiming and
queueing commit together, so a restart (or a killed process) never queues a reminder twice; on PostgreSQL
the claimed rows stay locked to their worker, so several processes never take the same one.

Inside the client's 24-hour window a reminder is an interactive message with *I'll be there*, *Move it*
and *Cancel it*. Outside it: on WhatsApp the business's approved template, whose quick-reply buttons carry
the same payloads; on Messenger the Page's utility message template (`reminders.messenger_template`), with
the CONFIRMED_EVENT_UPDATE message tag as the fallback when none is set or Meta refuses it; on
Instagram nothing is allowed, so the next channel the client uses is tried, then email (for a client with
an address), and otherwise the reminder is skipped and staff see why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import recipient_for
from bot.channels.directory import ChannelDirectory
from bot.clock import Clock
from bot.due_worker import DueWorker
from bot.live import Change
from bot.metrics import Metrics
from bot.profiles import Profiles
from flows import formatting
from flows.messages import Option, Reply, Sender, TemplateRef
from flows.texts import say
from storage import channel_states, emails
from storage import reminders as store
from storage.appointments import ACTIVE, AppointmentView, get_appointment
from storage.client_changes import is_restricted
from storage.db import Database
from storage.models import Client, ClientIdentity, Conversation
from storage.staff import addressee, queue_message

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MESSENGER_TAG = "CONFIRMED_EVENT_UPDATE"
# Why a reminder did not go out, as staff read it (the web app translates these).
NO_CHANNEL = "the client has not written to us on any channel we can reach"
STARTED = "the appointment had already started when the reminder fell due"
NOT_ACTIVE = "the appointment is no longer booked"
RESTRICTED = "the client's data is restricted: nothing is sent to them"
OPTED_OUT = "the client asked for no reminders on {channel}"
INSTAGRAM_CLOSED = "Instagram allows no message more than 24 hours after the client last wrote"
DISCONNECTED = "Meta disconnected the business's {channel} (the app was removed there)"
NO_TEMPLATE = "outside WhatsApp's 24-hour window and no reminder template is set"


@dataclass(frozen=True, slots=True)
class Route:
    """One conversation the client could be reminded in."""

    conversation_id: int
    conversation_key: str
    channel_id: int
    kind: str
    locale: str
    last_client_message_at: datetime | None
    opted_out: bool
    slots: dict[str, Any]


class ReminderWorker(DueWorker):
    name = "reminders"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        directory: ChannelDirectory,
        profiles: Profiles,
        metrics: Metrics,
        *,
        on_queued: Callable[[], None] = lambda: None,
        on_changed: Callable[[Iterable[Change]], None] = lambda changes: None,
        on_email: Callable[[], None] = lambda: None,
        poll_seconds: float = 5.0,
        batch_size: int = 200,
    ) -> None:
        super().__init__(clock, poll_seconds=poll_seconds, batch_size=batch_size)
        self._db, self._directory, self._profiles = db, directory, profiles
        self._metrics = metrics
        self._on_queued, self._on_changed, self._on_email = on_queued, on_changed, on_email

    async def next_due(self) -> datetime | None:
        async with self._db.read() as session:
            return await store.next_due(session)

    async def run_once(self) -> int:
        now = self._clock.now()
        changes: list[Change] = []
        queued = 0
        async with self._db.write() as session:
            due = await store.claim_due(session, now, self._batch)
            off = await channel_states.off(session) if due else frozenset()
            for reminder in due:
                outcome = await self._settle(session, reminder, now, changes, off)
                queued += outcome == "queued"
                self._metrics.count(self._metrics.reminders, outcome)
        if queued:
            self._on_queued()
        if changes:
            self._on_changed(changes)
        if due:
            log.info("event=reminders.settled due=%d queued=%d", len(due), queued)
        return len(due)

    async def _settle(
        self, session: AsyncSession, due: store.Due, now: datetime, changes: list[Change], off: frozenset[int]
    ) -> str:
        appointment = await get_appointment(session, due.business_id, due.appointment_id)
        profile = self._profiles.get(due.business_id)
        if appointment is None or appointment.status not in ACTIVE or profile is None:
            await store.settle(session, due.id, state="skipped", reason=NOT_ACTIVE, now=now)
            return "skipped"
        if appointment.start <= now:
            await store.settle(session, due.id, state="skipped", reason=STARTED, now=now)
            return "skipped"
        if await is_restricted(session, appointment.client_id):  # GDPR art. 18: kept, nothing sent
            await store.settle(session, due.id, state="skipped", reason=RESTRICTED, now=now)
            return "skipped"
        settings = self._profiles.settings(due.business_id)
        reasons: list[str] = []
        for route in await _routes(session, due.business_id, appointment.client_id):
            channel = self._directory.get(route.channel_id)
            if channel is None:
                continue  # a channel this process does not serve (jola chat's, or one removed)
            if route.opted_out:
                reasons.append(OPTED_OUT.format(channel=_channel_name(route.kind)))
                continue
            if route.channel_id in off:
                reasons.append(DISCONNECTED.format(channel=_channel_name(route.kind)))
                continue
            open_window = (
                route.last_client_message_at is not None and now < route.last_client_message_at + WINDOW
            )
            reply, kind, ends = self._message(appointment, profile, settings, route, open_window, now)
            if reply is None:
                reasons.append(INSTAGRAM_CLOSED if route.kind == "instagram" else NO_TEMPLATE)
                continue
            to = await addressee(session, due.business_id, route.conversation_id)
            assert to is not None
            recipient = recipient_for(to.channel_kind, Sender(user_id=to.user_id, phone=to.phone))
            message_id = await queue_message(
                session,
                due.business_id,
                to,
                recipient=recipient,
                text=_logged_text(reply),
                payload=reply.to_json(),
                window_ends_at=ends,
                now=now,
                author="bot",
            )
            await self._remember(session, route, appointment.id, now)
            await store.settle(
                session, due.id, state="queued", route=route.kind, kind=kind, message_id=message_id, now=now
            )
            changes.append(Change(due.business_id, route.conversation_id, "message"))
            return "queued"
        if await emails.queue(session, due.business_id, appointment.id, "reminder", now):
            await store.settle(session, due.id, state="queued", route="email", kind="email", now=now)
            self._on_email()
            return "queued"
        reason = "; ".join(dict.fromkeys(reasons)) or NO_CHANNEL
        await store.settle(session, due.id, state="skipped", reason=reason, now=now)
        return "skipped"

    def _message(
        self,
        appointment: AppointmentView,
        profile: Any,
        settings: Any,
        route: Route,
        open_window: bool,
        now: datetime,
    ) -> tuple[Reply | None, str, datetime]:
        """What can be sent on this route now: (reply, kind, until when the send may happen)."""
        locale = route.locale
        zone = profile.rules.zone
        local = appointment.start.astimezone(zone)
        service = profile.service_name(appointment.service_name, locale)
        when = formatting.moment(local, locale, now.astimezone(zone).date())
        first = (appointment.client_name or "").split(" ")[0]
        confirmed = appointment.status == "confirmed"
        ids = [f"confirm:{appointment.id}", f"reschedule:{appointment.id}", f"cancel:{appointment.id}"]
        options = (
            *(() if confirmed else (Option(id=ids[0], title=say(locale, "options/confirm")),)),
            Option(id=ids[1], title=say(locale, "options/move_this")),
            Option(id=ids[2], title=say(locale, "options/cancel_this")),
        )
        text = say(
            locale,
            "reminder",
            business_name=profile.name,
            first_name=first,
            service_name=service,
            practitioner=appointment.practitioner_name,
            when=when,
            confirmed=confirmed,
        )
        if open_window:
            assert route.last_client_message_at is not None
            return Reply(text=text, options=options), "interactive", route.last_client_message_at + WINDOW
        if route.kind == "whatsapp":
            name = settings.reminders.whatsapp_template
            if not name:
                return None, "template", appointment.start
            template = TemplateRef(
                name=name,
                language=settings.reminders.template_language,
                body_params=(first or ("der" if locale == "da" else "there"), service, when),
                button_payloads=tuple(ids),
            )
            return Reply(text=text, template=template), "template", appointment.start
        if route.kind == "messenger":
            name = settings.reminders.messenger_template
            if not name:
                return Reply(text=text, options=options, tag=MESSENGER_TAG), "tag", appointment.start
            # The utility template first; the tag rides along as the fallback should Meta refuse it.
            template = TemplateRef(
                name=name,
                language=settings.reminders.messenger_template_language,
                body_params=(first or ("der" if locale == "da" else "there"), service, when),
                button_payloads=tuple(ids),
            )
            reply = Reply(text=text, options=options, template=template, tag=MESSENGER_TAG)
            return reply, "template", appointment.start
        return None, "", appointment.start

    async def _remember(
        self, session: AsyncSession, route: Route, appointment_id: int, now: datetime
    ) -> None:
        """A typed "yes" to the reminder confirms it: the conversation remembers what it reminded of. Only
        when no dispatcher holds the conversation right now (its buttons carry the appointment anyway)."""
        if not await self._db.try_lock(session, route.conversation_key):
            return
        slots = {**route.slots, "reminded": appointment_id}
        await session.execute(
            Conversation.__table__.update()
            .where(Conversation.id == route.conversation_id)
            .values(slots=slots, updated_at=now)
        )


async def _routes(session: AsyncSession, business_id: str, client_id: int | None) -> list[Route]:
    """The client's conversations, the one they wrote in last first."""
    if client_id is None:
        return []
    c, i = Conversation, ClientIdentity
    rows = await session.execute(
        select(
            c.id,
            c.key,
            c.channel_id,
            i.channel_kind,
            c.locale,
            c.last_client_message_at,
            i.opted_out_at,
            c.slots,
        )
        .join(i, i.id == c.identity_id)
        .join(Client, Client.id == c.client_id)
        .where(c.business_id == business_id, c.client_id == client_id, Client.test.is_(False))
        .order_by(c.last_client_message_at.desc().nulls_last(), c.id.desc())
    )
    return [Route(*row[:6], opted_out=row[6] is not None, slots=dict(row[7] or {})) for row in rows]


def _channel_name(kind: str) -> str:
    return {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}.get(kind, kind)


def _logged_text(reply: Reply) -> str:
    """What the client's record shows: the text, and for a template which one was sent."""
    if reply.template is not None:
        return f"{reply.text}\n[template {reply.template.name}]"
    return reply.text
