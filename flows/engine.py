"""Runs the conversation's flow for one client turn: rebuild the machine from the row, fire, reply."""

from __future__ import annotations

from typing import Any

from flows.context import BusinessProfile, Turn
from flows.messages import Reply
from flows.welcome import WelcomeFlow

FLOWS: dict[str, Any] = {"welcome": WelcomeFlow}
DEFAULT_FLOW = "welcome"


def initial_state(flow: str = DEFAULT_FLOW) -> str:
    return str(FLOWS[flow].initial_state.id)


def respond(conversation: Any, business: BusinessProfile, turn: Turn) -> list[Reply]:
    """Fire the client's turn at the conversation's machine; the machine's state lands on the row."""
    flow = FLOWS.get(conversation.flow)
    if flow is None or conversation.state not in {s.id for s in flow.states}:
        # A flow or state from an older release: start afresh rather than get stuck.
        conversation.flow, conversation.state = DEFAULT_FLOW, initial_state()
        flow = FLOWS[DEFAULT_FLOW]
    machine = flow(conversation, business)
    machine.send("message", turn=turn)
    return machine.replies
