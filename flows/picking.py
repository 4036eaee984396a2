"""Choosing a time and choosing one of the client's appointments: shared by booking, rescheduling,
cancelling and reconfirming, so every job reads days and offers alternatives the same way."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from flows import formatting
from flows.calendars import Slot
from flows.context import ServiceInfo
from flows.heard import APPOINTMENT, DAY, SLOT, WITH
from flows.messages import Option
from flows.understanding.intents import Intent
from flows.understanding.when import PartOfDay, When
from storage.appointments import AppointmentView

WINDOWS = {
    PartOfDay.MORNING: (time(6), time(12)),
    PartOfDay.AFTERNOON: (time(12), time(17)),
    PartOfDay.EVENING: (time(17), time(22)),
    PartOfDay.EARLY: (time(6), time(9)),
    PartOfDay.LATE_MORNING: (time(10), time(12)),
    PartOfDay.LUNCH: (time(11), time(14)),
    PartOfDay.AFTER_WORK: (time(16), time(22)),
}
MAX_OFFERED = 8
FEW = 4  # a spread this short gets filled up with the next free starts
TIME_SLOTS = (
    "start",
    "wanted",
    "day",
    "at",
    "part",
    "offered",
    "just_taken",
    "next_week",
    "same_time",
    "practitioner",
    "places_left",
    "which_day",
    "latest",
    "earliest",
    "flip",
    "or_day",
    "readings",
)
# "As late as possible", "so sent som muligt": the day's last free starts rather than its first.
LATEST = re.compile(
    r"\b(?:as late as (?:possible|you can)|latest|last (?:slot|time|appointment)|sent som muligt"
    r"|senest muligt|sidste tid)\b"
)
# "As early as you can on thursday": the day's first free starts, not a spread over the day.
EARLIEST = re.compile(
    r"\b(?:as early as (?:possible|you can)|earliest|så tidligt som muligt|saa tidligt som muligt"
    r"|tidligst muligt|tidligste tid|første tid på dagen)\b"
)
NEXT_WEEK = re.compile(r"\bnext week\b|\bnæste uge\b|\bnaeste uge\b")


class PicksATime:
    """Mixin for flows with `desk`, `heard`, `slots`, `remember`, `say`, `reply` (see `flows.flow.Flow`)."""

    desk: Any
    heard: Any
    model: Any
    slots: dict[str, Any]

    def time_service(self) -> ServiceInfo | None:
        raise NotImplementedError

    def moving(self) -> int | None:
        """The appointment being moved, whose own time does not count as taken."""
        return None

    def moving_from(self) -> datetime | None:
        """When the appointment being moved is now (said when asking for the new time)."""
        return None

    def start(self) -> datetime | None:
        value = self.slots.get("start")
        return datetime.fromisoformat(value) if value else None

    def lacks_time(self) -> bool:
        return self.start() is None

    async def confirmed_and_free(self) -> bool:
        """A yes, and the slot still free, asked in that order: only a yes takes the calendar lock.

        One guard, not `cond=["said_yes", "slot_still_free"]`: python-statemachine 2.x runs a transition's
        async conditions all at once and stops waiting at the first False, so the lock was taken on every
        answer at the summary and its query left running into the rest of the turn."""
        return self.said_yes() and await self.slot_still_free()

    async def slot_still_free(self) -> bool:
        """Takes the calendar lock: the answer holds until the booking commits. A client who asked for
        no one in particular gets whoever is free then, should the one shown have been taken meanwhile."""
        service, start = self.time_service(), self.start()
        if service is None or start is None:
            return False
        slot = await self.desk.is_free(
            service, start, ignore=self.moving(), lock=True, who=self.wanted_with()
        )
        if slot is None:
            return False
        if slot.practitioners and self.slots.get("practitioner") not in slot.practitioners:
            self.t.found["practitioner"] = slot.chosen
        return True

    def wanted_with(self) -> str | None:
        """The practitioner the client asked for, if any."""
        return self.slots.get("with")

    def booked_with(self) -> str | None:
        """Who the booking under way is with: the one checked under the lock this turn, else the one shown."""
        found = self.t.found.get("practitioner")
        return found if found is not None else self.slots.get("practitioner")

    def name_of(self, key: str | None) -> str | None:
        found = self.t.business.practitioner(key)
        return found.name if found else None

    # ------------------------------------------------------------------------------------- who

    async def note_practitioner(self) -> bool:
        """ "With Mia", "the same as last time", "anyone": whom the client wants to see. True when said."""
        heard = self.heard
        if not self.t.business.practitioners or heard.slot is not None:
            return False
        if self.model.state == "asking_name" and not heard.named_with:
            return False  # "Mia Jensen" answering "what is your name?" is the client
        key = heard.practitioner
        if heard.same_as_last and key is None:
            key = await self.desk.seen_last()
            if key is None:
                self.before(self.say("no_previous"))
                self.forget("with")
                return True
        if key is None and not heard.anyone:
            return False
        if key is None:
            self.forget("with")
            self.remember(with_anyone=True)
        else:
            self.forget("with_anyone")
            self.remember(**{"with": key})
        if heard.when is None and self.time_service() is not None:
            kept = self.start() or (
                datetime.fromisoformat(self.slots["wanted"]) if self.slots.get("wanted") else None
            )
            if kept is not None:
                await self._want(kept)  # the time still stands, with the one asked for if they are free
        return True

    def check_practitioner(self) -> None:
        """One who does not perform the service is said plainly, with who does; then anyone qualified."""
        key, service = self.wanted_with(), self.time_service()
        if key is None or service is None:
            return
        asked = self.t.business.practitioner(key)
        if asked is not None and asked.does(service.key):
            return
        others = [p.name for p in self.t.business.qualified(service.key)]
        self.before(
            self.say(
                "practitioner_not_for",
                practitioner=asked.name if asked else key,
                service_name=service.name,
                others=others,
            )
        )
        self.forget("with")

    def before(self, line: str) -> None:
        """A sentence that goes on top of this turn's first reply."""
        self.t.found.setdefault("before", []).append(line)

    # ------------------------------------------------------------------------------------- reading

    async def note_time(self) -> bool:
        """Take the day and time the client gave; True when they gave any. Said before the service (or
        the appointment) is known, they are kept and used as soon as it is."""
        heard = self.heard
        if heard.slot is not None:
            return await self._want(heard.slot, heard.practitioner)
        if heard.says(Intent.FIRST_AVAILABLE):
            self.forget(*TIME_SLOTS, "after")
            return True
        offered = self.slots.get("offered") or []
        if heard.says(Intent.OTHER_TIME):
            latest = max([*offered, self.slots.get("start") or ""]) or None
            self.forget(*TIME_SLOTS)
            self.remember(after=latest)  # "later", "none of these": what comes after what was offered
            return True
        if heard.says(Intent.YES) and len(offered) == 1 and self.lacks_time():
            return await self._want(datetime.fromisoformat(offered[0]))
        when: When | None = heard.when
        if when is None and NEXT_WEEK.search(heard.text.casefold()):
            today = self.desk.local_now.date()
            monday = today + timedelta(days=7 - today.weekday())
            start_of_week = datetime.combine(monday, time(0), self.desk.rules.zone) - timedelta(minutes=1)
            self.forget(*TIME_SLOTS)
            self.remember(after=start_of_week.isoformat(), next_week=True)
            return True
        if when is not None and heard.text.strip().isdigit() and self.model.state != "choosing_time":
            return False  # a bare "2" is a time only as the answer to "when?"
        if when is None:
            return await self._use_kept_time()
        if self.time_service() is None:
            self.forget(*TIME_SLOTS, "after")
            self.remember(
                day=when.day.isoformat() if when.day else None,
                at=when.at.isoformat(timespec="minutes") if when.at else None,
                part=str(when.part) if when.part else None,
                flip=when.flip or None,
                or_day=when.or_day.isoformat() if when.or_day else None,
            )
            return True
        return await self._take(when)

    async def _use_kept_time(self) -> bool:
        """A day or time said before the service was known, now that it is."""
        if self.time_service() is None or not self.slots.get("at") or self.slots.get("start"):
            return False
        kept = When(
            day=date.fromisoformat(self.slots["day"]) if self.slots.get("day") else None,
            at=time.fromisoformat(self.slots["at"]),
            flip=bool(self.slots.get("flip")),
            or_day=date.fromisoformat(self.slots["or_day"]) if self.slots.get("or_day") else None,
        )
        await self._take(kept)
        return False  # nothing new was said this turn

    async def _take(self, when: When) -> bool:
        known_day = date.fromisoformat(self.slots["day"]) if self.slots.get("day") else None
        if len(readings := when.readings()) > 1:
            settled = self._settle(readings, known_day)
            if settled is None:
                return True  # two open readings: asked which (ask_time)
            when = settled
        day = when.day or known_day
        at = when.at
        if at is None and self.slots.get("which_day") and self.slots.get("at"):
            at = time.fromisoformat(self.slots["at"])  # the answer to "which day, at 10:00?"
        chosen = self.start()
        if at is None and when.day is not None and when.part is None and chosen is not None:
            at = self.desk.local(chosen).time()  # "no wait, friday": the same time, on Friday
        if at is not None and day is None and self.heard.unread_day:
            # "wensday at 11", "two weeks from tomorrow at 10": a day was meant but not read. Never today
            # by default: ask.
            self.forget(*TIME_SLOTS, "after")
            self.remember(at=at.isoformat(timespec="minutes"), which_day=True)
            return True
        if at is not None and day is None:
            day = self._next_day_with(at)
        if day is not None and at is not None:
            start = When(day=day, at=at).local(self.desk.rules.zone)
            return await self._want(start)
        self.forget(*TIME_SLOTS, "after")
        self.remember(
            day=day.isoformat() if day else None,
            part=str(when.part) if when.part else None,
            latest=True if LATEST.search(self.heard.text.casefold()) else None,
            earliest=True if EARLIEST.search(self.heard.text.casefold()) else None,
        )
        return True

    def _settle(self, readings: tuple[When, ...], known_day: date | None) -> When | None:
        """The one reading the business is open for ("at 7" in a salon open 07-15 is 07:00, "at 9" in one
        open 12-22 is 21:00); the default rules' reading when it is open for neither; None when it is open
        for both, after remembering the question to ask ("08:00 or 20:00?")."""
        choices: list[tuple[When, str, str]] = []  # reading, option id, how it is said
        for reading in readings:
            if reading.at is not None and not (reading.day is None and self.heard.unread_day):
                day = reading.day or known_day or self._next_day_with(reading.at)
                start = When(day=day, at=reading.at).local(self.desk.rules.zone)
                if start is not None and self.desk.is_open(start):
                    choices.append((reading, f"{SLOT}{start.isoformat()}", self.when(start)))
            elif reading.at is None and reading.day is not None and self.desk.opens_on(reading.day):
                choices.append((reading, f"{DAY}{reading.day.isoformat()}", self.day_text(reading.day)))
        if not choices:
            return replace(readings[0], flip=False, or_day=None)
        if len(choices) == 1:
            return choices[0][0]
        days = {
            self.desk.local(datetime.fromisoformat(o.removeprefix(SLOT))).date()
            for _, o, _ in choices
            if o.startswith(SLOT)
        }
        self.forget(*TIME_SLOTS, "after")
        self.remember(readings=[[option, said] for _, option, said in choices])
        if len(days) == 1 and all(option.startswith(SLOT) for _, option, _ in choices):
            self.remember(day=days.pop().isoformat())  # "08:00 or 20:00 on Friday?": Friday stays
        return None

    def _next_day_with(self, at: time) -> date:
        """ "At 10" with no day: today if 10:00 is still ahead, else tomorrow."""
        now = self.desk.local_now
        return now.date() if at > now.time() else now.date() + timedelta(days=1)

    async def _want(self, start: datetime, tapped: str | None = None) -> bool:
        """`tapped`: the practitioner an offered time was shown with; tapping it is choosing them."""
        service = self.time_service()
        before = self.slots.get("start")
        if before and before != start.isoformat():
            self.t.found["changed_from"] = before  # a correction: the summary says what changed
        self.forget(*TIME_SLOTS, "after")
        self.remember(day=self.desk.local(start).date().isoformat())
        if tapped is not None and tapped != self.wanted_with() and self.t.business.practitioner(tapped):
            self.forget("with")
        who = tapped if self.t.business.practitioner(tapped) else self.wanted_with()
        slot = await self.desk.is_free(service, start, ignore=self.moving(), who=who) if service else None
        if slot is not None:
            self.remember(start=start.isoformat(), practitioner=slot.chosen, places_left=slot.places_left)
        else:
            self.remember(wanted=start.isoformat())
            self.t.found["wanted_now"] = True
        return True

    # ------------------------------------------------------------------------------------- asking

    async def ask_time(self) -> None:
        service = self.time_service()
        if service is None:
            return
        ignore, desk, who = self.moving(), self.desk, self.wanted_with()
        wanted = datetime.fromisoformat(self.slots["wanted"]) if self.slots.get("wanted") else None
        if not self.t.found.get("wanted_now"):
            wanted = None  # said in an earlier turn: its "has already passed" is not news now
        window = WINDOWS.get(PartOfDay(self.slots["part"])) if self.slots.get("part") else None
        day = date.fromisoformat(self.slots["day"]) if self.slots.get("day") else None
        after = datetime.fromisoformat(self.slots["after"]) if self.slots.get("after") else None
        common = {
            "practitioner": self.name_of(who),
            "is_class": service.is_class,
            "service_name": service.name,
        }
        if readings := self.slots.get("readings"):
            self.reply(
                self._which_reading(readings, day),
                [Option(id=option, title=self._reading_title(option)) for option, _ in readings],
            )
            return
        if wanted is not None:
            reason = (
                "same_time"
                if self.slots.get("same_time")
                else await desk.why_not(service, wanted, ignore, who=who)
            )
            offered = await desk.nearest(service, wanted, 3, ignore, who=who)
            if not offered and str(reason) == "too_far":
                last_week = desk.now + desk.rules.max_ahead - timedelta(days=7)
                offered = await desk.nearest(service, last_week, 3, ignore, who=who)
            instead = None
            if who is not None and reason is not None and str(reason) != "same_time":
                instead = await desk.is_free(service, wanted, ignore=ignore)  # someone else, then?
            if instead is not None:
                offered = [instead, *(s for s in offered if s.start != wanted)][:4]
            text = self.say(
                "time_unavailable",
                reason=str(reason or "taken"),
                just_taken=bool(self.slots.get("just_taken")) and str(reason or "taken") == "taken",
                when=self.when(wanted),
                offered=bool(offered),
                instead=self.name_of(instead.chosen) if instead else None,
                **common,
            )
        elif day is not None:
            free = await desk.free_on(service, day, window, ignore, who=who)
            if self.slots.get("latest"):  # "as late as possible on friday": the day's last hours
                hourly = list({s.start.hour: s for s in reversed(free)}.values())  # each hour's first start
                offered = sorted(hourly, key=lambda s: s.start)[-FEW:]
            elif self.slots.get("earliest"):
                offered = free[:FEW]
            else:
                offered = _spread(free)
            part = self.slots.get("part")
            too_far = day > self.desk.local(desk.now + desk.rules.max_ahead).date()
            if not offered:
                noon = datetime.combine(day, (window or (time(12), time(12)))[0], desk.rules.zone)
                if too_far:  # "4. okt" said in December: the last times that can be booked
                    noon = desk.now + desk.rules.max_ahead - timedelta(days=7)
                offered = await desk.nearest(service, noon, 3, ignore, who=who)
            text = self.say(
                "times_on_day",
                day=self.day_text(day),
                passed=day < self.today,
                too_far=too_far,
                part=part,
                found=bool(offered) and self.desk.local(offered[0].start).date() == day,
                offered=bool(offered),
                **common,
            )
        elif self.slots.get("which_day") and self.slots.get("at"):
            at = time.fromisoformat(self.slots["at"])
            exact = (at, (datetime.combine(date.min, at) + timedelta(minutes=1)).time())
            offered = await desk.soonest(service, 4, window=exact, ignore=ignore, who=who)
            text = self.say("which_day", at=self.clock_text(at), offered=bool(offered), **common)
        else:
            later = after + timedelta(minutes=1) if after else None
            soonest = await desk.soonest(
                service,
                3 * MAX_OFFERED,
                after=later,
                window=window,
                ignore=ignore,
                who=who,
                hours=FEW if window is None else MAX_OFFERED,
            )
            offered = _spread(soonest)[: 4 if window is None else MAX_OFFERED]
            qualified = self.t.business.qualified(service.key)
            text = self.say(
                "ask_time",
                duration=service.duration_minutes,
                part=self.slots.get("part"),
                later=after is not None and not self.slots.get("next_week"),
                next_week=bool(self.slots.get("next_week")),
                offered=bool(offered),
                others=[p.name for p in qualified] if who is None and len(qualified) > 1 else [],
                first=not self.slots.get("asked_time"),
                moving=self.when(now_at) if (now_at := self.moving_from()) else None,
                **common,
            )
            self.remember(asked_time=True)
        self.forget("just_taken")
        self.remember(offered=[s.start.isoformat() for s in offered] or None)
        self.reply(text, [self.slot_option(service, s) for s in offered])

    def _which_reading(self, readings: list[list[str]], day: date | None) -> str:
        """ "Do you mean 08:00 or 20:00 on Friday 27 November?"; readings on different days in full."""
        if day is None:
            return self.say("which_reading", readings=[said for _, said in readings], day=None)
        clocks = [
            self.clock_text(
                datetime.fromisoformat(o.removeprefix(SLOT)).astimezone(self.desk.rules.zone).time()
            )
            for o, _ in readings
        ]
        return self.say("which_reading", readings=clocks, day=self.day_text(day))

    def _reading_title(self, option: str) -> str:
        if option.startswith(DAY):
            return formatting.day_title(date.fromisoformat(option.removeprefix(DAY)), self.locale, self.today)
        return self.slot_title(datetime.fromisoformat(option.removeprefix(SLOT)))

    def slot_option(self, service: ServiceInfo, slot: Slot) -> Option:
        """A time to tap, with who it is with (when there is a choice) or the places left in a class."""
        option_id = f"{SLOT}{slot.start.isoformat()}"
        if slot.chosen:
            option_id += f"{WITH}{slot.chosen}"
        description = None
        if slot.places_left is not None:
            description = self.say("places_left", places=slot.places_left)
        elif slot.chosen and (self.wanted_with() is None or slot.chosen != self.wanted_with()):
            description = self.name_of(slot.chosen)
        return Option(id=option_id, title=self.slot_title(slot.start), description=description)

    async def slot_was_taken(self) -> None:
        """Someone else confirmed this time a moment ago: say so, and offer the nearest free ones."""
        start = self.start()
        self.forget(*TIME_SLOTS)
        self.remember(wanted=start.isoformat() if start else None, just_taken=True)
        self.t.found["wanted_now"] = True
        await self.ask_time()


