"""The business's front desk as a flow sees it during one turn: free times, the client's bookings, and the
changes a conversation may make, all inside the dispatcher's transaction so state and booking commit
together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flows.availability import Busy, Unavailable, first_free, free_slots, is_bookable, nearest_free, why_not
from flows.context import BusinessProfile, ServiceInfo
from flows.messages import Reply
from storage import appointments as store
from storage.appointments import AppointmentView
from storage.clients import merge_clients
from storage.staff import queue_message, set_conversation_slots, whatsapp_owner_of

# Busy time is read for this many days at first; the whole booking horizon only when that is not enough.
FIRST_LOOK = timedelta(days=8)
WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass
class Desk:
    session: AsyncSession
    business: BusinessProfile
    client_id: int
    channel: str
    now: datetime  # aware, UTC
    actor: str = "client"
    # (channel kind, user id, phone) -> the platform recipient; given by the pipeline, which knows channels
    address: Callable[[str, str | None, str | None], str] | None = None

    @property
    def rules(self):  # type: ignore[no-untyped-def]
        return self.business.rules

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.rules.zone)

    @property
    def local_now(self) -> datetime:
        return self.local(self.now)

    def service(self, key: str | None) -> ServiceInfo | None:
        return next((s for s in self.business.services if s.key == key), None)

    # ------------------------------------------------------------------------------------- availability

    async def _busy(self, start: datetime, end: datetime, ignore: int | None) -> list[Busy]:
        rows = await store.busy_between(
            self.session, self.business.id, start - timedelta(days=1), end + timedelta(days=1), ignore=ignore
        )
        return [Busy(s, e) for s, e in rows]

    async def why_not(
        self, service: ServiceInfo, start: datetime, ignore: int | None = None
    ) -> Unavailable | None:
        duration = timedelta(minutes=service.duration_minutes)
        busy = await self._busy(start, start + duration, ignore)
        return why_not(self.rules, duration, busy, self.now, start)

    async def is_free(
        self, service: ServiceInfo, start: datetime, *, ignore: int | None = None, lock: bool = False
    ) -> bool:
        """With `lock`, the answer holds until the transaction ends: no one else can book meanwhile."""
        if lock:
            await store.lock_calendar(self.session, self.business.id)
        duration = timedelta(minutes=service.duration_minutes)
        busy = await self._busy(start, start + duration, ignore)
        return is_bookable(self.rules, duration, busy, self.now, start)

    async def free_on(
        self,
        service: ServiceInfo,
        day: date,
        window: tuple[time, time] | None = None,
        ignore: int | None = None,
    ) -> list[datetime]:
        start = datetime.combine(day, time(0), self.rules.zone)
        busy = await self._busy(start, start + timedelta(days=1), ignore)
        slots = free_slots(self.rules, timedelta(minutes=service.duration_minutes), busy, self.now, day)
        if window:
            slots = [s for s in slots if window[0] <= s.time() < window[1]]
        return slots

    async def nearest(
        self, service: ServiceInfo, wanted: datetime, count: int = 3, ignore: int | None = None
    ) -> list[datetime]:
        duration = timedelta(minutes=service.duration_minutes)
        for span in (FIRST_LOOK, self.rules.max_ahead + FIRST_LOOK):
            until = wanted + span
            busy = await self._busy(min(wanted, self.now) - FIRST_LOOK, until, ignore)
            found = nearest_free(self.rules, duration, busy, self.now, wanted, count)
            # Only starts inside the window whose appointments were read are known to be free.
            trusted = [s for s in found if s + duration <= until]
            if len(trusted) >= len(found):
                return found
        return found

    async def soonest(
        self,
        service: ServiceInfo,
        count: int = 3,
        after: datetime | None = None,
        window: tuple[time, time] | None = None,
        ignore: int | None = None,
    ) -> list[datetime]:
        duration = timedelta(minutes=service.duration_minutes)
        begin = after or self.now
        for span in (FIRST_LOOK, self.rules.max_ahead + FIRST_LOOK):
            until = begin + span
            busy = await self._busy(begin, until, ignore)
            found = first_free(self.rules, duration, busy, self.now, count, after=after, part=window)
            if all(s + duration <= until for s in found):
                return found
        return found

    # ------------------------------------------------------------------------------------- bookings

    async def appointment(self, appointment_id: int) -> AppointmentView | None:
        """One of this client's appointments, whatever its status (another client's is None)."""
        found = await store.get_appointment(self.session, self.business.id, appointment_id)
        return found if found is not None and found.client_id == self.client_id else None

    async def upcoming(self) -> list[AppointmentView]:
        return await store.upcoming_for_client(self.session, self.business.id, self.client_id, self.now)

    async def book(
        self, service: ServiceInfo, start: datetime, name: str | None, phone: str | None = None
    ) -> int:
        """The caller checked `is_free(..., lock=True)` in this transaction."""
        service_id = await store.service_id(self.session, self.business.id, service.key)
        if service_id is None:
            raise LookupError(f"service {service.key} is not in the database")
        if name:
            await store.set_client_name(self.session, self.client_id, name, self.now)
        if phone:
            await store.set_client_phone(self.session, self.client_id, phone, self.now)
        return await store.insert_appointment(
            self.session,
            business_id=self.business.id,
            service_id=service_id,
            client_id=self.client_id,
            channel=self.channel,
            start=start,
            end=start + timedelta(minutes=service.duration_minutes),
            actor=self.actor,
            now=self.now,
        )

    async def move(self, appointment: AppointmentView, start: datetime) -> bool:
        return await store.move_appointment(
            self.session,
            self.business.id,
            appointment.id,
            start=start,
            end=start + (appointment.end - appointment.start),
            actor=self.actor,
            now=self.now,
        )

    async def cancel(self, appointment_id: int) -> bool:
        return await store.change_status(
            self.session,
            self.business.id,
            appointment_id,
            to="cancelled",
            actor=self.actor,
            action="cancelled",
            now=self.now,
        )

    async def reconfirm(self, appointment_id: int) -> bool:
        return await store.change_status(
            self.session,
            self.business.id,
            appointment_id,
            to="confirmed",
            actor=self.actor,
            action="reconfirmed",
            now=self.now,
            only_from=("booked",),
        )

    async def remember_language(self, locale: str) -> None:
        await store.set_client_locale(self.session, self.client_id, locale, self.now)

    # ------------------------------------------------------------------------------ one person, two channels

    async def ask_to_link(self, phone: str, question: Reply) -> bool:
        """Someone on this channel gave `phone`, which a WhatsApp client of ours writes from. A typed number
        proves nothing, so the WhatsApp side is asked; its "yes" joins the records. Only while WhatsApp's
        24-hour window is open (no template is configured for this), else staff see a possible duplicate."""
        found = await whatsapp_owner_of(self.session, self.business.id, phone, self.client_id)
        if found is None or self.address is None:
            return False
        _, to, slots = found
        last = to.last_client_message_at
        if last is None or self.now >= last + WHATSAPP_WINDOW:
            return False
        slots["link_request"] = {
            "client": self.client_id,
            "channel": self.channel,
            "at": self.now.isoformat(),
        }
        await set_conversation_slots(self.session, to.conversation_id, slots, self.now)
        await queue_message(
            self.session,
            self.business.id,
            to,
            recipient=self.address(to.channel_kind, to.user_id, to.phone),
            text=question.text,
            payload=question.to_json(),
            window_ends_at=last + WHATSAPP_WINDOW,
            now=self.now,
            author="bot",
        )
        return True

    async def link_with(self, other_client_id: int) -> bool:
        """Join the other record into this client's (this one's phone is the one WhatsApp vouches for)."""
        return await merge_clients(self.session, self.business.id, self.client_id, other_client_id, self.now)
