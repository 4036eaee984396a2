"""The internal message types: what every channel adapter produces and every flow speaks.

Channel adapters turn platform JSON into these; flows read `InboundMessage` and answer with `Reply`; the
sender turns a `Reply` back into a platform request. Nothing here knows any platform's JSON.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

log = logging.getLogger(__name__)


class _Lenient(StrEnum):
    """A StrEnum that maps unknown values to UNKNOWN with a warning instead of raising."""

    @classmethod
    def parse(cls, value: Any) -> Self:
        try:
            return cls(value)
        except ValueError:
            log.warning("event=enum.unknown enum=%s value=%.40r", cls.__name__, value)
            return cls("unknown")


class ChannelKind(_Lenient):
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    UNKNOWN = "unknown"


class MessageType(_Lenient):
    TEXT = "text"
    CHOICE = "choice"  # a tap on one of our options (reply button, list row, template quick reply)
    LOCATION = "location"
    MEDIA = "media"
    REACTION = "reaction"
    CONTACTS = "contacts"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class DeliveryStatus(_Lenient):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    RECEIVED = "received"
    UNKNOWN = "unknown"


# Statuses only move forward; a late "delivered" after "read" changes nothing.
STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.PLAYED: 4,
    DeliveryStatus.FAILED: 5,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    """Who wrote: the platform's scoped user id and/or phone number, plus what the platform tells of them."""

    user_id: str | None = None
    phone: str | None = None
    name: str | None = None
    username: str | None = None

    @property
    def key(self) -> str:
        """The identity this sender is keyed on: the business-scoped id where present, else the phone."""
        return self.user_id or self.phone or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaRef:
    kind: str
    media_id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One thing a client sent, on any channel."""

    channel: ChannelKind
    channel_id: int
    business_id: str
    platform_id: str
    sender: Sender
    timestamp: datetime
    type: MessageType
    text: str | None = None
    choice_id: str | None = None
    reply_to: str | None = None
    media: MediaRef | None = None
    location: Location | None = None
    reaction_to: str | None = None
    reaction_emoji: str | None = None
    detail: str | None = None  # e.g. the unsupported type, or the system event type

    @property
    def conversation_key(self) -> str:
        return f"{self.channel_id}:{self.sender.key}"

    def to_json(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict (a recursive deep copy): this runs for every delivery.
        data = _flat(self)
        data["timestamp"] = self.timestamp.isoformat()
        data["sender"] = _flat(self.sender)
        data["media"] = _flat(self.media) if self.media else None
        data["location"] = _flat(self.location) if self.location else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboundMessage:
        data = dict(data)
        data["channel"] = ChannelKind.parse(data["channel"])
        data["type"] = MessageType.parse(data["type"])
        data["timestamp"] = datetime.fromisoformat(data["timestamp"])
        data["sender"] = Sender(**data["sender"])
        if data.get("media"):
            data["media"] = MediaRef(**data["media"])
        if data.get("location"):
            data["location"] = Location(**data["location"])
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate:
    """The platform's word on one of our outbound messages."""

    channel: ChannelKind
    channel_id: int
    business_id: str
    platform_id: str
    status: DeliveryStatus
    timestamp: datetime
    error_code: int | None = None
    error_title: str | None = None
    callback_data: str | None = None
    # Messenger reports "read up to here": with `watermark`, the status applies to every outbound message
    # to `recipient` sent at or before `timestamp`, and `platform_id` is empty.
    recipient: str | None = None
    watermark: bool = False

    @property
    def conversation_key(self) -> str:
        if self.watermark:
            return f"status:{self.channel_id}:to:{self.recipient}"
        return f"status:{self.channel_id}:{self.platform_id}"

    def to_json(self) -> dict[str, Any]:
        data = _flat(self)
        data["timestamp"] = self.timestamp.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatusUpdate:
        data = dict(data)
        data["channel"] = ChannelKind.parse(data["channel"])
        data["status"] = DeliveryStatus.parse(data["status"])
        data["timestamp"] = datetime.fromisoformat(data["timestamp"])
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class EchoMessage:
    """A message the business side sent, as the platform echoes it back (Messenger, Instagram).

    Ours (sent by this app) it only confirms a send; anyone else's (a person in Meta's inbox, another
    app) means a human is answering, so the conversation goes to staff.
    """

    channel: ChannelKind
    channel_id: int
    business_id: str
    platform_id: str
    recipient: Sender  # the client the business wrote to
    timestamp: datetime
    text: str | None = None
    app_id: str | None = None
    metadata: str | None = None
    standby: bool = False  # arrived on `standby`: another app or the inbox owns the thread

    @property
    def conversation_key(self) -> str:
        """Echoes queue apart from the client's messages: one waiting to be recognised (see the handler)
        must never hold up the client's next message."""
        return f"echo:{self.channel_id}:{self.recipient.key}"

    @property
    def client_conversation_key(self) -> str:
        return f"{self.channel_id}:{self.recipient.key}"

    def to_json(self) -> dict[str, Any]:
        data = _flat(self)
        data["timestamp"] = self.timestamp.isoformat()
        data["recipient"] = _flat(self.recipient)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EchoMessage:
        data = dict(data)
        data["channel"] = ChannelKind.parse(data["channel"])
        data["timestamp"] = datetime.fromisoformat(data["timestamp"])
        data["recipient"] = Sender(**data["recipient"])
        return cls(**data)


Inbound = InboundMessage | StatusUpdate | EchoMessage

_FIELDS: dict[type, tuple[str, ...]] = {}


def _flat(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, one level deep (StrEnums stay str, which JSON takes as is)."""
    names = _FIELDS.get(type(obj))
    if names is None:
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {name: getattr(obj, name) for name in names}


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """One choice offered to the client; `id` comes back when they tap it."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRef:
    """An approved platform template (needed outside the 24-hour window)."""

    name: str
    language: str
    body_params: tuple[str, ...] = ()
    button_payloads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """What a flow wants to say; each channel renders it within its own limits."""

    text: str
    options: tuple[Option, ...] = ()
    options_label: str | None = None  # the button that opens a list of options
    header: str | None = None
    footer: str | None = None
    template: TemplateRef | None = None
    callback_data: str | None = None
    kind: str = "message"  # message | mark_read
    reply_to: str | None = None
    tag: str | None = None  # Messenger/Instagram message tag, e.g. HUMAN_AGENT for staff after 24 hours

    def to_json(self) -> dict[str, Any]:
        data = _flat(self)
        data["options"] = [_flat(o) for o in self.options]
        if self.template is not None:
            data["template"] = _flat(self.template)
            data["template"]["body_params"] = list(self.template.body_params)
            data["template"]["button_payloads"] = list(self.template.button_payloads)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        data = dict(data)
        data["options"] = tuple(Option(**o) for o in data.get("options") or ())
        if data.get("template"):
            t = data["template"]
            data["template"] = TemplateRef(
                name=t["name"],
                language=t["language"],
                body_params=tuple(t.get("body_params") or ()),
                button_payloads=tuple(t.get("button_payloads") or ()),
            )
        return cls(**data)


def utc_from_timestamp(value: Any) -> datetime:
    """Platform timestamps: WhatsApp sends seconds as strings, Messenger milliseconds as integers."""
    number = float(value)
    if number > 10**11:
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)
