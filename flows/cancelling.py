"""Cancelling: which appointment (when there are several) → "are you sure?" → cancelled, or kept."""

from __future__ import annotations

from statemachine import State

from flows.flow import Flow
from flows.picking import PicksAnAppointment


class CancellingFlow(PicksAnAppointment, Flow):
    """Never cancels on one word: the client confirms the appointment by its day and time first."""

    job = "cancel"

    choosing_appointment = State(initial=True)
    confirming = State()
    cancelled = State(final=True)
    kept = State(final=True)
    nothing_to_cancel = State(final=True)

    said = (
        nothing_to_cancel.from_(
            choosing_appointment, confirming, cond="has_nothing", after="say_nothing_to_cancel"
        )
        | choosing_appointment.from_(
            choosing_appointment, confirming, cond="lacks_appointment", after="ask_which"
        )
        | cancelled.from_(confirming, cond="said_yes", after="cancel")
        | kept.from_(confirming, cond="said_no", after="keep")
        | confirming.from_(choosing_appointment, confirming, after="ask_to_confirm")
    )

    async def note(self) -> bool:
        return await self.note_appointment()

    def say_nothing_to_cancel(self) -> None:
        self.remember(on_yes="booking")  # "Would you like to book one?" "Yes."
        vanished = bool(self.t.found.get("vanished"))
        self.reply(
            self.say("no_appointments", job=self.job, vanished=vanished), [self.option("book", "book")]
        )

    def ask_to_confirm(self) -> None:
        appointment = self.appointment()
        assert appointment is not None
        self.reply(
            self.say(
                "cancel_confirm",
                service_name=appointment.service_name,
                when=self.when(appointment.start),
                practitioner=appointment.practitioner_name,
            ),
            [self.option("yes", "cancel_it"), self.option("no", "keep_it")],
        )

    async def cancel(self) -> None:
        appointment = self.appointment()
        assert appointment is not None
        await self.desk.cancel(appointment.id)
        self.remember(on_yes="booking")  # "Book a new time?" "Yes."
        self.reply(
            self.say(
                "cancelled",
                service_name=appointment.service_name,
                when=self.when(appointment.start),
                practitioner=appointment.practitioner_name,
            ),
            [self.option("book", "book_new")],
        )

    def keep(self) -> None:
        appointment = self.appointment()
        assert appointment is not None
        self.reply(self.say("kept", service_name=appointment.service_name, when=self.when(appointment.start)))