class PicksAnAppointment:
    """Mixin: which of the client's upcoming appointments this job is about."""

    desk: Any
    heard: Any
    slots: dict[str, Any]
    t: Any
    job: str
    #: only appointments in these statuses are candidates
    statuses: tuple[str, ...] = ("booked", "confirmed")

    async def note_appointment(self) -> bool:
        """Load the candidates for this turn; pick one from a tap, a reminder button, the client's words
        ("the one on friday", "the physio one"), or the only one there is."""
        upcoming = [a for a in await self.desk.upcoming() if a.status in self.statuses]
        self.t.found["upcoming"] = upcoming
        remembered = self.slots.get("appointment")
        chosen = self.heard.appointment or remembered
        if chosen is None and self.slots.get("reminded") and self.heard.says(Intent.YES):
            chosen = self.slots.get("reminded")
        spoken = self._described(upcoming) if chosen is None else None
        chosen = chosen or spoken
        if chosen is None and len(upcoming) == 1:
            chosen = upcoming[0].id
        match = next((a for a in upcoming if a.id == chosen), None)
        # The one we were talking about has started, or staff cancelled it, in the meantime.
        self.t.found["vanished"] = remembered is not None and match is None and chosen == remembered
        self.t.found["asked_for"] = self.heard.appointment if match is None else None
        self.remember(appointment=match.id if match else None)
        self.t.found["appointment"] = match
        return match is not None and (self.heard.appointment is not None or spoken is not None)

    def _described(self, upcoming: list[AppointmentView]) -> int | None:
        heard, desk = self.heard, self.desk
        if len(upcoming) < 2 or not (heard.services or heard.when):
            return None
        if self.job == "reschedule" and heard.says(Intent.RESCHEDULE):
            heard = replace(heard, when=None)  # "move my appointment to friday": friday is the new day
        fits = [
            a
            for a in upcoming
            if (not heard.services or a.service_key in heard.services)
            and (heard.when is None or heard.when.day is None or desk.local(a.start).date() == heard.when.day)
        ]
        return fits[0].id if len(fits) == 1 else None

    def appointment(self) -> AppointmentView | None:
        return self.t.found.get("appointment")  # type: ignore[no-any-return]

    def has_nothing(self) -> bool:
        return not self.t.found.get("upcoming")

    def lacks_appointment(self) -> bool:
        return self.appointment() is None

    def has_appointment(self) -> bool:
        return self.appointment() is not None

    def _service_name(self, appointment: AppointmentView) -> str:
        return self.t.business.service_name(appointment.service_name, self.locale)

    def ask_which(self) -> None:
        upcoming: list[AppointmentView] = self.t.found.get("upcoming") or []
        options = [
            Option(
                id=f"{APPOINTMENT}{a.id}",
                title=self.slot_title(a.start),
                description=", ".join(part for part in (self._service_name(a), a.practitioner_name) if part),
            )
            for a in upcoming[:10]
        ]
        self.reply(
            self.say("which_appointment", job=self.job, vanished=bool(self.t.found.get("vanished"))), options
        )


def _spread(slots: list[Slot]) -> list[Slot]:
    """At most one start per hour, so a day's offer spans the day instead of 09:00, 09:15, 09:30..."""
    chosen: list[Slot] = []
    hours: set[int] = set()
    for slot in slots:
        if slot.start.hour not in hours:
            hours.add(slot.start.hour)
            chosen.append(slot)
    if len(chosen) < min(FEW, len(slots)):
        extra = [s for s in slots if s not in chosen][: FEW - len(chosen)]
        chosen = sorted(chosen + extra, key=lambda s: s.start)
    return chosen[:MAX_OFFERED]
