"""Booking: service → day and time → name when the client's record has none → summary → booked."""

from __future__ import annotations

from datetime import datetime

from statemachine import State

from flows.context import ServiceInfo
from flows.flow import Flow
from flows.heard import CHANGE, LINK_NO, LINK_YES, SERVICE
from flows.messages import Option, Reply
from flows.picking import TIME_SLOTS, PicksATime
from flows.texts import say
from flows.understanding.intents import Intent
from flows.understanding.names import read_name
from flows.understanding.phones import country_code_for, read_phone

SKIP_WORDS = {"skip", "spring over", "no", "nej", "no thanks", "nej tak", "-"}
CHANGE_WORDS = {
    "service": {"service", "treatment", "behandling", "behandlingen", "ydelse", "ydelsen"},
    "time": {
        "time",
        "day",
        "date",
        "when",
        "tid",
        "tiden",
        "tidspunkt",
        "tidspunktet",
        "dag",
        "dagen",
        "dato",
    },
    "name": {"name", "navn", "navnet"},
}


class BookingFlow(PicksATime, Flow):
    """Whatever the client says is noted first (`note`); the machine then asks for what is still missing,
    in this order, or shows the summary. "massage tomorrow at 10" therefore goes straight to the summary."""

    job = "book"

    choosing_service = State(initial=True)
    choosing_time = State()
    asking_name = State()
    asking_phone = State()
    changing = State()
    confirming = State()
    booked = State(final=True)

    # Where the client may be while we gather; what they said there is noted, then the first thing still
    # missing is asked for, in this order.
    _gathering = (choosing_service, choosing_time, asking_name, asking_phone, changing, confirming)

    said = (
        booked.from_(confirming, cond="confirmed_and_free", after="book")
        | choosing_time.from_(confirming, cond="said_yes", after="slot_was_taken")
        | changing.from_(confirming, cond="wants_change", after="ask_what_to_change")
        | choosing_service.from_(*_gathering, cond="lacks_service", after="ask_service")
        | choosing_time.from_(*_gathering, cond="lacks_time", after="ask_time")
        | asking_name.from_(*_gathering, cond="lacks_name", after="ask_name")
        | asking_phone.from_(*_gathering, cond="lacks_phone", after="ask_phone")
        | confirming.from_(*_gathering, after="summarise")
    )

    # ------------------------------------------------------------------------------------- noting

    async def note(self) -> bool:
        """Take everything the client said this turn; True when any of it was new."""
        self.t.found["was"] = self.model.state
        learned = self._note_change() or await self._note_service()
        learned = await self.note_practitioner() or learned
        heard = self.heard
        named_someone = heard.named_with or heard.anyone or heard.same_as_last
        whole_name = False
        if self.model.state == "asking_name" and not (heard.choice or heard.services or named_someone):
            # Asked for a name, a name wins over words it happens to hold: "Mia Book", "Frida Mandag".
            name = read_name(heard.text)
            if name and (len(name.split()) > 1 or not (heard.when or heard.intents)):
                self.remember(name=name, rename=None)
                learned = True
                whole_name = _letters(name) == _letters(heard.text)
        if self.model.state == "asking_phone":
            learned = await self._note_phone() or learned
        if not whole_name:  # "Frida Mandag" is her name, not Monday
            learned = await self.note_time() or learned
        asking = self.model.state in ("choosing_service", "choosing_time", "asking_name", "asking_phone")
        if asking and not learned and heard.says(Intent.YES, Intent.NO) and not heard.choice:
            self.t.found["unanswered"] = True
            several = len(self.slots.get("offered") or []) > 1 or bool(self.slots.get("readings"))
            if heard.says(Intent.YES) and self.model.state == "choosing_time" and several:
                self.t.found["sorry"] = "pick_one"  # "yes" to several times: which one?
        self.check_practitioner()
        self.t.found["learned"] = learned
        return learned

    async def _note_phone(self) -> bool:
        phone = read_phone(self.heard.text, country_code_for(self.desk.rules.zone.key))
        if phone:
            self.remember(phone=phone, phone_skipped=None)
            if await self.desk.ask_to_link(phone, self._link_question()):
                self.reply(self.say("link_asked"))
            return True
        if self.heard.says(Intent.NO) or self.heard.text.strip().casefold() in SKIP_WORDS:
            self.remember(phone_skipped=True)
            return True
        return False

    def _link_question(self) -> Reply:
        """Sent to the WhatsApp client with that number, in the business's language."""
        locale = self.t.business.locale
        return Reply(
            text=say(locale, "link_question", business_name=self.t.business.name, channel=self.desk.channel),
            options=(
                Option(id=LINK_YES, title=say(locale, "options/link_yes")),
                Option(id=LINK_NO, title=say(locale, "options/link_no")),
            ),
        )

    def _note_change(self) -> bool:
        part = self.heard.change or (self._typed_change() if self.model.state == "changing" else None)
        if part is None and self.heard.says(Intent.RESCHEDULE) and self.heard.when is None:
            part = "time"  # "can we change the time?" while booking: a new time for this booking
        if part == "service":
            self.forget("service", "service_choices")  # the time stays if it fits the next service
        elif part == "time":
            self.forget(*TIME_SLOTS)
        elif part == "name":
            self.forget("name")
            self.remember(rename=True)
        return part is not None

    def _typed_change(self) -> str | None:
        """ "the time", "navnet": a typed answer to "what would you like to change?"."""
        if self.heard.services or self.heard.when:
            return None  # a new service or time is taken as it is, not as a question
        words = set(self.heard.text.casefold().replace(",", " ").split())
        for part, names in CHANGE_WORDS.items():
            if words & names:
                return part
        return None

    async def _note_service(self) -> bool:
        offered = {s.key for s in self.t.business.offered}  # an old button may name one no longer offered
        found = [key for key in self.heard.services if key in offered]
        if len(found) > 1:
            self.remember(service_choices=found)
            return True
        if not found:
            return False
        if found[0] != self.slots.get("service"):
            start = self.start() or (
                datetime.fromisoformat(self.slots["wanted"]) if self.slots.get("wanted") else None
            )
            self.forget("service_choices", "start", "wanted", "offered", "just_taken")
            self.remember(service=found[0])
            if start is not None and self.heard.when is None:
                await self._want(start)  # the time still stands if it fits the new service
        return True

    # ------------------------------------------------------------------------------------- guards

    def time_service(self) -> ServiceInfo | None:
        return self.desk.service(self.slots.get("service"))

    def lacks_service(self) -> bool:
        return self.time_service() is None

    def lacks_name(self) -> bool:
        return not self.slots.get("name") and (self.slots.get("rename") or not self.model.client_name)

    def lacks_phone(self) -> bool:
        """Only where the channel gives no number (Messenger, Instagram), and once: a client may skip it."""
        if not self.t.business.ask_phone or self.slots.get("phone") or self.slots.get("phone_skipped"):
            return False
        return not (self.model.client_phone or self.model.identity[1])

    def wants_change(self) -> bool:
        """A bare "no" at the summary; "no, tomorrow at 11 instead" is already the change."""
        return self.heard.choice == "change" or (self.said_no() and not self.t.found.get("learned"))

    # ------------------------------------------------------------------------------------- actions

    def ask_service(self) -> None:
        services = self.t.business.offered
        asked = self.t.business.practitioner(self.wanted_with())
        if asked is not None:
            services = tuple(s for s in services if asked.does(s.key)) or services
        choices = [s for s in services if s.key in (self.slots.get("service_choices") or ())]
        self.forget("service_choices")
        options = [
            Option(
                id=f"{SERVICE}{s.key}", title=s.name_in(self.locale), description=f"{s.duration_minutes} min"
            )
            for s in (choices or services)
        ]
        if not choices:
            options.append(self.option("person", "talk_to_person"))
        self.reply(
            self.say(
                "ask_service",
                services=services,
                choosing_between=bool(choices),
                practitioner=asked.name if asked else None,
            ),
            options,
        )

    def ask_name(self) -> None:
        self.reply(self.say("ask_name", renaming=bool(self.slots.get("rename"))))

    def ask_phone(self) -> None:
        again = self.t.found.get("was") == "asking_phone" and self.heard.says(Intent.YES)  # but no number
        self.reply(self.say("ask_phone", again=again), [self.option("no", "skip")])

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
                phone=self.slots.get("phone"),
                practitioner=self.name_of(self.slots.get("practitioner")),
                places_left=self.slots.get("places_left"),
                changed=bool(self.t.found.get("changed_from")),
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
        practitioner = self.booked_with()
        appointment = await self.desk.book(
            service, start, name, phone=self.slots.get("phone"), practitioner=practitioner
        )
        if name:
            self.model.client_name = name
        self.remember(appointment=appointment)
        self.reply(
            self.say(
                "booked",
                service_name=service.name,
                when=self.when(start),
                practitioner=self.name_of(practitioner),
                switched=practitioner != self.slots.get("practitioner"),
            )
        )


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalpha())
