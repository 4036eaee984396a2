"""Staff changing a client's record: correcting their details, restricting (and resuming) the processing of
their data, and their "stop" per channel. The rules and the audit rows are bot/client_edits.py's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, ClientIdentity

DETAILS = ("name", "phone", "email", "locale")


@dataclass(frozen=True, slots=True)
class Details:
    """What staff may correct, as the record holds it now."""

    name: str | None
    phone: str | None
    email: str | None
    locale: str | None
    email_reminders: bool  # False: the client said stop to email (or staff unticked it)


async def details_of(session: AsyncSession, business_id: str, client_id: int) -> Details | None:
    """The client's details, read for update (PostgreSQL: two people saving at once take turns); None
    when the business has no such client. Test clients (the playground) are no one's to correct."""
    query = select(Client.name, Client.phone, Client.email, Client.locale, Client.email_opted_out_at).where(
        Client.business_id == business_id, Client.id == client_id, Client.test.is_(False)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else Details(row[0], row[1], row[2], row[3], row[4] is None)


async def write_details(session: AsyncSession, client_id: int, values: dict[str, Any], now: datetime) -> None:
    """Store corrected details: `values` holds only the changed ones (name, phone, email, locale, and
    email_reminders: False is the client's "stop" to email, from now)."""
    changes = {k: v for k, v in values.items() if k in DETAILS}
    if "email_reminders" in values:
        changes["email_opted_out_at"] = None if values["email_reminders"] else now
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(**changes, updated_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Restriction:
    """Processing of the client's data restricted (GDPR art. 18) since `at`, why, and by whom."""

    at: datetime
    reason: str
    note: str | None
    by: str


async def restriction_of(session: AsyncSession, business_id: str, client_id: int) -> Restriction | None:
    """The client's restriction; None when not restricted (or no such client of the business's)."""
    row = (
        await session.execute(
            select(
                Client.restricted_at, Client.restricted_reason, Client.restricted_note, Client.restricted_by
            ).where(Client.business_id == business_id, Client.id == client_id, Client.test.is_(False))
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return Restriction(row[0], row[1] or "other", row[2], row[3] or "")


async def set_restriction(
    session: AsyncSession, client_id: int, restriction: Restriction | None, now: datetime
) -> None:
    """Restrict (a Restriction) or resume (None) the processing of the client's data."""
    values = (
        {"restricted_at": None, "restricted_reason": None, "restricted_note": None, "restricted_by": None}
        if restriction is None
        else {
            "restricted_at": restriction.at,
            "restricted_reason": restriction.reason,
            "restricted_note": restriction.note,
            "restricted_by": restriction.by[:64],
        }
    )
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def channel_stop(
    session: AsyncSession, business_id: str, client_id: int, channel: str, stop: bool, now: datetime
) -> bool | None:
    """The client's "stop" (or "start") on one channel, as if they had said it; None when the client is
    not known on that channel here, False when it already stood so."""
    i = ClientIdentity
    found = (
        await session.execute(
            select(i.id, i.opted_out_at).where(
                i.business_id == business_id, i.client_id == client_id, i.channel_kind == channel
            )
        )
    ).all()
    if not found:
        return None
    if all((row[1] is not None) == stop for row in found):
        return False
    await session.execute(
        update(i)
        .where(i.id.in_([row[0] for row in found]))
        .values(opted_out_at=now if stop else None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


async def is_restricted(session: AsyncSession, client_id: int | None) -> bool:
    """Whether the processing of the client's data is restricted: nothing may be sent to them."""
    if client_id is None:
        return False
    found = await session.scalar(select(Client.restricted_at).where(Client.id == client_id))
    return found is not None
