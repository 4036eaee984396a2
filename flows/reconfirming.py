"""Reconfirming: the client's "yes, I'm coming" (a reminder's button, or a yes to a reminder) → confirmed."""

from __future__ import annotations

from statemachine import State

from flows.flow import Flow
from flows.picking import PicksAnAppointment


class ReconfirmingFlow(PicksAnAppointment, Flow):
    """Only appointments not yet reconfirmed are candidates; a second "yes" changes nothing."""

    job = "reconfirm"
    statuses = ("booked",)

    choosing_appointment = State(initial=True)
    confirmed = State(final=True)
    nothing_to_confirm = State(final=True)

    said = (
        confirmed.from_(choosing_appointment, cond="has_appointment", after="reconfirm")
        | nothing_to_confirm.from_(choosing_appointment, cond="asked_for_another", after="say_not_waiting")
        | nothing_to_confirm.from_(choosing_appointment, cond="has_nothing", after="say_nothing_to_confirm")
        | choosing_appointment.to.itself(after="ask_which")
    )

    async def note(self) -> bool:
        return await self.note_appointment()

    async def reconfirm(self) -> None:
        appointment = self.appointment()
        assert appointment is not None
        await self.desk.reconfirm(appointment.id)
        self.forget("reminded")
        self.reply(
            self.say("reconfirmed", service_name=appointment.service_name, when=self.when(appointment.start))
        )

    def asked_for_another(self) -> bool:
        """A reminder's button for an appointment already confirmed, cancelled or past."""
        return self.t.found.get("asked_for") is not None

    async def say_not_waiting(self) -> None:
        asked = await self.desk.appointment(self.t.found["asked_for"])
        if asked is None or asked.start <= self.desk.now:
            self.reply(self.say("nothing_to_confirm", this_one=True, status=None))
            return
        self.reply(
            self.say(
                "nothing_to_confirm",
                this_one=True,
                status=asked.status,
                service_name=asked.service_name,
                when=self.when(asked.start),
            )
        )

    def say_nothing_to_confirm(self) -> None:
        self.reply(self.say("nothing_to_confirm", this_one=False, status=None))
