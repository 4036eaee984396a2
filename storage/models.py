"""SQLAlchemy models: the one place the schema is described (migrations are written from it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.sealed import Sealed

# Stable constraint names so migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for high-volume tables.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored as UTC and always come back timezone-aware, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Business(Base):
    """A tenant; rows of every other table belong to exactly one business."""

    __tablename__ = "businesses"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Goes up with every change to what is booked or who is away, in the same transaction: a process may
    # keep the business's appointments in memory for as long as this has not moved (flows/calendar_cache).
    calendar_version: Mapped[int] = mapped_column(BigId, default=0, server_default=text("0"))


class BusinessSettings(Base):
    """What staff set up for a business (hours, services, replies, rules...), as one validated document
    (bot/config.py's business model without its channels and secrets). Seeded from the config file once;
    after that this row is the truth. `version` goes up with every save, so every process sees a change
    on its next message and two people saving at once cannot overwrite each other unseen."""

    __tablename__ = "business_settings"
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigId, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SettingsChange(Base):
    """Who changed which settings, when: what each key was and became."""

    __tablename__ = "settings_changes"
    __table_args__ = (Index("ix_settings_changes_business_at", "business_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))  # "Mia Holm", "jola business reseed", "config file"
    section: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(BigId)  # the settings version the change made
    changes: Mapped[list[Any]] = mapped_column(JSON)  # [{"key", "before", "after"}]


class Service(Base):
    """Something a client can book; synced from the business's config."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("business_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class _Resource:
    """What practitioners and rooms share: synced from the config by key; one left out stays, inactive,
    since appointments and time off still point at it."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Practitioner(_Resource, Base):
    """Someone clients book with (their hours and services live in the config)."""

    __tablename__ = "practitioners"
    __table_args__ = (UniqueConstraint("business_id", "key"),)


class Room(_Resource, Base):
    """A room or piece of equipment some services need."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("business_id", "key"),)


class TimeOff(Base):
    """A practitioner away (holiday, illness, a course): `[start_at, end_at)`, not bookable with them."""

    __tablename__ = "time_off"
    __table_args__ = (Index("ix_time_off_business_start", "business_id", "start_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Channel(Base):
    """A connected Meta asset (WhatsApp number, Page, Instagram account) or a local terminal channel."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("kind", "external_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    transport: Mapped[str] = mapped_column(String(16), default="graph")
    # False once Meta's deauthorize callback named the asset: nothing is sent there until an owner turns
    # it back on (a restart does not); `disconnected_at` says since when, for staff.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The Graph API token this channel sends with (from the config or the environment at start), encrypted
    # at rest (storage/sealed.py); None: none stored.
    access_token: Mapped[str | None] = mapped_column(Sealed("channels.access_token"))


class Client(Base):
    """An end client of a business: the record staff see and data-subject rights apply to."""

    __tablename__ = "clients"
    # By phone within a business (staff bookings, same-number records): the business's own rows only.
    __table_args__ = (Index("ix_clients_business_phone", "business_id", "phone"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Sealed("clients.notes"))  # staff's notes; encrypted at rest
    # Made by the business trying its own bot (the playground, `jola chat`): kept out of the client list,
    # statistics and reminders, and never matched with a real client.
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A second path for confirmations and reminders (with a calendar file), when the client gave one.
    email: Mapped[str | None] = mapped_column(String(254))
    # The client said "stop" to reminders and notices by email (per channel: ClientIdentity.opted_out_at).
    email_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Processing restricted (GDPR art. 18): the data is kept and staff see new messages, but the bot
    # answers nothing and no reminder or notice goes out until staff lift it (bot/client_edits.py).
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    restricted_reason: Mapped[str | None] = mapped_column(String(32))  # client_asked|accuracy_contested|...
    restricted_note: Mapped[str | None] = mapped_column(String(200))  # staff's words, with "other"
    restricted_by: Mapped[str | None] = mapped_column(String(64))  # "staff:12", "api"


class ClientIdentity(Base):
    """How a client is known on one channel: the platform's scoped user id and/or a phone number."""

    __tablename__ = "client_identities"
    __table_args__ = (
        UniqueConstraint("business_id", "channel_kind", "external_id"),
        # Records with the same number (a client card's "possibly the same person"), staff bookings by phone.
        Index("ix_client_identities_phone", "business_id", "phone"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    channel_kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(160))
    user_id: Mapped[str | None] = mapped_column(String(160))
    phone: Mapped[str | None] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "stop" on this channel: no reminders or notices here until "start" (answers to their messages go on).
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Staff(Base):
    """A person who works in the staff web app: one business, role `owner` or `staff`."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # case-folded: one account per address
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8))  # owner | staff
    locale: Mapped[str] = mapped_column(String(8))  # the language of the app for this person
    # Part of every session cookie: a new password ends every session signed before it.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The practitioner (config id) whose calendar this person sees first; None: everyone's.
    practitioner: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """A failed login, counted per account and per address (keys are keyed hashes, never the address
    itself) so throttling holds across processes."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "key", "failed_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Conversation(Base):
    """One client on one channel of one business; the model the flow state machines run on."""

    __tablename__ = "conversations"
    __table_args__ = (
        # The staff inbox: newest activity first, for all, for those needing staff, for one person's.
        Index("ix_conversations_activity", "business_id", "last_message_at", "id"),
        Index("ix_conversations_needs_staff", "business_id", "needs_staff", "last_message_at", "id"),
        Index("ix_conversations_assigned", "assigned_to", "last_message_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(240), unique=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("client_identities.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8))
    handled_by: Mapped[str] = mapped_column(String(8), default="bot")
    needs_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)
    last_client_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The colleague the conversation is given to ("mine" in the inbox); None: anyone's.
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class ConversationRead(Base):
    """How far one staff member has read one conversation: what is newer counts as unread for them."""

    __tablename__ = "conversation_reads"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: Mapped[int] = mapped_column(BigId)


class SavedReply(Base):
    """A short answer the business keeps; typing "/" and its shortcut in the reply box offers it."""

    __tablename__ = "saved_replies"
    __table_args__ = (UniqueConstraint("business_id", "shortcut"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    shortcut: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Message(Base):
    """Every message in or out, as logged to the client's record."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_platform", "channel_id", "platform_message_id"),
        # Retention (bot/retention.py): a business's messages older than its age, oldest first.
        Index("ix_messages_business_created", "business_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(8))  # client | bot | staff
    type: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    reply_to_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Appointment(Base):
    """A booking; `status` is one of booked, confirmed, cancelled, completed, no_show."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_business_start", "business_id", "start_at"),
        Index("ix_appointments_client", "client_id", "start_at"),
        Index("ix_appointments_business_changed", "business_id", "changed_in"),
        # The schema's own backstop for "one slot, one booking" per calendar (the business's one, a
        # practitioner's, a room's; a class's places are its seats 1..N): two active appointments never
        # share a start and a seat there. Overlaps are stopped under the calendar lock (storage/appointments).
        Index(
            "uq_appointments_active_start",
            "business_id",
            "start_at",
            "seat",
            unique=True,
            sqlite_where=text("status IN ('booked', 'confirmed') AND practitioner_id IS NULL"),
            postgresql_where=text("status IN ('booked', 'confirmed') AND practitioner_id IS NULL"),
        ),
        Index(
            "uq_appointments_active_practitioner_start",
            "practitioner_id",
            "start_at",
            "seat",
            unique=True,
            sqlite_where=text("status IN ('booked', 'confirmed') AND practitioner_id IS NOT NULL"),
            postgresql_where=text("status IN ('booked', 'confirmed') AND practitioner_id IS NOT NULL"),
        ),
        Index(
            "uq_appointments_active_room_start",
            "room_id",
            "start_at",
            "seat",
            unique=True,
            sqlite_where=text("status IN ('booked', 'confirmed') AND room_id IS NOT NULL"),
            postgresql_where=text("status IN ('booked', 'confirmed') AND room_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(16))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    # 1 for an appointment of its own; in a class, which of the session's places (1..capacity) it holds.
    seat: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # The business's calendar_version its last change raised it to: a process that keeps the calendar in
    # memory reads only what changed since the version it holds (flows/calendar_cache.py).
    changed_in: Mapped[int] = mapped_column(BigId, default=0, server_default=text("0"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppointmentHistory(Base):
    """Who changed an appointment, when, from what to what."""

    __tablename__ = "appointment_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class InboundEvent(Base):
    """The durable inbox: one row per platform item, unique on its provider key (dedupe for >= 7 days)."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        Index("ix_inbound_events_pending", "state", "id"),
        # PostgreSQL only (storage.migrate.only_on): several workers ask for the pending events of the
        # conversations each has locked. On SQLite one dispatcher takes them in order, and keeping such an
        # index current cost each group commit a random page per conversation (benchmarks/README.md).
        Index(
            "ix_inbound_events_pending_conversation",
            "conversation_key",
            "id",
            postgresql_where=text("state = 'pending'"),
            info={"dialects": ("postgresql",)},
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider_key: Mapped[str] = mapped_column(String(300), unique=True)
    business_id: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[int | None] = mapped_column(BigId)
    conversation_key: Mapped[str] = mapped_column(String(240))  # indexed on PostgreSQL only: see above
    kind: Mapped[str] = mapped_column(String(16))  # message | status
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # deferred until then
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HandledEvent(Base):
    """Which inbox events the conversation state already holds. Written in the same transaction as the
    handling, so an event handled just before a crash (its inbox row, in a file of its own on SQLite, not
    yet marked done) is never handled twice."""

    __tablename__ = "handled_events"
    provider_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Reminder(Base):
    """One reminder of one appointment (one per lead time): made when the appointment is booked or moved,
    removed when it is cancelled, claimed once when due (state pending → queued in the transaction that
    queues its message), or skipped or failed with the reason in plain words."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("appointment_id", "lead"),
        Index("ix_reminders_due", "state", "due_at"),
        Index("ix_reminders_business_due", "business_id", "due_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    lead: Mapped[str] = mapped_column(String(16))  # "24h": how long before the start it was meant for
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # after quiet hours moved it earlier
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|queued|skipped|failed
    route: Mapped[str | None] = mapped_column(String(16))  # whatsapp|messenger|instagram|email, once chosen
    kind: Mapped[str | None] = mapped_column(String(16))  # interactive|template|tag|email
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(300))  # why skipped or failed, in plain words
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Email(Base):
    """An email to a client about an appointment (booked, moved, cancelled, or a reminder), queued in the
    transaction that made the change and written when sent, from the appointment as it then stands (and
    to the address the client then has)."""

    __tablename__ = "emails"
    __table_args__ = (Index("ix_emails_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # booked | moved | cancelled | reminder
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Outbox(Base):
    """Replies waiting to be sent; drained by the sender, claimed per conversation in order."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state", "state", "id"),
        # The sender's questions are "open rows of these channels": an index on the channel alone made
        # SQLite read every row ever sent on it (they are kept a day) to find the few open ones.
        Index("ix_outbox_channel_state", "channel_id", "state", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_id: Mapped[str] = mapped_column(ForeignKey("businesses.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the client's 24-hour window closes: free text after it is refused (templates and tags aside).
    window_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what to which record, and when: staff logins (and failed ones), opening a client's record or
    a conversation, exports, erasures, takeovers, corrections, restrictions, settings and account changes
    (bot/audit.py). Ids, field names and codes only, never a name, number, address or message, so erasing
    a client leaves it as it is. Append-only: no code path changes or removes a row, and the database
    refuses UPDATE and DELETE on it (AUDIT_GUARDS, below)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_business", "business_id", "id"),
        Index("ix_audit_events_subject", "business_id", "subject_type", "subject_id", "id"),
        Index("ix_audit_events_actor", "business_id", "actor_id", "id"),
        Index("ix_audit_events_action", "business_id", "action", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None for a failed login with an address no account has (nothing of it is kept).
    business_id: Mapped[str | None] = mapped_column(ForeignKey("businesses.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(8))  # staff | owner | api | cli | system
    # The staff member (no foreign key: a key's ON DELETE would have to change rows here).
    actor_id: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(40))  # "client.viewed", "auth.login_failed", ...
    subject_type: Mapped[str | None] = mapped_column(String(24))  # client | conversation | staff | ...
    subject_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ids, field names, codes; no values


# The database itself refuses to change or remove audit rows; made with the table (create_all, for new
# databases) and by migration 0015 (for upgraded ones), which keeps its own copy of these statements.
AUDIT_GUARDS = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ),
    "sqlite": (
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ),
}


def _guard_audit_events() -> None:
    for dialect, statements in AUDIT_GUARDS.items():
        for statement in statements:
            event.listen(AuditEvent.__table__, "after_create", DDL(statement).execute_if(dialect=dialect))


_guard_audit_events()


class PrivacyEvent(Base):
    """A data-subject request carried out (an export, an erasure, Meta's deletion or deauthorize callback):
    what, when, by whom, and the client's id only, never a name, number or message, so the record of an
    erasure holds nothing of what was erased."""

    __tablename__ = "privacy_events"
    __table_args__ = (Index("ix_privacy_events_business_at", "business_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None for a Meta callback that matched no business's client.
    business_id: Mapped[str | None] = mapped_column(ForeignKey("businesses.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # export | erase | meta_deletion | deauthorize | purge
    actor: Mapped[str] = mapped_column(String(64))  # "staff:12", "api", "cli", "meta"
    subject: Mapped[int | None] = mapped_column(BigId)  # the client's id (gone after an erasure)
    # Meta's data deletion callback: the code its status page is asked for.
    confirmation_code: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))  # done | not_found | channels_off | recorded
    # A retention purge: what it removed, counted per kind ({"messages": 120, "inbound_events": 4}).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
