"""The first flow: greet the client in the business's language and offer its services as options."""

from __future__ import annotations

from statemachine import State, StateMachine

from flows.context import BusinessProfile, ServiceInfo, Turn
from flows.messages import MessageType, Option, Reply
from flows.texts import say, say_business

SERVICE_PREFIX = "svc:"
PERSON = "person"
START_OVER_WORDS = {"start over", "restart", "menu", "start forfra", "forfra", "hi", "hello", "hej", "hallo"}
PERSON_WORDS = {
    "talk to a person",
    "person",
    "human",
    "staff",
    "tal med en person",
    "menneske",
    "medarbejder",
}
UNREADABLE = {MessageType.UNSUPPORTED, MessageType.CONTACTS, MessageType.UNKNOWN}


class WelcomeFlow(StateMachine):
    """Hello → offer services → note the choice for staff; a person on request or after two misses."""

    allow_event_without_transition = False

    new = State(initial=True)
    choosing_service = State()
    waiting_for_staff = State()

    message = (
        new.to(choosing_service, after="offer_services")
        | choosing_service.to(waiting_for_staff, cond="picked_service", after="note_service")
        | choosing_service.to(waiting_for_staff, cond="asked_for_person", after="hand_to_staff")
        | choosing_service.to.itself(cond="starts_over", after="offer_services")
        | choosing_service.to(waiting_for_staff, cond="lost_twice", after="hand_to_staff")
        | choosing_service.to.itself(after="offer_again")
        | waiting_for_staff.to(waiting_for_staff, cond="picked_service", after="note_service")
        | waiting_for_staff.to(choosing_service, cond="starts_over", after="offer_services")
        | waiting_for_staff.to.itself(cond="not_yet_reassured", after="reassure")
        | waiting_for_staff.to.itself()
    )

    def __init__(self, conversation, business: BusinessProfile) -> None:  # type: ignore[no-untyped-def]
        self.business = business
        self.replies: list[Reply] = []
        super().__init__(model=conversation, state_field="state")

    # ------------------------------------------------------------------------------------------ guards

    def picked_service(self, turn: Turn) -> bool:
        return self._service(turn) is not None

    def asked_for_person(self, turn: Turn) -> bool:
        return turn.choice_id == PERSON or turn.words in PERSON_WORDS

    def lost_twice(self, turn: Turn) -> bool:
        return self.model.misunderstood >= 1 and turn.type not in UNREADABLE

    def starts_over(self, turn: Turn) -> bool:
        return turn.words in START_OVER_WORDS

    def not_yet_reassured(self) -> bool:
        return not (self.model.slots or {}).get("reassured")

    # ----------------------------------------------------------------------------------------- actions

    def offer_services(self, turn: Turn) -> None:
        locale = self.model.locale
        greeting = None
        if self.business.greeting:
            greeting = say_business(
                self.business.greeting,
                client={"first_name": _first_name(turn.client_name), "name": turn.client_name or ""},
                business={"name": self.business.name},
            )
        greeting = greeting or say(
            locale, "greeting", client_name=_first_name(turn.client_name), business_name=self.business.name
        )
        self.model.misunderstood = 0
        text = say(locale, "offer_services", greeting=greeting, services=self.business.services)
        self._offer(text)

    def offer_again(self, turn: Turn) -> None:
        if turn.type in UNREADABLE:
            self._offer(say(self.model.locale, "cannot_read"))
            return
        self.model.misunderstood += 1
        self._offer(say(self.model.locale, "offer_again"))

    def note_service(self, turn: Turn) -> None:
        service = self._service(turn)
        assert service is not None
        self.model.slots = {**(self.model.slots or {}), "service": service.key, "reassured": False}
        self.model.needs_staff = True
        self.model.misunderstood = 0
        self.replies.append(
            Reply(
                text=say(
                    self.model.locale,
                    "service_chosen",
                    service_name=service.name,
                    duration=service.duration_minutes,
                    business_name=self.business.name,
                )
            )
        )

    def reassure(self) -> None:
        """Once per wait: the client knows they were heard, without the bot chattering on."""
        self.model.slots = {**(self.model.slots or {}), "reassured": True}
        self.replies.append(Reply(text=say(self.model.locale, "passed_on", business_name=self.business.name)))

    def hand_to_staff(self, turn: Turn) -> None:
        self.model.slots = {**(self.model.slots or {}), "reassured": False}
        self.model.needs_staff = True
        self.model.misunderstood = 0
        self.replies.append(Reply(text=say(self.model.locale, "handed_to_staff")))

    # ----------------------------------------------------------------------------------------- helpers

    def _offer(self, text: str) -> None:
        locale = self.model.locale
        options = tuple(
            Option(id=f"{SERVICE_PREFIX}{s.key}", title=s.name, description=f"{s.duration_minutes} min")
            for s in self.business.services
        )
        options += (Option(id=PERSON, title=say(locale, "talk_to_person")),)
        self.replies.append(Reply(text=text, options=options, options_label=say(locale, "options_label")))

    def _service(self, turn: Turn) -> ServiceInfo | None:
        services = self.business.services
        if turn.choice_id and turn.choice_id.startswith(SERVICE_PREFIX):
            key = turn.choice_id.removeprefix(SERVICE_PREFIX)
            return next((s for s in services if s.key == key), None)
        words = turn.words
        if not words:
            return None
        exact = [s for s in services if s.name.lower() == words or s.key == words]
        if exact:
            return exact[0]
        mentioned = [s for s in services if s.name.lower() in words]
        return mentioned[0] if len(mentioned) == 1 else None


def _first_name(name: str | None) -> str:
    return (name or "").split(" ")[0]
