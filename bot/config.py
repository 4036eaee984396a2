"""The TOML config: validated models, secrets from the environment, and the demo config."""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import re
import secrets
import tomllib
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one "key.path: message" line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_duration(value: str) -> timedelta:
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f'"{value}" is not a duration like "2h", "30m", "60d"')
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _check_range(value: str) -> str:
    match = _RANGE.match(value)
    if not match:
        raise ValueError(f'"{value}" is not HH:MM-HH:MM')
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end > 24 * 60:
        raise ValueError(f'"{value}" ends after 24:00')
    if end <= start:
        raise ValueError(f'"{value}" ends before it starts')
    return value


def _weekly_hours(value: Any) -> Any:
    """Weekday -> ranges; problems joined by " | " as "day: problem", each reported at hours.<day>."""
    if not isinstance(value, dict):
        return value
    problems = []
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            problems.append(f'{day}: "{day}" is not a weekday ({", ".join(WEEKDAYS)})')
            continue
        if not isinstance(ranges, str | list):
            problems.append(f'{day}: {ranges!r} is not "HH:MM-HH:MM" or a list of them')
            continue
        spans = []
        for item in [ranges] if isinstance(ranges, str) else ranges:
            try:
                _check_range(str(item))
            except ValueError as err:
                problems.append(f"{day}: {err}")
            else:
                spans.append(str(item))
        spans.sort()
        for earlier, later in itertools.pairwise(spans):
            if later[:5] < earlier[6:]:
                problems.append(f'{day}: "{earlier}" and "{later}" overlap')
    if problems:
        raise ValueError(" | ".join(problems))
    return {day: [ranges] if isinstance(ranges, str) else ranges for day, ranges in value.items()}


_Date = date  # a field below is called "date"

