"""Appointments: the calendar lock, busy time, a client's upcoming bookings, and changes with their history.

"One slot, one booking" is enforced here, in the booking transaction: the caller takes `lock_calendar`
(SQLite: the write lock already taken at BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock
per business) and only then reads the busy time and inserts. A partial unique index on the start of active
appointments backs it up in the schema itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import emails, reminders
from storage.models import (
    Appointment,
    AppointmentHistory,
    Business,
    Client,
    ClientIdentity,
    Practitioner,
    Room,
    Service,
)

ACTIVE = ("booked", "confirmed")
STATUSES = ("booked", "confirmed", "cancelled", "completed", "no_show")


class SlotTaken(Exception):
    """Another active appointment already holds (part of) this time."""


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment as flows and the API show it."""

    id: int
    business_id: str
    status: str
    start: datetime
    end: datetime
    service_id: int
    service_key: str
    service_name: str
    client_id: int | None
    client_name: str | None
    client_phone: str | None
    channel: str | None
    practitioner_key: str | None = None
    practitioner_name: str | None = None
    room_key: str | None = None
    room_name: str | None = None
    client_test: bool | None = False  # booked by the business trying its own bot (the playground)


@dataclass(frozen=True, slots=True)
class Booked:
    """An active appointment as availability reads it: its time and what it keeps busy."""

    start: datetime
    end: datetime
    service: str
    practitioner: str | None
    room: str | None
    id: int = 0


async def lock_calendar(session: AsyncSession, business_id: str) -> None:
    """Serialise bookings of one business until this transaction ends (a no-op on SQLite, which already
    holds the database's write lock)."""
    if session.bind.dialect.name == "sqlite":
        return
    await session.execute(
        # Scoped by schema: advisory locks are per database, and deployments may share one.
        text("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || :k, 0))"),
        {"k": f":calendar:{business_id}"},
    )


def _booked(*extra: Any) -> Any:
    """The columns of a `Booked` (and `extra`), with the keys of its service, practitioner and room."""
    a, s, p, r = Appointment, Service, Practitioner, Room
    return (
        select(a.start_at, a.end_at, s.key, p.key, r.key, a.id, *extra)
        .join(s, s.id == a.service_id)
        .outerjoin(p, p.id == a.practitioner_id)
        .outerjoin(r, r.id == a.room_id)
    )


async def booked_between(
    session: AsyncSession,
    business_id: str,
    start: datetime,
    end: datetime,
    *,
    ignore: int | None = None,
    only: tuple[Sequence[str], Sequence[str]] | None = None,
) -> list[Booked]:
    """Every active appointment that overlaps [start, end), with its service, practitioner and room keys.
    `only` (practitioner keys, room keys): just the appointments that keep one of those busy, and those
    with no practitioner (which keep everyone busy)."""
    a, p, r = Appointment, Practitioner, Room
    query = (
        _booked()
        .where(a.business_id == business_id, a.status.in_(ACTIVE), a.start_at < end, a.end_at > start)
        .order_by(a.start_at)
    )
    if ignore is not None:
        query = query.where(a.id != ignore)
    if only is not None:
        people, rooms = only
        query = query.where(or_(a.practitioner_id.is_(None), p.key.in_(people), r.key.in_(rooms)))
    # Core, not the ORM's result machinery: a busy clinic's horizon is thousands of rows, read per offer.
    connection = await session.connection()
    return [Booked(*row) for row in await connection.execute(query)]


async def calendar_version(session: AsyncSession, business_id: str) -> int:
    """See `Business.calendar_version`."""
    result = await session.execute(select(Business.calendar_version).where(Business.id == business_id))
    return int(result.scalar() or 0)


