"""Booking: service → day and time → name when the client's record has none → summary → booked."""

from __future__ import annotations

from statemachine import State

from flows.context import ServiceInfo
from flows.flow import Flow
from flows.heard import CHANGE, SERVICE
from flows.messages import Option
from flows.picking import TIME_SLOTS, PicksATime
from flows.understanding.names import read_name


class BookingFlow(PicksATime, Flow):
    """Whatever the client says is noted first (`note`); the machine then asks for what is still missing,
    in this order, or shows the summary. "massage tomorrow at 10" therefore goes straight to the summary."""

    job = "book"

    choosing_service = State(initial=True)
    choosing_time = State()
    asking_name = State()
    changing = State()
    confirming = State()
    booked = State(final=True)

    said = (
        booked.from_(confirming, cond=["said_yes", "slot_still_free"], after="book")
        | choosing_time.from_(confirming, cond="said_yes", after="slot_was_taken")
        | changing.from_(confirming, cond="wants_change", after="ask_what_to_change")
        | choosing_service.from_(
            choosing_service,
            choosing_time,
            asking_name,
            changing,
            confirming,
            cond="lacks_service",
            after="ask_service",
        )
        | choosing_time.from_(
            choosing_service,
            choosing_time,
            asking_name,
            changing,
            confirming,
            cond="lacks_time",
            after="ask_time",
        )
        | asking_name.from_(
            choosing_service,
            choosing_time,
            asking_name,
            changing,
            confirming,
            cond="lacks_name",
            after="ask_name",
        )
        | confirming.from_(
            choosing_service, choosing_time, asking_name, changing, confirming, after="summarise"
        )
    )

    # ------------------------------------------------------------------------------------- noting

    async def note(self) -> bool:
        """Take everything the client said this turn; True when any of it was new."""
        learned = self._note_change() or self._note_service()
        if self.model.state == "asking_name" and not self.heard.choice:
            name = read_name(self.heard.text)
            if name:
                self.remember(name=name, rename=None)
                learned = True
        return await self.note_time() or learned

    def _note_change(self) -> bool:
        part = self.heard.change
        if part == "service":
            self.forget("service", "service_choices", *TIME_SLOTS)
        elif part == "time":
            self.forget(*TIME_SLOTS)
        elif part == "name":
            self.forget("name")
            self.remember(rename=True)
        return part is not None

    def _note_service(self) -> bool:
        found = [key for key in self.heard.services if self.desk.service(key)]
        if len(found) > 1:
            self.remember(service_choices=found)
            return True
        if not found:
            return False
        if found[0] != self.slots.get("service"):
            self.forget("service_choices", *TIME_SLOTS)
            self.remember(service=found[0])
        return True

    # ------------------------------------------------------------------------------------- guards

    def time_service(self) -> ServiceInfo | None:
        return self.desk.service(self.slots.get("service"))

    def lacks_service(self) -> bool:
        return self.time_service() is None

    def lacks_name(self) -> bool:
        return not self.slots.get("name") and (self.slots.get("rename") or not self.model.client_name)

    def wants_change(self) -> bool:
        return self.heard.choice == "change" or self.said_no()

    # ------------------------------------------------------------------------------------- actions

    def ask_service(self) -> None:
        services = self.t.business.services
        choices = [s for s in services if s.key in (self.slots.get("service_choices") or ())]
        self.forget("service_choices")
        options = [
            Option(id=f"{SERVICE}{s.key}", title=s.name, description=f"{s.duration_minutes} min")
            for s in (choices or services)
        ]
        if not choices:
            options.append(self.option("person", "talk_to_person"))
        self.reply(self.say("ask_service", services=services, choosing_between=bool(choices)), options)

    def ask_name(self) -> None:
        self.reply(self.say("ask_name", renaming=bool(self.slots.get("rename"))))

    def summarise(self) -> None:
        service, start = self.time_service(), self.start()
        assert service is not None and start is not None
        self.reply(
            self.say(
                "summary",
                service_name=service.name,
                duration=service.duration_minutes,
                when=self.when(start),
                name=self.slots.get("name") or self.model.client_name,
            ),
            [self.option("yes", "book_it"), self.option("change", "change")],
        )

    def ask_what_to_change(self) -> None:
        self.reply(
            self.say("what_to_change"),
            [
                self.option(f"{CHANGE}service", "change_service"),
                self.option(f"{CHANGE}time", "change_time"),
                self.option(f"{CHANGE}name", "change_name"),
            ],
        )

    async def book(self) -> None:
        service, start = self.time_service(), self.start()
        assert service is not None and start is not None
        name = self.slots.get("name")
        appointment = await self.desk.book(service, start, name)
        if name:
            self.model.client_name = name
        self.remember(appointment=appointment)
        self.reply(self.say("booked", service_name=service.name, when=self.when(start)))
