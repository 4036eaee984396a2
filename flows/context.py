"""What a flow knows about the business and the client's turn; built by the engine, never from JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from flows.messages import MessageType

ALL_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """When a class meets: every week on `weekdays` (0 = Monday), or once on `on`, at `at` (local)."""

    at: time
    weekdays: tuple[int, ...] = ()
    on: date | None = None
    practitioner: str | None = None
    room: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    key: str
    name: str
    duration_minutes: int
    capacity: int = 1  # more than 1: a class, held at `sessions`
    sessions: tuple[SessionInfo, ...] = ()
    price: float | None = None  # in the business's currency; None: not said
    names: tuple[tuple[str, str], ...] = ()  # (locale, name) where the name differs by language
    active: bool = True  # offered to clients; an inactive one still names its existing appointments

    @property
    def is_class(self) -> bool:
        return self.capacity > 1

    def name_in(self, locale: str) -> str:
        return next((name for lang, name in self.names if lang == locale), self.name)


@dataclass(frozen=True, slots=True)
class PractitionerInfo:
    """Someone clients book with: the services they perform (None: all) and their own booking rules (the
    business's, with opening hours narrowed to theirs)."""

    key: str
    name: str
    services: frozenset[str] | None = None
    rules: Any = None  # flows.availability.BookingRules

    def does(self, service: str) -> bool:
        return self.services is None or service in self.services

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room or piece of equipment that the listed services need one of."""

    key: str
    name: str
    services: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FaqInfo:
    """An answer the business wrote, and the words or phrases (any of its languages) that ask for it."""

    keywords: tuple[str, ...]
    answer: str
    builtin: str | None = None  # "hours" or "prices": answered from the business's own data
    channels: frozenset[str] = ALL_CHANNELS  # where the answer is given
    offer_booking: bool = True  # a "Book" button under it, asked outside a booking


@dataclass(frozen=True, slots=True)
class Holiday:
    first: date
    last: date
    name: str = ""


@dataclass(frozen=True, slots=True)
class BusinessProfile:
    id: str
    name: str
    locale: str
    timezone: str
    greeting: str | None = None  # the business's text for a new client (flows/business_texts.py)
    away: str | None = None  # said outside opening hours, once per closed spell
    greeting_channels: frozenset[str] = ALL_CHANNELS
    away_channels: frozenset[str] = ALL_CHANNELS
    holidays: tuple[Holiday, ...] = ()
    phone: str = ""
    address: str = ""
    services: tuple[ServiceInfo, ...] = ()
    rules: Any = None  # flows.availability.BookingRules: hours, slot step, buffer, notice, horizon
    ask_phone: bool = True
    practitioners: tuple[PractitionerInfo, ...] = ()  # none: the business is one calendar
    rooms: tuple[RoomInfo, ...] = ()
    faq: tuple[FaqInfo, ...] = ()  # the business's own answers, matched by keywords
    currency: str = "DKK"

    @property
    def offered(self) -> tuple[ServiceInfo, ...]:
        """The services clients may book now."""
        return tuple(s for s in self.services if s.active)

    def answers_on(self, channel: str | None) -> tuple[FaqInfo, ...]:
        """The automated answers given on `channel`, in the business's order; the built-in ones (hours,
        prices) after the business's own unless the business placed them."""
        placed = {item.builtin for item in self.faq if item.builtin}
        extra = tuple(FaqInfo((), "", builtin=kind) for kind in ("hours", "prices") if kind not in placed)
        return tuple(item for item in (*self.faq, *extra) if channel is None or channel in item.channels)

    def service_name(self, name: str, locale: str) -> str:
        """A service's name (as stored on appointments) in `locale`, where the business gave one."""
        for service in self.services:
            if service.name == name:
                return service.name_in(locale)
        return name

    def practitioner(self, key: str | None) -> PractitionerInfo | None:
        return next((p for p in self.practitioners if p.key == key), None)

    def qualified(self, service: str) -> tuple[PractitionerInfo, ...]:
        return tuple(p for p in self.practitioners if p.does(service))

    def rooms_for(self, service: str) -> tuple[RoomInfo, ...]:
        return tuple(r for r in self.rooms if service in r.services)


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
