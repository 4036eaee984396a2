"""The business's front desk as a flow sees it during one turn: free times, the client's bookings, and the
changes a conversation may make, all inside the dispatcher's transaction so state and booking commit
together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flows.availability import Unavailable, is_open, opens_on
from flows.calendar_cache import CalendarCache
from flows.calendars import Calendar, Slot
from flows.context import BusinessProfile, ServiceInfo
from flows.messages import Reply
from storage import appointments as store
from storage.appointments import AppointmentView, Booked
from storage.clients import merge_clients, set_opted_out
from storage.staff import queue_message, set_conversation_slots, whatsapp_owner_of
from storage.time_off import away_between

# Busy time is read for this many days at first, then for longer, up to the whole booking horizon, until
# every start found lies inside what was read.
FIRST_LOOK = timedelta(days=8)
LOOKS = (FIRST_LOOK, timedelta(days=22), timedelta(days=10_000))
WHATSAPP_WINDOW = timedelta(hours=24)
# "I'm running late" is about the appointment starting within this, or that started this long ago.
LATE_BEFORE_START = timedelta(hours=4)
LATE_AFTER_START = timedelta(minutes=45)


_UNREAD = object()


@dataclass(frozen=True, slots=True)
class Placement:
    """The rows a new or moved appointment points at."""

    service_id: int
    practitioner_id: int | None
    room_id: int | None
    seat: int


@dataclass
class Desk:
    session: AsyncSession
    business: BusinessProfile
    client_id: int
    channel: str | None
    now: datetime  # aware, UTC
    actor: str = "client"
    # (channel kind, user id, phone) -> the platform recipient; given by the pipeline, which knows channels
    address: Callable[[str, str | None, str | None], str] | None = None
    cache: CalendarCache | None = None  # booked time kept between turns (flows.calendar_cache)
    _seen_last: object = field(default=_UNREAD, init=False, repr=False)
    _ids: tuple[dict[str, int], dict[str, int]] | None = field(default=None, init=False, repr=False)

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

    def is_open(self, start: datetime) -> bool:
        """A start that could be booked at all (ahead, within the horizon, in opening hours), free or not."""
        return is_open(self.rules, self.now, start)

    def opens_on(self, day: date) -> bool:
        return opens_on(self.rules, self.now, day)

    async def calendar(
        self,
        since: datetime,
        until: datetime,
        ignore: int | None = None,
        service: ServiceInfo | None = None,
    ) -> Calendar:
        """Everyone's busy time around [since, until) (with `service`, only of those who can take it and
        the rooms it needs); `ignore` is an appointment being moved."""
        since, until = since - timedelta(days=1), until + timedelta(days=1)
        only = None
        if service is not None and self.business.practitioners:
            people = [p.key for p in self.business.qualified(service.key)]
            only = (people, [r.key for r in self.business.rooms_for(service.key)])
        booked = await self._booked(since, until, ignore, only)
        away = (
            await away_between(self.session, self.business.id, since, until)
            if self.business.practitioners
            else []
        )
        return Calendar(self.business, booked, away, since, until)

    async def _booked(
        self,
        since: datetime,
        until: datetime,
        ignore: int | None,
        only: tuple[list[str], list[str]] | None,
    ) -> list[Booked]:
        """From the cache while the calendar version holds; a transaction that changed the calendar itself
        reads the database (what it sees is not committed, so it is not kept)."""
        cache, business = self.cache, self.business.id
        if cache is None or self.session.info.get("calendar_changed"):
            return await store.booked_between(self.session, business, since, until, ignore=ignore, only=only)
        version = await store.calendar_version(self.session, business)
        found = cache.get(business, version, since, until, ignore=ignore, only=only)
        held = None if found is not None else cache.behind(business, version, since, until)
        if held is not None:
            cache.apply(business, version, await store.changed_since(self.session, business, held))
            found = cache.get(business, version, since, until, ignore=ignore, only=only)
        if found is None:
            begin = min(since, self.now - timedelta(days=2))
            end = max(until, self.now + self.rules.max_ahead + LOOKS[0] + timedelta(days=2))
            cache.put(
                business, version, begin, end, await store.booked_between(self.session, business, begin, end)
            )
            found = cache.get(business, version, since, until, ignore=ignore, only=only)
        assert found is not None
        return found

    def _looks(self) -> tuple[timedelta, ...]:
        """With the calendar kept in memory, reading all of it costs no more than reading a part."""
        return LOOKS[-1:] if self.cache is not None else LOOKS

    async def seen_last(self) -> str | None:
        """The practitioner of the client's latest appointment that has begun (read once per turn)."""
        if not self.business.practitioners:
            return None
        if self._seen_last is _UNREAD:
            self._seen_last = await store.last_seen_with(
                self.session, self.business.id, self.client_id, self.now
            )
        return self._seen_last  # type: ignore[return-value]

    async def _chosen(self, calendar: Calendar, slots: list[Slot]) -> list[Slot]:
        if not self.business.practitioners:
            return slots
        seen = await self.seen_last()
        return [replace(slot, chosen=calendar.pick(slot, seen)) for slot in slots]

    async def why_not(
        self, service: ServiceInfo, start: datetime, ignore: int | None = None, who: str | None = None
    ) -> Unavailable | None:
        duration = timedelta(minutes=service.duration_minutes)
        calendar = await self.calendar(start, start + duration, ignore, service)
        return calendar.why_not(service, self.now, start, who)

    async def is_free(
        self,
        service: ServiceInfo,
        start: datetime,
        *,
        ignore: int | None = None,
        lock: bool = False,
        who: str | None = None,
    ) -> Slot | None:
        """The slot at `start` with whoever is free then, or None. With `lock`, the answer holds until
        the transaction ends: no one else can book meanwhile."""
        if lock:
            await store.lock_calendar(self.session, self.business.id)
        duration = timedelta(minutes=service.duration_minutes)
        calendar = await self.calendar(start, start + duration, ignore, service)
        slot = calendar.at(service, self.now, start, who)
        return (await self._chosen(calendar, [slot]))[0] if slot is not None else None

    async def free_on(
        self,
        service: ServiceInfo,
        day: date,
        window: tuple[time, time] | None = None,
        ignore: int | None = None,
        who: str | None = None,
    ) -> list[Slot]:
        start = datetime.combine(day, time(0), self.rules.zone)
        calendar = await self.calendar(start, start + timedelta(days=1), ignore, service)
        slots = calendar.on_day(service, self.now, day, who)
        if window:
            slots = [s for s in slots if window[0] <= s.start.time() < window[1]]
        return await self._chosen(calendar, slots)

    async def nearest(
        self,
        service: ServiceInfo,
        wanted: datetime,
        count: int = 3,
        ignore: int | None = None,
        who: str | None = None,
    ) -> list[Slot]:
        duration = timedelta(minutes=service.duration_minutes)
        for span in self._looks():
            until = wanted + min(span, self.rules.max_ahead + FIRST_LOOK)
            calendar = await self.calendar(min(wanted, self.now) - FIRST_LOOK, until, ignore, service)
            found = calendar.nearest(service, self.now, wanted, count, who)
            # Only starts inside the window whose appointments were read are known to be free.
            if all(s.start + duration <= until for s in found) and len(found) >= count:
                break
        return await self._chosen(calendar, found)

    async def soonest(
        self,
        service: ServiceInfo,
        count: int = 3,
        after: datetime | None = None,
        window: tuple[time, time] | None = None,
        ignore: int | None = None,
        who: str | None = None,
        hours: int | None = None,
    ) -> list[Slot]:
        """The `count` soonest free starts; with `hours`, as soon as that many different hours are among
        the starts known to be free, those are enough (the bot offers one start per hour)."""
        duration = timedelta(minutes=service.duration_minutes)
        begin = after or self.now
        for span in self._looks():
            until = begin + min(span, self.rules.max_ahead + FIRST_LOOK)
            calendar = await self.calendar(begin, until, ignore, service)
            found = calendar.soonest(service, self.now, count, after=after, part=window, who=who)
            trusted = [s for s in found if s.start + duration <= until]
            if len(trusted) == len(found) and len(found) >= count:
                break
            if hours is not None and len({(s.start.date(), s.start.hour) for s in trusted}) >= hours:
                found = trusted
                break
        return await self._chosen(calendar, found)

    # ------------------------------------------------------------------------------------- bookings

    async def appointment(self, appointment_id: int) -> AppointmentView | None:
        """One of this client's appointments, whatever its status (another client's is None)."""
        found = await store.get_appointment(self.session, self.business.id, appointment_id)
        return found if found is not None and found.client_id == self.client_id else None

    async def opt_out(self, out: bool) -> None:
        """ "stop" (True) or "start" (False): reminders and notices on this channel, for this client."""
        await set_opted_out(self.session, self.client_id, self.channel, self.now if out else None)

    async def upcoming(self) -> list[AppointmentView]:
        return await store.upcoming_for_client(self.session, self.business.id, self.client_id, self.now)

    async def place(
        self, service: ServiceInfo, start: datetime, practitioner: str | None, ignore: int | None = None
    ) -> Placement:
        """Where a booking at `start` goes: practitioner, room and seat as row ids. The caller holds the
        calendar lock and has checked the time is free for `practitioner`."""
        end = start + timedelta(minutes=service.duration_minutes)
        calendar = await self.calendar(start, end, ignore, service)
        if self._ids is None:
            self._ids = await store.resource_ids(self.session, self.business.id)
        practitioners, rooms = self._ids
        room = calendar.room_for(service, start)
        seat = 1
        service_id = await store.service_id(self.session, self.business.id, service.key)
        if service_id is None:
            raise LookupError(f"service {service.key} is not in the database")
        if service.is_class:
            taken = await store.seats_taken(self.session, self.business.id, service_id, start)
            seat = next(n for n in range(1, service.capacity + len(taken) + 2) if n not in taken)
        return Placement(
            service_id=service_id,
            practitioner_id=practitioners.get(practitioner) if practitioner else None,
            room_id=rooms.get(room) if room else None,
            seat=seat,
        )

    async def book(
        self,
        service: ServiceInfo,
        start: datetime,
        name: str | None,
        phone: str | None = None,
        practitioner: str | None = None,
    ) -> int:
        """The caller checked `is_free(..., lock=True)` in this transaction."""
        placed = await self.place(service, start, practitioner)
        if name:
            await store.set_client_name(self.session, self.client_id, name, self.now)
        if phone:
            await store.set_client_phone(self.session, self.client_id, phone, self.now)
        return await store.insert_appointment(
            self.session,
            business_id=self.business.id,
            service_id=placed.service_id,
            client_id=self.client_id,
            channel=self.channel,
            start=start,
            end=start + timedelta(minutes=service.duration_minutes),
            actor=self.actor,
            now=self.now,
            practitioner_id=placed.practitioner_id,
            room_id=placed.room_id,
            seat=placed.seat,
        )

    async def move(
        self, appointment: AppointmentView, start: datetime, practitioner: str | None = None
    ) -> bool:
        service = self.service(appointment.service_key) or ServiceInfo(
            appointment.service_key,
            appointment.service_name,
            int((appointment.end - appointment.start).total_seconds() // 60),
        )
        placed = await self.place(service, start, practitioner, ignore=appointment.id)
        return await store.move_appointment(
            self.session,
            self.business.id,
            appointment.id,
            start=start,
            end=start + (appointment.end - appointment.start),
            actor=self.actor,
            now=self.now,
            practitioner_id=placed.practitioner_id,
            room_id=placed.room_id,
            seat=placed.seat,
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

    async def running_late(self, minutes: int | None) -> AppointmentView | None:
        """The client's appointment that is about to start (or has just started) gets a note that they are
        running late, in its history; None when there is none today."""
        soon = [
            a
            for a in await store.upcoming_for_client(
                self.session, self.business.id, self.client_id, self.now - LATE_AFTER_START
            )
            if a.start <= self.now + LATE_BEFORE_START
        ]
        if not soon:
            return None
        store.note_on(
            self.session,
            soon[0].id,
            actor=self.actor,
            action="running_late",
            details={"minutes": minutes},
            now=self.now,
        )
        return soon[0]

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
