"""Waiting for a person: the bot says once that the message was passed on, then keeps quiet."""

from __future__ import annotations

from statemachine import State

from flows.flow import Flow


class HandoffFlow(Flow):
    """Entered when the client asks for a person or the bot could not help; any job the bot can do
    (booking, cancelling...) still starts on request, since the client need not wait for that."""

    job = "person"

    waiting = State(initial=True)
    reassured = State()

    said = waiting.to(reassured, after="reassure") | reassured.to.itself()

    async def note(self) -> bool:
        return False

    def reassure(self) -> None:
        self.reply(self.say("passed_on"))