async def calendar_changed(session: AsyncSession, business_id: str) -> int:
    """Called in every transaction that changes busy time (bookings, moves, statuses, time off); returns
    the new version, which the changed appointment keeps in `changed_in`. Takes the calendar lock first:
    versions are then raised one transaction at a time, in commit order, and every transaction takes the
    two locks in the same order. Marks the session, whose reads now see what it has not committed (and may
    never commit). Appointments are never deleted: one that goes is cancelled, so a reader sees it go."""
    await lock_calendar(session, business_id)
    session.info["calendar_changed"] = True
    result = await session.execute(
        update(Business)
        .where(Business.id == business_id)
        .values(calendar_version=Business.calendar_version + 1)
        .returning(Business.calendar_version)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one())


async def changed_since(session: AsyncSession, business_id: str, version: int) -> list[tuple[Booked, bool]]:
    """Every appointment changed after `version`, and whether it is active now."""
    a = Appointment
    query = _booked(a.status).where(a.business_id == business_id, a.changed_in > version)
    connection = await session.connection()
    return [(Booked(*row[:6]), row[6] in ACTIVE) for row in await connection.execute(query)]


async def resource_ids(session: AsyncSession, business_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Practitioner and room keys to their row ids."""
    found: list[dict[str, int]] = []
    for model in (Practitioner, Room):
        rows = await session.execute(select(model.key, model.id).where(model.business_id == business_id))
        found.append({key: row_id for key, row_id in rows})
    return found[0], found[1]


async def seats_taken(session: AsyncSession, business_id: str, service_id: int, start: datetime) -> set[int]:
    """The places of a class session that active appointments hold."""
    a = Appointment
    rows = await session.execute(
        select(a.seat).where(
            a.business_id == business_id,
            a.service_id == service_id,
            a.start_at == start,
            a.status.in_(ACTIVE),
        )
    )
    return {int(seat) for seat in rows.scalars()}


async def last_seen_with(
    session: AsyncSession, business_id: str, client_id: int, now: datetime
) -> str | None:
    """The practitioner of the client's latest appointment that has already begun and was not cancelled
    (for "the same as last time", and to keep a client with someone they know)."""
    a, p = Appointment, Practitioner
    result = await session.execute(
        select(p.key)
        .select_from(a)
        .join(p, p.id == a.practitioner_id)
        .where(
            a.business_id == business_id,
            a.client_id == client_id,
            a.start_at <= now,
            a.status.in_(("booked", "confirmed", "completed")),
        )
        .order_by(a.start_at.desc())
        .limit(1)
    )
    return result.scalar()


def _views() -> Any:
    a, s, c, p, r = Appointment, Service, Client, Practitioner, Room
    return (
        select(
            a.id,
            a.business_id,
            a.status,
            a.start_at,
            a.end_at,
            a.service_id,
            s.key,
            s.name,
            a.client_id,
            c.name,
            c.phone,
            a.channel,
            p.key,
            p.name,
            r.key,
            r.name,
            c.test,
        )
        .join(s, s.id == a.service_id)
        .outerjoin(c, c.id == a.client_id)
        .outerjoin(p, p.id == a.practitioner_id)
        .outerjoin(r, r.id == a.room_id)
    )


async def upcoming_for_client(
    session: AsyncSession, business_id: str, client_id: int, now: datetime
) -> list[AppointmentView]:
    """The client's active appointments that have not started yet, soonest first."""
    a = Appointment
    result = await session.execute(
        _views()
        .where(a.business_id == business_id, a.client_id == client_id, a.status.in_(ACTIVE), a.start_at > now)
        .order_by(a.start_at)
    )
    return [AppointmentView(*row) for row in result]


async def get_appointment(
    session: AsyncSession, business_id: str, appointment_id: int
) -> AppointmentView | None:
    result = await session.execute(
        _views().where(Appointment.business_id == business_id, Appointment.id == appointment_id)
    )
    row = result.first()
    return AppointmentView(*row) if row else None


async def list_appointments(
    session: AsyncSession,
    business_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    client_id: int | None = None,
    limit: int = 1000,
    test: bool | None = None,
) -> list[AppointmentView]:
    """`test=False`: real clients' appointments only (lists and figures); `test=None`: all of them, the
    playground's test bookings too (they hold their time in the calendar)."""
    a = Appointment
    query = _views().where(a.business_id == business_id)
    if test is False:
        query = query.where(or_(Client.test.is_(None), Client.test.is_(False)))
    elif test:
        query = query.where(Client.test.is_(True))
    if start is not None:
        query = query.where(a.end_at > start)
    if end is not None:
        query = query.where(a.start_at < end)
    if status is not None:
        query = query.where(a.status == status)
    if client_id is not None:
        query = query.where(a.client_id == client_id)
    result = await session.execute(query.order_by(a.start_at, a.id).limit(limit))
    return [AppointmentView(*row) for row in result]


async def service_id(session: AsyncSession, business_id: str, key: str) -> int | None:
    result = await session.execute(
        select(Service.id).where(Service.business_id == business_id, Service.key == key)
    )
    return result.scalar()


async def insert_appointment(
    session: AsyncSession,
    *,
    business_id: str,
    service_id: int,
    client_id: int | None,
    channel: str | None,
    start: datetime,
    end: datetime,
    actor: str,
    now: datetime,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    seat: int = 1,
) -> int:
    """Insert a booked appointment and its first history line. The caller holds the calendar lock and has
    checked the time is free; a clash that slipped through still fails on a unique index."""
    version = await calendar_changed(session, business_id)
    appointment = Appointment(
        business_id=business_id,
        service_id=service_id,
        client_id=client_id,
        channel=channel,
        practitioner_id=practitioner_id,
        room_id=room_id,
        seat=seat,
        changed_in=version,
        start_at=start,
        end_at=end,
        status="booked",
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    await session.flush()
    note_on(
        session,
        appointment.id,
        actor=actor,
        action="booked",
        details={"start": start.isoformat(), "end": end.isoformat()}
        | ({"practitioner_id": practitioner_id} if practitioner_id is not None else {})
        | ({"room_id": room_id} if room_id is not None else {}),
        now=now,
        to_status="booked",
    )
    await reminders.plan(session, business_id, appointment.id, now)
    await emails.queue(session, business_id, appointment.id, "booked", now)
    return appointment.id


async def change_status(
    session: AsyncSession,
    business_id: str,
    appointment_id: int,
    *,
    to: str,
    actor: str,
    action: str,
    now: datetime,
    only_from: tuple[str, ...] = ACTIVE,
) -> bool:
    """Move an appointment to status `to` (only from `only_from`), with a history line; False if it was not
    in one of those statuses."""
    current = await session.execute(
        select(Appointment.status).where(
            Appointment.business_id == business_id, Appointment.id == appointment_id
        )
    )
    before = current.scalar()
    if before is None or before not in only_from:
        return False
    values: dict[str, Any] = {"status": to, "updated_at": now}
    if (before in ACTIVE) != (to in ACTIVE):
        values["changed_in"] = await calendar_changed(session, business_id)
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    note_on(
        session,
        appointment_id,
        actor=actor,
        action=action,
        details=None,
        now=now,
        from_status=before,
        to_status=to,
    )
    if to not in ACTIVE:
        await reminders.drop(session, appointment_id)
    if to == "cancelled":
        await emails.queue(session, business_id, appointment_id, "cancelled", now)
    return True


async def move_appointment(
    session: AsyncSession,
    business_id: str,
    appointment_id: int,
    *,
    start: datetime,
    end: datetime,
    actor: str,
    now: datetime,
    practitioner_id: int | None = None,
    room_id: int | None = None,
    seat: int = 1,
) -> bool:
    """Reschedule: new times (and the practitioner and room they are with), back to `booked` (a moved
    appointment needs reconfirming), with history."""
    a = Appointment
    current = (
        await session.execute(
            select(a.status, a.start_at, a.end_at, a.practitioner_id, a.room_id).where(
                a.business_id == business_id, a.id == appointment_id
            )
        )
    ).first()
    if current is None or current[0] not in ACTIVE:
        return False
    version = await calendar_changed(session, business_id)
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id)
        .values(
            changed_in=version,
            start_at=start,
            end_at=end,
            status="booked",
            updated_at=now,
            practitioner_id=practitioner_id,
            room_id=room_id,
            seat=seat,
        )
        .execution_options(synchronize_session=False)
    )
    moved_from: dict[str, Any] = {"start": current[1].isoformat(), "end": current[2].isoformat()}
    moved_to: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    if (current[3], current[4]) != (practitioner_id, room_id):
        moved_from |= {"practitioner_id": current[3], "room_id": current[4]}
        moved_to |= {"practitioner_id": practitioner_id, "room_id": room_id}
    note_on(
        session,
        appointment_id,
        actor=actor,
        action="rescheduled",
        details={"from": moved_from, "to": moved_to},
        now=now,
        from_status=current[0],
        to_status="booked",
    )
    await reminders.plan(session, business_id, appointment_id, now)
    await emails.queue(session, business_id, appointment_id, "moved", now)
    return True


