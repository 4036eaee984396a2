"""Writing and sending the queued emails about appointments (storage/emails.py), each with a calendar file:
the event itself for a booking, a move (a higher SEQUENCE, so calendars update it) or a reminder, and a
CANCEL for a cancellation. A mail server that cannot be reached is tried again with growing waits; one
that refuses fails the email with its reason, which staff see."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import Clock
from bot.due_worker import DueWorker
from bot.mail import Mailer, MailFailed, appointment_ics, build_message
from bot.metrics import Metrics
from bot.profiles import Profiles
from bot.reminders import RESTRICTED
from flows import formatting
from flows.texts import say
from storage import emails as store
from storage.appointments import get_appointment
from storage.db import Database
from storage.models import Appointment, Client

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = 60.0  # seconds; doubled per attempt, up to RETRY_MAX
RETRY_MAX = 3600.0


class MailWorker(DueWorker):
    name = "mail"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        profiles: Profiles,
        mailer: Mailer,
        metrics: Metrics,
        *,
        poll_seconds: float = 5.0,
        batch_size: int = 20,
    ) -> None:
        super().__init__(clock, poll_seconds=poll_seconds, batch_size=batch_size)
        self._db, self._profiles, self._mailer = db, profiles, mailer
        self._metrics = metrics

    async def before_first_pass(self) -> None:
        async with self._db.write() as session:
            lost = await store.give_up_lost(session, self._clock.now())
        if lost:
            log.warning("event=mail.lost_on_restart emails=%d", lost)

    async def next_due(self) -> datetime | None:
        async with self._db.read() as session:
            return await store.next_due(session)

    async def run_once(self) -> int:
        now = self._clock.now()
        async with self._db.write() as session:
            claimed = await store.claim(session, now, self._batch)
        for email in claimed:
            await self._send(email)
        return len(claimed)

    async def _send(self, email: store.Claimed) -> None:
        now = self._clock.now()
        outcome: dict[str, Any]
        if not self._mailer.enabled:
            outcome = {"reason": "no mail server is set up ([smtp] host)"}
        else:
            async with self._db.read() as session:
                message = await self._compose(session, email, now)
            if message is None or isinstance(message, str):
                outcome = {"reason": message or "the client no longer has an email address"}
            else:
                try:
                    await self._mailer.send(message)
                    outcome = {"sent": True}
                except MailFailed as failed:
                    outcome = {"reason": failed.reason}
                    if failed.retry and email.attempts < MAX_ATTEMPTS:
                        wait = min(RETRY_MAX, RETRY_BASE * 2 ** (email.attempts - 1)) * random.uniform(0.5, 1)
                        outcome["retry_at"] = now + timedelta(seconds=wait)
        async with self._db.write() as session:
            await store.settle(session, email.id, now=self._clock.now(), **outcome)
        result = "sent" if outcome.get("sent") else "retry" if outcome.get("retry_at") else "failed"
        self._metrics.count(self._metrics.emails, result)
        log.info("event=mail.settled email=%s kind=%s outcome=%s", email.id, email.kind, result)

    async def _compose(self, session: Any, email: store.Claimed, now: datetime) -> Any:
        appointment = await get_appointment(session, email.business_id, email.appointment_id)
        profile = self._profiles.get(email.business_id)
        if appointment is None or profile is None or appointment.client_id is None:
            return None
        client = (
            await session.execute(
                select(Client.email, Client.locale, Client.name, Client.restricted_at).where(
                    Client.id == appointment.client_id
                )
            )
        ).first()
        if client is None or not client.email:
            return None
        if client.restricted_at is not None:
            return RESTRICTED  # processing restricted since it was queued: not sent
        updated = await session.scalar(select(Appointment.updated_at).where(Appointment.id == appointment.id))
        locale = client.locale if client.locale in ("en", "da") else profile.locale
        zone = profile.rules.zone
        when = formatting.moment(appointment.start.astimezone(zone), locale)
        service = profile.service_name(appointment.service_name, locale)
        context = {
            "kind": email.kind,
            "business_name": profile.name,
            "first_name": (client.name or appointment.client_name or "").split(" ")[0],
            "service_name": service,
            "practitioner": appointment.practitioner_name,
            "when": when,
            "address": profile.address,
            "phone": profile.phone,
        }
        sender = self._mailer.smtp.sender
        cancel = email.kind == "cancelled"
        ics = appointment_ics(
            uid=f"appointment-{appointment.id}@{email.business_id}.jola",
            start=appointment.start,
            end=appointment.end,
            summary=f"{service}, {profile.name}",
            location=profile.address,
            description=say(locale, "email_body", **context),
            organizer_name=profile.name,
            organizer_email=_address_of(sender),
            method="CANCEL" if cancel else "REQUEST",
            sequence=int(updated.timestamp()) if updated else 0,
            stamp=now,
            attendee_email=client.email,
        )
        return build_message(
            sender=sender,
            to=client.email,
            subject=say(locale, "email_subject", **context),
            text=say(locale, "email_body", **context),
            ics=ics,
            method="CANCEL" if cancel else "REQUEST",
            date=now,
        )


def _address_of(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender
