"""Rescheduling: which appointment (when there are several) → the new day and time → summary → moved."""

from __future__ import annotations

from datetime import datetime, timedelta

from statemachine import State

from flows.context import ServiceInfo
from flows.flow import Flow
from flows.picking import TIME_SLOTS, PicksAnAppointment, PicksATime


class ReschedulingFlow(PicksATime, PicksAnAppointment, Flow):
    """The appointment keeps its service and length; only its time moves, and its history says from what."""

    job = "reschedule"

    choosing_appointment = State(initial=True)
    choosing_time = State()
    confirming = State()
    moved = State(final=True)
    nothing_to_move = State(final=True)

    said = (
        nothing_to_move.from_(
            choosing_appointment, choosing_time, confirming, cond="has_nothing", after="say_nothing_to_move"
        )
        | choosing_appointment.from_(
            choosing_appointment, choosing_time, confirming, cond="lacks_appointment", after="ask_which"
        )
        | moved.from_(confirming, cond="confirmed_and_free", after="move")
        | choosing_time.from_(confirming, cond="said_yes", after="slot_was_taken")
        | choosing_time.from_(
            choosing_appointment, choosing_time, confirming, cond="lacks_time", after="ask_time"
        )
        | confirming.from_(choosing_appointment, choosing_time, confirming, after="summarise")
    )

    async def note(self) -> bool:
        picked = await self.note_appointment()
        if self.model.state == "confirming" and self.said_no():
            self.forget(*TIME_SLOTS)
            return True
        keep = self.appointment()
        if keep is not None and keep.practitioner_key and not ({"with", "with_anyone"} & set(self.slots)):
            self.remember(**{"with": keep.practitioner_key})  # kept unless the client asks otherwise
        said_who = await self.note_practitioner()
        learned = await self.note_time() or picked or said_who
        self.check_practitioner()
        appointment, start = self.appointment(), self.start()
        if appointment is not None and start == appointment.start:
            self.forget("start")  # "move it to 10" when it is at 10: nothing to move
            self.remember(wanted=start.isoformat(), same_time=True)
            self.t.found["wanted_now"] = True
        return learned

    def time_service(self) -> ServiceInfo | None:
        appointment = self.appointment()
        if appointment is None:
            return None
        minutes = int((appointment.end - appointment.start) / timedelta(minutes=1))
        known = self.desk.service(appointment.service_key)
        if known is not None and known.duration_minutes == minutes:
            return known
        return ServiceInfo(appointment.service_key, appointment.service_name, minutes)

    def moving(self) -> int | None:
        return self.slots.get("appointment")

    def moving_from(self) -> datetime | None:
        appointment = self.appointment()
        return appointment.start if appointment is not None else None

    def say_nothing_to_move(self) -> None:
        self.remember(on_yes="booking")  # "Would you like to book one?" "Yes."
        vanished = bool(self.t.found.get("vanished"))
        self.reply(
            self.say("no_appointments", job=self.job, vanished=vanished), [self.option("book", "book")]
        )

    def summarise(self) -> None:
        appointment, start = self.appointment(), self.start()
        assert appointment is not None and start is not None
        self.reply(
            self.say(
                "move_summary",
                service_name=appointment.service_name,
                old=self.when(appointment.start),
                new=self.when(start),
                old_practitioner=appointment.practitioner_name,
                practitioner=self.name_of(self.slots.get("practitioner")),
            ),
            [self.option("yes", "move_it"), self.option("no", "other_time")],
        )

    async def move(self) -> None:
        appointment, start = self.appointment(), self.start()
        assert appointment is not None and start is not None
        practitioner = self.booked_with()
        await self.desk.move(appointment, start, practitioner)
        self.reply(
            self.say(
                "moved",
                service_name=appointment.service_name,
                when=self.when(start),
                practitioner=self.name_of(practitioner),
            )
        )
