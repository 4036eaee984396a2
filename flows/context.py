"""What a flow knows about the business and the client's turn; built by the engine, never from JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.messages import MessageType


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    key: str
    name: str
    duration_minutes: int


@dataclass(frozen=True, slots=True)
class BusinessProfile:
    id: str
    name: str
    locale: str
    timezone: str
    greeting: str | None = None
    services: tuple[ServiceInfo, ...] = ()
    rules: Any = None  # flows.availability.BookingRules: hours, slot step, buffer, notice, horizon
    ask_phone: bool = True


@dataclass(frozen=True, slots=True)
class Turn:
    """One client message as a flow sees it: what kind, what they wrote or tapped."""

    type: MessageType
    text: str | None = None
    choice_id: str | None = None
    client_name: str | None = None

    @property
    def words(self) -> str:
        return " ".join((self.text or "").lower().split())