def note_on(
    session: AsyncSession,
    appointment_id: int,
    *,
    actor: str,
    action: str,
    details: dict[str, Any] | None,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
) -> None:
    """A line in the appointment's history: a change of status or time, or a note that changes nothing
    ("running late")."""
    session.add(
        AppointmentHistory(
            appointment_id=appointment_id,
            at=now,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            details=details,
        )
    )


async def history_for(session: AsyncSession, appointment_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Every change of these appointments, oldest first."""
    if not appointment_ids:
        return {}
    h = AppointmentHistory
    result = await session.execute(
        select(h.appointment_id, h.at, h.actor, h.action, h.from_status, h.to_status, h.details)
        .where(h.appointment_id.in_(appointment_ids))
        .order_by(h.at, h.id)
    )
    history: dict[int, list[dict[str, Any]]] = {i: [] for i in appointment_ids}
    for appointment_id, at, actor, action, before, after, details in result:
        history[appointment_id].append(
            {"at": at, "actor": actor, "action": action, "from": before, "to": after, "details": details}
        )
    return history


async def set_client_name(session: AsyncSession, client_id: int, name: str, now: datetime) -> None:
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(name=name, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_client_phone(session: AsyncSession, client_id: int, phone: str, now: datetime) -> None:
    """The number a client gave (Messenger, Instagram); it never replaces one the channel vouches for."""
    await session.execute(
        update(Client)
        .where(Client.id == client_id, Client.phone.is_(None))
        .values(phone=phone, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_client_locale(session: AsyncSession, client_id: int, locale: str, now: datetime) -> None:
    await session.execute(
        update(Client)
        .where(Client.id == client_id, or_(Client.locale.is_(None), Client.locale != locale))
        .values(locale=locale, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def find_or_create_client(
    session: AsyncSession, business_id: str, *, name: str | None, phone: str | None, now: datetime
) -> int:
    """For staff-made bookings: the client with this phone (WhatsApp identities included), or a new one;
    never a test client (the playground's), whatever number it was given."""
    if phone:
        found = await session.execute(
            select(Client.id)
            .where(Client.business_id == business_id, Client.phone == phone, Client.test.is_(False))
            .order_by(Client.id)
            .limit(1)
        )
        client_id = found.scalar()
        if client_id is None:
            found = await session.execute(
                select(ClientIdentity.client_id)
                .join(Client, Client.id == ClientIdentity.client_id)
                .where(
                    ClientIdentity.business_id == business_id,
                    ClientIdentity.phone == phone,
                    Client.test.is_(False),
                )
                .limit(1)
            )
            client_id = found.scalar()
        if client_id is not None:
            return int(client_id)
    client = Client(business_id=business_id, name=name, phone=phone, created_at=now, updated_at=now)
    session.add(client)
    await session.flush()
    return client.id


async def count_active(session: AsyncSession, business_id: str) -> int:
    result = await session.execute(
        select(func.count()).where(Appointment.business_id == business_id, Appointment.status.in_(ACTIVE))
    )
    return int(result.scalar() or 0)
