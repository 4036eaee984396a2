"""What every conversation machine shares: the turn it is handling, its replies, and a voice per locale.

A machine is pooled and bound to one conversation row for one turn (see `flows/engine.py`); `turn` is set
by the engine before the event fires and dropped after, so nothing about a client stays on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from statemachine import StateMachine

from flows import formatting
from flows.context import BusinessProfile
from flows.desk import Desk
from flows.heard import Heard
from flows.messages import Option, Reply
from flows.texts import say
from flows.understanding.intents import Intent


@dataclass
class TurnContext:
    heard: Heard
    desk: Desk
    business: BusinessProfile
    replies: list[Reply] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)  # what this turn read from the desk


class Flow(StateMachine):
    """Base of the job machines (booking, rescheduling, cancelling, reconfirming, handoff)."""

    #: the first thing the client sees when the job starts and nothing else is known
    job: str = ""

    def __init__(self, model: Any) -> None:
        self.turn: TurnContext | None = None
        # Passed, not only set on the class: python-statemachine 2.x's __init__ sets its own default on
        # the instance, which hides the class attribute.
        super().__init__(model=model, state_field="state", allow_event_without_transition=True)

    # ------------------------------------------------------------------------------------- the turn

    @property
    def t(self) -> TurnContext:
        assert self.turn is not None, "a machine only runs inside Engine.respond"
        return self.turn

    @property
    def heard(self) -> Heard:
        return self.t.heard

    @property
    def desk(self) -> Desk:
        return self.t.desk

    @property
    def locale(self) -> str:
        return str(self.model.locale)

    @property
    def slots(self) -> dict[str, Any]:
        if self.model.slots is None:
            self.model.slots = {}
        return self.model.slots  # type: ignore[no-any-return]

    def remember(self, **values: Any) -> None:
        """Slots are replaced, not mutated, so the record notices the change."""
        merged = {**self.slots, **values}
        self.model.slots = {k: v for k, v in merged.items() if v is not None}

    def forget(self, *names: str) -> None:
        self.model.slots = {k: v for k, v in self.slots.items() if k not in names}

    # ------------------------------------------------------------------------------------- speaking

    def say(self, template: str, /, **context: Any) -> str:
        if isinstance(
            context.get("service_name"), str
        ):  # in the client's language, where the business gave one
            context["service_name"] = self.t.business.service_name(context["service_name"], self.locale)
        return say(self.locale, template, business_name=self.t.business.name, **context)

    def reply(self, text: str, options: list[Option] | tuple[Option, ...] = ()) -> None:
        label = say(self.locale, "options_label") if options else None
        self.t.replies.append(Reply(text=text, options=tuple(options), options_label=label))

    def option(self, option_id: str, template: str, /, **context: Any) -> Option:
        return Option(id=option_id, title=say(self.locale, f"options/{template}", **context))

    @property
    def today(self) -> date:
        return self.desk.local_now.date()

    def when(self, moment: datetime) -> str:
        return formatting.moment(self.desk.local(moment), self.locale, self.today)

    def day_text(self, value: date) -> str:
        return formatting.day(value, self.locale, self.today)

    def clock_text(self, moment: time) -> str:
        return formatting.clock(datetime.combine(date.min, moment), self.locale)

    def slot_title(self, moment: datetime) -> str:
        return formatting.slot_title(self.desk.local(moment), self.locale, self.today)

    # ------------------------------------------------------------------------------------- shared guards

    def said_yes(self) -> bool:
        return self.heard.says(Intent.YES) and not self.heard.says(Intent.NO)

    def said_no(self) -> bool:
        return self.heard.says(Intent.NO) and not self.heard.says(Intent.YES)
