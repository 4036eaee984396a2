"""Runs the conversation's flow for one client turn: load the row into a machine, fire, collect replies.

Building a python-statemachine machine costs more than running it, so machines are pooled per flow and
business; all state lives on the conversation record, which is bound to the machine for the one event
and saved back by the caller in the same transaction. Nothing about a conversation stays in the machine.
"""

from __future__ import annotations

from typing import Any

from flows.context import BusinessProfile, Turn
from flows.messages import Reply
from flows.welcome import WelcomeFlow

FLOWS: dict[str, Any] = {"welcome": WelcomeFlow}
DEFAULT_FLOW = "welcome"


def initial_state(flow: str = DEFAULT_FLOW) -> str:
    return str(FLOWS[flow].initial_state.id)


class _Bound:
    """The machine's model: forwards every attribute to the conversation being handled right now."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        object.__setattr__(self, "_record", record)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_record"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_record"), name, value)

    def bind(self, record: Any) -> None:
        object.__setattr__(self, "_record", record)


class _Blank:
    """What a pooled machine is built on before it first meets a conversation."""

    def __init__(self, flow: str) -> None:
        self.flow, self.state, self.locale = flow, initial_state(flow), "en"
        self.slots: dict[str, Any] = {}
        self.misunderstood, self.needs_staff = 0, False


class Engine:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[Any]] = {}

    def respond(self, conversation: Any, business: BusinessProfile, turn: Turn) -> list[Reply]:
        """Fire the client's turn at the conversation's machine; its new state lands on `conversation`."""
        flow = FLOWS.get(conversation.flow)
        if flow is None or conversation.state not in flow.states_map:
            # A flow or state from an older release: start afresh rather than get stuck.
            conversation.flow, conversation.state = DEFAULT_FLOW, initial_state()
            flow = FLOWS[DEFAULT_FLOW]
        pool = self._idle.setdefault((conversation.flow, id(business)), [])
        machine = pool.pop() if pool else flow(_Bound(_Blank(conversation.flow)), business)
        machine.model.bind(conversation)
        machine.replies = []
        try:
            machine.send("message", turn=turn)
            return machine.replies
        finally:
            machine.model.bind(None)
            pool.append(machine)


_default = Engine()


def respond(conversation: Any, business: BusinessProfile, turn: Turn) -> list[Reply]:
    return _default.respond(conversation, business, turn)