Duration = Annotated[str, Field(description="a duration with a unit: s, m, h or d")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    secret_key: str = ""
    # Where people and Meta reach this server (behind a reverse proxy): https:// makes cookies Secure.
    public_url: str = Field("", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    # Reverse proxies in front of Jola whose X-Forwarded-For is believed (for login throttling per address).
    trusted_proxies: list[str] = Field(default_factory=list)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Slow or silent clients: a new connection's first request line and headers must arrive within
    # header_timeout_seconds, a request's body within body_timeout_seconds of its headers; an idle
    # keep-alive connection (or a later request's headers) is closed after keepalive_timeout_seconds.
    header_timeout_seconds: float = Field(10.0, gt=0, le=3600)
    body_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    keepalive_timeout_seconds: float = Field(75.0, gt=0, le=86400)
    # Open connections at most; when full, the oldest connection still waiting for its headers (or idle)
    # is closed to make room, so silent clients cannot crowd out Meta's deliveries.
    max_connections: int = Field(1000, ge=8, le=100_000)


class ReminderWorkerConfig(_Section):
    """The worker that sends reminders when they fall due (what and when: [businesses.reminders])."""

    poll_seconds: float = Field(5.0, gt=0)  # longest wait between looks for due reminders
    batch_size: int = Field(50, ge=1, le=5000)  # reminders per transaction (small: sends start sooner)


class ApiConfig(_Section):
    """Limits of the REST API (bot/api/limits.py). Requests: a token bucket per business token and one per
    client address, in each process (0 per second: no limit). Wrong bearer tokens: counted per address in
    the database, so the limit holds across processes; past it every request from there is a 429."""

    rate_per_second: float = Field(100.0, ge=0, le=100_000)
    burst: int = Field(600, ge=1, le=1_000_000)
    address_rate_per_second: float = Field(200.0, ge=0, le=100_000)
    address_burst: int = Field(1200, ge=1, le=1_000_000)
    failed_auth_limit: int = Field(100, ge=1, le=100_000)
    failed_auth_window_seconds: int = Field(60, ge=1, le=3600)


class SubProcessorConfig(_Section):
    """Someone processing the businesses' data for the operator (hosting, backups, email delivery)."""

    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=500)
    location: str = Field(min_length=1, max_length=200)  # where the data is: a country, or "EU"


class PrivacyConfig(_Section):
    """Who runs this Jola and with whose help: the records of processing (bot/processing_record.py)."""

    operator_name: str = Field("", max_length=200)  # the processor, e.g. "Nordic Booking ApS"
    operator_contact: str = Field("", max_length=300)  # where data protection questions go
    sub_processors: list[SubProcessorConfig] = Field(default_factory=list)  # Meta is always listed
    security_measures: list[str] = Field(default_factory=list)  # the operator's own (disk encryption...)

    @field_validator("security_measures")
    @classmethod
    def _measures(cls, value: list[str]) -> list[str]:
        measures = [" ".join(str(item).split()) for item in value]
        if any(not item or len(item) > 500 for item in measures):
            raise ValueError("each measure is a sentence of 1-500 characters")
        return measures


class SmtpConfig(_Section):
    """The mail server confirmations and reminders go out through, for clients with an email address.
    No host: no email is sent."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    username: str = ""
    password: str = ""
    security: Literal["starttls", "tls", "none"] = "starttls"  # tls: implicit TLS (port 465)
    sender: str = ""  # the From address, e.g. "Harbour Clinic <booking@harbour.example>"
    timeout_seconds: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _sender(self) -> SmtpConfig:
        if self.host and "@" not in self.sender:
            raise ValueError(NESTED + 'sender: give the From address, like "Clinic <booking@clinic.example>"')
        return self


class DatabaseConfig(_Section):
    url: str = "sqlite+aiosqlite:///jola-data/jola.db"
    # SQLite: FULL syncs the WAL at every commit (safe against power loss); NORMAL only at checkpoints.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    postgres_schema: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(f'"{value}" is not a sqlite+aiosqlite:// or postgresql+asyncpg:// database URL')
        return value


class MetaConfig(_Section):
    app_secret: str = ""
    # An app using the Instagram API with Instagram Login is shown a separate Instagram app secret; a
    # delivery signed with either secret is accepted (other projects found Meta signing with both).
    instagram_app_secret: str = ""
    verify_token: str = ""
    graph_api_url: str = "https://graph.facebook.com"
    # Where channels with `login = "instagram"` send (Instagram Login tokens work only there).
    instagram_graph_api_url: str = "https://graph.instagram.com"
    graph_api_version: str = "v23.0"
    app_id: str = ""
    oauth_redirect_url: str = ""

    @field_validator("graph_api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError(f'"{value}" is not a Graph API version like "v23.0"')
        return value

    @field_validator("graph_api_url", "instagram_graph_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f'"{value}" is not an http(s) URL')
        return value.rstrip("/")


class DispatchConfig(_Section):
    batch_size: int = Field(100, ge=1, le=1000)
    poll_seconds: float = Field(1.0, gt=0)
    workers: int = Field(0, ge=0, le=64, description="0: 1 on SQLite, 4 on PostgreSQL")
    max_attempts: int = Field(3, ge=1)


class SenderConfig(_Section):
    concurrency: int = Field(64, ge=1, le=1000)
    batch_size: int = Field(200, ge=1, le=2000)
    poll_seconds: float = Field(1.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(600.0, gt=0)
    timeout_seconds: float = Field(20.0, gt=0)


class BookingConfig(_Section):
    slot_step_minutes: int = Field(15, ge=5, le=240)
    buffer_minutes: int = Field(0, ge=0, le=240)
    min_notice: Duration = "2h"
    max_ahead: Duration = "60d"
    ask_phone: bool = True  # ask clients on channels without a phone number (Messenger, Instagram) for one

    @field_validator("min_notice", "max_ahead")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class RemindersConfig(_Section):
    lead_times: list[Duration] = Field(default_factory=lambda: ["24h", "2h"])
    quiet_hours: list[str] = Field(default_factory=lambda: ["21:00-08:00"])
    whatsapp_template: str = Field("appointment_reminder", pattern=r"^[a-z0-9_]{0,512}$")
    template_language: str = Field("en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    # A Page-owned Messenger utility message template: preferred outside the 24-hour window; the
    # CONFIRMED_EVENT_UPDATE tag is the fallback (and the only way when this is "").
    messenger_template: str = Field("", pattern=r"^[a-z0-9_]{0,512}$")
    messenger_template_language: str = Field("en_US", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")

    @field_validator("lead_times")
    @classmethod
    def _durations(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_duration(item)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: list[str]) -> list[str]:
        # Quiet hours may wrap midnight ("21:00-08:00"), so only the shape is checked here.
        for item in value:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", item):
                raise ValueError(f'"{item}" is not HH:MM-HH:MM')
        return value


KEEP = "off"  # a retention setting that keeps everything (bot/retention.py)
KEEP_LONGEST = timedelta(days=36500)
DEDUPE_HORIZON = timedelta(days=8)  # handled deliveries go after this anyway (bot/pipeline.py)


class RetentionConfig(_Section):
    """How long a business keeps what clients wrote; older is removed hourly (bot/retention.py), "off"
    keeps it. Messages: at least 30 days (staff read conversations back, the overview counts the last 30
    days). Raw deliveries from Meta (once handled): 1 to 8 days, since Jola drops them at 8 days anyway."""

    messages: str = "365d"
    inbound_events: str = "3d"

    @field_validator("messages", "inbound_events", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return "".join(value.split()).lower() if isinstance(value, str) else value

    @field_validator("messages")
    @classmethod
    def _messages(cls, value: str) -> str:
        return _kept_for(value, timedelta(days=30), KEEP_LONGEST, "30 days to 100 years (30d to 36500d)")

    @field_validator("inbound_events")
    @classmethod
    def _inbound_events(cls, value: str) -> str:
        return _kept_for(value, timedelta(days=1), DEDUPE_HORIZON, "1 to 8 days (1d to 8d)")

    def age(self, kind: str) -> timedelta | None:
        """How old a row of `kind` ("messages", "inbound_events") may get; None: kept."""
        value = getattr(self, kind)
        return None if value == KEEP else parse_duration(value)


def _kept_for(value: str, shortest: timedelta, longest: timedelta, allowed: str) -> str:
    if value == KEEP:
        return value
    age = parse_duration(value)
    if not shortest <= age <= longest:
        raise ValueError(f'"{value}": give {allowed}, or "{KEEP}"')
    return value


CHANNEL_KINDS = ("whatsapp", "messenger", "instagram")
ChannelKindName = Literal["whatsapp", "messenger", "instagram"]


def _every_channel() -> list[str]:
    return list(CHANNEL_KINDS)


def _channel_set(value: list[str]) -> list[str]:
    return [kind for kind in CHANNEL_KINDS if kind in value]  # each once, in a fixed order


class RepliesConfig(_Section):
    """Texts the business writes (Jinja2 in a sandbox, flows/business_texts.py) and where each is used."""

    greeting: str | None = Field(None, max_length=4000)  # said on top of the first reply to a new client
    away: str | None = Field(None, max_length=4000)  # said outside opening hours; booking still goes on
    greeting_channels: list[ChannelKindName] = Field(default_factory=_every_channel)
    away_channels: list[ChannelKindName] = Field(default_factory=_every_channel)

    @field_validator("greeting", "away")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _business_text(value)

    @field_validator("greeting_channels", "away_channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return _channel_set(value)


def _business_text(value: str | None) -> str | None:
    """Empty is none; anything else must be a text the sandbox accepts, refused at load or save time."""
    if value is None or not value.strip():
        return None
    from flows.business_texts import check  # flows does not import bot; kept local for start-up cost

    problem = check(value)
    if problem:
        raise ValueError(problem)
    return value.strip()


class FaqConfig(_Section):
    """An automated answer: the business's text for its keywords, or a built-in answer (`builtin`, from
    the business's own hours or prices) placed in the list to set its priority. The list's order is the
    order rules are tried in."""

    keywords: list[str] = Field(default_factory=list)
    answer: str = Field("", max_length=4000)
    builtin: Literal["hours", "prices"] | None = None
    channels: list[ChannelKindName] = Field(default_factory=_every_channel)
    offer_booking: bool = True  # a "Book now" button under the answer when it is asked outside a booking

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        words = [" ".join(str(word).split()) for word in value]
        if any(not word for word in words):
            raise ValueError("a keyword is empty")
        if any(len(word) > 100 for word in words):
            raise ValueError("a keyword is longer than 100 characters")
        return list(dict.fromkeys(words))

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return _channel_set(value)

    @model_validator(mode="after")
    def _answer(self) -> FaqConfig:
        if self.builtin is None:
            if not self.keywords:
                raise ValueError(NESTED + "keywords: give at least one keyword or phrase")
            if not self.answer.strip():
                raise ValueError(NESTED + "answer: write the answer")
            problem = _business_text_problem(self.answer)
            if problem:
                raise ValueError(NESTED + f"answer: {problem}")
        return self


def _business_text_problem(value: str) -> str | None:
    from flows.business_texts import check

    return check(value)


class HolidayConfig(_Section):
    """Closed all day from `start` to `end` (both included, the business's dates): no bookings then."""

    start: _Date
    end: _Date | None = None
    name: str = Field("", max_length=100)

    @model_validator(mode="after")
    def _order(self) -> HolidayConfig:
        if self.end is not None and self.end < self.start:
            raise ValueError(NESTED + "end: ends before it starts")
        if self.end is not None and (self.end - self.start).days > 366:
            raise ValueError(NESTED + "end: a closure longer than a year")
        return self

    @property
    def last(self) -> _Date:
        return self.end or self.start

    def days(self) -> list[_Date]:
        return [self.start + timedelta(days=n) for n in range((self.last - self.start).days + 1)]


_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


class MessageTemplateConfig(_Section):
    """A WhatsApp message template Meta has approved for the business: what staff may send once the
    client's 24-hour window has closed. `text` is the body as approved, with {{1}}, {{2}}... where staff
    fill in values."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str = Field("en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    text: str = Field(min_length=1, max_length=1024)
    label: str = Field("", max_length=80)  # how staff see it in the list; default: the name

    @field_validator("text")
    @classmethod
    def _numbered(cls, value: str) -> str:
        numbers = sorted({int(n) for n in _PLACEHOLDER.findall(value)})
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("placeholders must be {{1}}, {{2}}, ... in order, none missing")
        return value

    @property
    def parameters(self) -> int:
        return len(set(_PLACEHOLDER.findall(self.text)))

    def filled(self, values: list[str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1], self.text)


class SessionConfig(_Section):
    """When a class meets: every week on `days`, or once on `date`, at `time`, held by `practitioner`."""

    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = Field(None, min_length=1)
    date: _Date | None = None
    practitioner: str | None = None
    room: str | None = None

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, time):  # TOML's local time literal: time = 18:00:00
            return value.strftime("%H:%M")
        if isinstance(value, str) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f'"{value}" is not HH:MM')
        return value

    @model_validator(mode="after")
    def _when(self) -> SessionConfig:
        if (self.days is None) == (self.date is None):
            raise ValueError('a session needs either "days" (every week) or "date" (once), not both')
        return self

    @property
    def at(self) -> time:
        return time.fromisoformat(self.time)


class ServiceConfig(_Section):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=200)
    names: dict[Literal["en", "da"], str] = Field(
        default_factory=dict
    )  # the name in a language, if not `name`
    active: bool = True  # offered to clients; an inactive service keeps its appointments
    duration_minutes: int = Field(ge=5, le=24 * 60)
    price: float | None = Field(None, ge=0)
    capacity: int = Field(1, ge=1, le=1000)
    sessions: list[SessionConfig] = Field(default_factory=list)


class PractitionerConfig(_Section):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=200)
    services: list[str] | None = None  # service ids; None: every service of the business
    hours: dict[str, list[str]] | None = None  # None: the business's hours

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        return _weekly_hours(value)


class RoomConfig(_Section):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=200)
    services: list[str] = Field(min_length=1)  # the services that need a room like this one


class ChannelConfig(_Section):
    kind: Literal["whatsapp", "messenger", "instagram"]
    phone_number_id: str | None = None
    page_id: str | None = None
    account_id: str | None = None
    access_token: str = ""
    # WhatsApp only: the WhatsApp Business Account the number belongs to (`jola doctor` checks our app is
    # subscribed to it).
    waba_id: str | None = Field(None, pattern=r"^\d{1,30}$")
    # Instagram only: "facebook" (the linked Page's token, through graph_api_url) or "instagram" (the
    # Instagram API with Instagram Login: an Instagram user token, through instagram_graph_api_url).
    login: Literal["facebook", "instagram"] = "facebook"

    @field_validator("phone_number_id", "page_id", "account_id", "waba_id", mode="before")
    @classmethod
    def _digits_as_text(cls, value: Any) -> Any:
        # Meta's asset ids are digits; writing them unquoted in TOML is an easy slip, not an error.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _asset_id(self) -> ChannelConfig:
        field = {"whatsapp": "phone_number_id", "messenger": "page_id", "instagram": "account_id"}[self.kind]
        if not getattr(self, field):
            raise ValueError(f'every {self.kind} channel needs "{field}"')
        if self.waba_id and self.kind != "whatsapp":
            raise ValueError('"waba_id" belongs to whatsapp channels only')
        if self.login != "facebook" and self.kind != "instagram":
            raise ValueError('"login" belongs to instagram channels only')
        return self

    @property
    def external_id(self) -> str:
        return str(self.phone_number_id or self.page_id or self.account_id)


class BusinessConfig(_Section):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Europe/Copenhagen"
    locale: Literal["en", "da"] = "en"
    currency: str = Field("DKK", pattern=r"^[A-Z]{3}$")  # ISO 4217, for the prices clients are told
    phone: str = Field("", max_length=40)  # the business's own number, for its texts ({{ business.phone }})
    address: str = Field("", max_length=300)
    api_token: str = ""
    # The token's SHA-256 (hex) instead of the token (`jola api-token new`); with both, they must agree.
    api_token_sha256: str = Field("", pattern=r"^([0-9a-fA-F]{64})?$")
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[HolidayConfig] = Field(default_factory=list)
    booking: BookingConfig = Field(default_factory=BookingConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    replies: RepliesConfig = Field(default_factory=RepliesConfig)
    faq: list[FaqConfig] = Field(default_factory=list)
    message_templates: list[MessageTemplateConfig] = Field(default_factory=list)
    services: list[ServiceConfig] = Field(default_factory=list)
    practitioners: list[PractitionerConfig] = Field(default_factory=list)
    rooms: list[RoomConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'"{value}" is not an IANA time zone like "Europe/Copenhagen"') from None
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        return _weekly_hours(value)

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[ServiceConfig]) -> list[ServiceConfig]:
        ids = [service.id for service in value]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"service ids must be unique: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _resources(self) -> BusinessConfig:
        """Practitioners, rooms and class sessions must name things that exist; each problem at its key."""
        problems = _resource_problems(self)
        if problems:
            raise ValueError(NESTED + " | ".join(problems))
        return self

    def practitioner(self, key: str) -> PractitionerConfig | None:
        return next((p for p in self.practitioners if p.id == key), None)

    def does(self, practitioner: PractitionerConfig, service: str) -> bool:
        return practitioner.services is None or service in practitioner.services

    @model_validator(mode="after")
    def _one_token(self) -> BusinessConfig:
        self.api_token_sha256 = self.api_token_sha256.lower()
        if self.api_token and self.api_token_sha256:
            from bot.api_tokens import digest

            if digest(self.api_token) != self.api_token_sha256:
                raise ValueError(NESTED + "api_token_sha256: is not the digest of api_token; give only one")
        return self


# A model validator's message that starts with this holds "sub.path: problem" parts joined by " | ", each
# reported at its own key path under the model's (see `_problems`).
NESTED = "@nested "


def _resource_problems(b: BusinessConfig) -> list[str]:
    services = {s.id: s for s in b.services}
    problems: list[str] = []
    for kind, items in (("practitioner", b.practitioners), ("room", b.rooms)):
        ids = [item.id for item in items]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"{kind}s: {kind} ids must be unique: {', '.join(duplicates)}")
    for i, p in enumerate(b.practitioners):
        for j, key in enumerate(p.services or []):
            if key not in services:
                problems.append(f'practitioners[{i}].services[{j}]: "{key}" is not a service of {b.id}')
    for i, r in enumerate(b.rooms):
        for j, key in enumerate(r.services):
            if key not in services:
                problems.append(f'rooms[{i}].services[{j}]: "{key}" is not a service of {b.id}')
    for i, s in enumerate(b.services):
        if s.capacity > 1 and not s.sessions:
            problems.append(
                f"services[{i}].sessions: a class (capacity {s.capacity}) needs sessions: "
                '[[businesses.services.sessions]] with days = ["tue"] or date = 2026-12-01, and time'
            )
        if s.sessions and s.capacity < 2:
            problems.append(
                f"services[{i}].capacity: a service with sessions is a class and needs capacity = N "
                "(2 or more)"
            )
        if b.practitioners and not any(b.does(p, s.id) for p in b.practitioners):
            problems.append(f"services[{i}]: no practitioner performs {s.id}")
        for j, session in enumerate(s.sessions):
            where = f"services[{i}].sessions[{j}]"
            if session.practitioner is None:
                if b.practitioners:
                    problems.append(f"{where}.practitioner: every session needs the one who holds it")
            else:
                held_by = b.practitioner(session.practitioner)
                if held_by is None:
                    problems.append(f'{where}.practitioner: "{session.practitioner}" is not a practitioner')
                elif not b.does(held_by, s.id):
                    problems.append(f'{where}.practitioner: "{session.practitioner}" does not perform {s.id}')
            if session.room is not None:
                room = next((r for r in b.rooms if r.id == session.room), None)
                if room is None:
                    problems.append(f'{where}.room: "{session.room}" is not a room')
                elif s.id not in room.services:
                    problems.append(f'{where}.room: room "{session.room}" does not list {s.id}')
    return problems


def new_encryption_key() -> str:
    """32 random bytes, URL-safe base64: what `jola keys new` prints and storage/sealed.py reads."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _encryption_key(value: str) -> str:
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:  # the message never repeats the value: it is a secret
        raise ValueError("is not an encryption key (44 characters made by: jola keys new)")
    return value.strip()


class SecurityConfig(_Section):
    """Encryption at rest of channel access tokens and client notes (docs/privacy.md)."""

    # Keys made by `jola keys new`, newest first: the first encrypts, every one decrypts. Also
    # $JOLA_ENCRYPTION_KEYS, comma-separated (it replaces the file's list).
    encryption_keys: list[Annotated[str, AfterValidator(_encryption_key)]] = Field(default_factory=list)
    # With no keys given: where Jola keeps the key it makes on first use (bot/encryption.py); a relative
    # path is from the config file's folder.
    key_file: str = Field("jola-keys.toml", min_length=1)

    @field_validator("encryption_keys")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a key is listed twice")
        return value


class Config(_Section):
    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    meta: MetaConfig = Field(default_factory=MetaConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    sender: SenderConfig = Field(default_factory=SenderConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    reminders: ReminderWorkerConfig = Field(default_factory=ReminderWorkerConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    businesses: list[BusinessConfig] = Field(default_factory=list)

    @field_validator("businesses")
    @classmethod
    def _unique(cls, value: list[BusinessConfig]) -> list[BusinessConfig]:
        # A field validator, so the problem is reported at "businesses" rather than "(top level)".
        ids = [b.id for b in value]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"business ids must be unique: {', '.join(duplicates)}")
        assets = [(c.kind, c.external_id) for b in value for c in b.channels]
        if len(assets) != len(set(assets)):
            raise ValueError("a channel (kind and id) may belong to one business only")
        return value

    def business(self, business_id: str) -> BusinessConfig:
        for business in self.businesses:
            if business.id == business_id:
                return business
        raise KeyError(business_id)


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-after", "function-before", "function-plain")):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        path = _key_path(tuple(item["loc"]))
        if item["type"] == "extra_forbidden":
            message = "is not a known key"
        if message.startswith(NESTED):
            lines.extend(f"{path}.{part}" for part in message.removeprefix(NESTED).split(" | "))
            continue
        if (path == "hours" or path.endswith(".hours")) and item["type"] == "value_error":
            # BusinessConfig._hours: "day: problem" parts joined by " | ", each reported at hours.<day>.
            lines.extend(f"{path}.{part}" for part in message.split(" | "))
            continue
        lines.append(f"{path}: {message}")
    return lines


def _apply_environment(data: dict[str, Any], environ: dict[str, str]) -> None:
    """Secrets may live in the environment rather than the file: JOLA_<SECTION>_<KEY> and the like."""
    for section, keys in {
        "server": ("secret_key",),
        "smtp": ("password",),
        "database": ("url",),
        "meta": ("app_secret", "instagram_app_secret", "verify_token", "app_id", "graph_api_url"),
    }.items():
        for key in keys:
            value = environ.get(f"JOLA_{section.upper()}_{key.upper()}")
            if value and isinstance(data.setdefault(section, {}), dict):
                data[section][key] = value
    keys = [key.strip() for key in environ.get("JOLA_ENCRYPTION_KEYS", "").split(",") if key.strip()]
    if keys and isinstance(data.setdefault("security", {}), dict):
        data["security"]["encryption_keys"] = keys
    businesses = data.get("businesses")
    for business in businesses if isinstance(businesses, list) else []:
        if not isinstance(business, dict):
            continue
        slug = re.sub(r"[^A-Z0-9]", "_", str(business.get("id", "")).upper())
        token = environ.get(f"JOLA_BUSINESS_{slug}_API_TOKEN")
        if token:
            business["api_token"] = token
            business.pop("api_token_sha256", None)
        hashed = environ.get(f"JOLA_BUSINESS_{slug}_API_TOKEN_SHA256")
        if hashed and not token:
            business["api_token_sha256"] = hashed
            business.pop("api_token", None)
        channels = business.get("channels")
        for channel in channels if isinstance(channels, list) else []:
            if not isinstance(channel, dict):
                continue
            asset = channel.get("phone_number_id") or channel.get("page_id") or channel.get("account_id")
            token = environ.get(f"JOLA_CHANNEL_{asset}_ACCESS_TOKEN")
            if token:
                channel["access_token"] = token


def validate_business(data: dict[str, Any]) -> BusinessConfig:
    """One business from its keys (the settings pages' saves); problems at key paths under the business."""
    try:
        return BusinessConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_problems(err)) from None


def parse_config(data: dict[str, Any], environ: dict[str, str] | None = None) -> Config:
    _apply_environment(data, dict(os.environ) if environ is None else environ)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_problems(err)) from None


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except OSError as err:
        raise ConfigError([f"{path}: cannot be read ({err.strerror})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"{path}: is not valid TOML ({err})"]) from None
    config = parse_config(data, environ)
    config.security.key_file = str(path.parent / config.security.key_file)  # beside the config file
    return config


def find_config_path(explicit: str | None, environ: dict[str, str] | None = None) -> Path | None:
    """--config, then $JOLA_CONFIG, then ./jola.toml; None means the demo business."""
    environ = dict(os.environ) if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get("JOLA_CONFIG"):
        return Path(environ["JOLA_CONFIG"])
    if Path("jola.toml").exists():
        return Path("jola.toml")
    return None


DEMO_DIR = Path("jola-data")


_DEMO_SECRETS = ("secret_key", "app_secret", "verify_token", "api_token")
DEMO_OWNER = "owner@harbour-clinic.example"


def demo_login(data_dir: Path = DEMO_DIR) -> tuple[str, str]:
    """The demo's staff login (email, password), made with its other secrets."""
    kept = tomllib.loads((data_dir / "demo-secrets.toml").read_text())
    return DEMO_OWNER, str(kept["staff_password"])


def demo_config(data_dir: Path = DEMO_DIR) -> Config:
    """A clinic to talk to in the first minute: SQLite under ./jola-data, secrets made once and kept there."""
    secrets_file = data_dir / "demo-secrets.toml"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if secrets_file.exists():
            kept = tomllib.loads(secrets_file.read_text())
        else:
            kept = {
                "secret_key": secrets.token_urlsafe(32),
                "app_secret": secrets.token_hex(16),
                "verify_token": secrets.token_urlsafe(16),
                "api_token": secrets.token_urlsafe(24),
                "staff_password": secrets.token_urlsafe(12),
                "encryption_key": new_encryption_key(),
            }
            secrets_file.write_text("".join(f'{k} = "{v}"\n' for k, v in kept.items()))
            secrets_file.chmod(0o600)
        if "staff_password" not in kept:  # demo folders made before the staff app have none yet
            kept["staff_password"] = secrets.token_urlsafe(12)
            secrets_file.write_text("".join(f'{k} = "{v}"\n' for k, v in kept.items()))
        if "encryption_key" not in kept:  # nor before encryption at rest (its notes are encrypted at start)
            kept["encryption_key"] = new_encryption_key()
            secrets_file.write_text("".join(f'{k} = "{v}"\n' for k, v in kept.items()))
        kept = {k: str(kept[k]) for k in (*_DEMO_SECRETS, "staff_password", "encryption_key")}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as err:
        reason = f"no {err.args[0]}" if isinstance(err, KeyError) else getattr(err, "strerror", None) or err
        raise ConfigError([f"{secrets_file}: the demo secrets cannot be read or kept ({reason})"]) from None
    weekdays = ["08:00-12:00", "13:00-17:00"]
    return parse_config(
        {
            "server": {"secret_key": kept["secret_key"]},
            "database": {"url": f"sqlite+aiosqlite:///{(data_dir / 'jola.db').as_posix()}"},
            "meta": {"app_secret": kept["app_secret"], "verify_token": kept["verify_token"]},
            "security": {"encryption_keys": [kept["encryption_key"]]},
            "businesses": [
                {
                    "id": "harbour-clinic",
                    "name": "Harbour Clinic",
                    "timezone": "Europe/Copenhagen",
                    "locale": "en",
                    "api_token": kept["api_token"],
                    "hours": {day: weekdays for day in WEEKDAYS[:5]} | {"sat": ["10:00-14:00"]},
                    "services": [
                        {"id": "massage", "name": "Massage", "duration_minutes": 60, "price": 450},
                        {
                            "id": "physio-first",
                            "name": "Physiotherapy, first visit",
                            "names": {"da": "Fysioterapi, første besøg"},
                            "duration_minutes": 45,
                            "price": 650,
                        },
                        {
                            "id": "physio-follow-up",
                            "name": "Physiotherapy, follow-up",
                            "names": {"da": "Fysioterapi, opfølgning"},
                            "duration_minutes": 30,
                            "price": 450,
                        },
                        {
                            "id": "back-school",
                            "name": "Back school (group)",
                            "names": {"da": "Rygskole (hold)"},
                            "duration_minutes": 60,
                            "price": 150,
                            "capacity": 8,
                            "sessions": [{"days": ["tue", "thu"], "time": "17:30", "practitioner": "ida"}],
                        },
                    ],
                    "practitioners": [
                        {
                            "id": "mia",
                            "name": "Mia Holm",
                            "services": ["massage", "physio-first", "physio-follow-up"],
                        },
                        {
                            "id": "jonas",
                            "name": "Jonas Berg",
                            "services": ["physio-first", "physio-follow-up"],
                            "hours": {day: weekdays for day in WEEKDAYS[:4]},
                        },
                        {"id": "ida", "name": "Ida Lund", "services": ["massage", "back-school"]},
                    ],
                    "rooms": [{"id": "massage-room", "name": "Massage room", "services": ["massage"]}],
                    "address": "Havnegade 12, 1058 København K",
                    "replies": {
                        "away": "We're closed right now, but I can still book you in."
                        "{% if next_free_slot %} The first free time is {{ next_free_slot }}.{% endif %}",
                    },
                    "faq": [
                        {
                            "keywords": ["parking", "parkering"],
                            "answer": "There is free parking behind the clinic.",
                        },
                        {
                            "keywords": ["address", "where are you", "adresse", "hvor ligger"],
                            "answer": "You find us at {{ business.address }}.",
                        },
                    ],
                    "channels": [{"kind": "whatsapp", "phone_number_id": "100000000000002"}],
                }
            ],
        },
        environ={},
    )
