"""The figures on the staff app's overview: bookings made per day and channel, how many conversations
the bot finished without a person, cancellations and no-shows, over a recent span of days. What the
business did trying its own bot (the playground's test clients) is left out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clients import real_clients_only
from storage.models import Appointment, Client, Conversation, Message


@dataclass(frozen=True, slots=True)
class Figures:
    days: list[date]
    booked: dict[date, dict[str, int]]  # day -> channel -> bookings made that day
    conversations: int  # with a client message in the span
    bot_only: int  # of those, without a word from staff in the span
    cancelled: int  # cancellations made in the span
    no_shows: int
    held: int  # appointments in the span, not cancelled


async def figures(
    session: AsyncSession, business_id: str, zone: ZoneInfo, today: date, days: int = 30
) -> Figures:
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    since = datetime.combine(span[0], datetime.min.time(), zone)
    until = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    a = Appointment
    real = real_clients_only(a.client_id, business_id)
    booked: dict[date, dict[str, int]] = {day: {} for day in span}
    made = await session.execute(
        select(a.created_at, a.channel).where(
            a.business_id == business_id, a.created_at >= since, a.created_at < until, real
        )
    )
    for created, channel in made:
        day = created.astimezone(zone).date()
        if day in booked:
            key = channel or "other"
            booked[day][key] = booked[day].get(key, 0) + 1
    outcomes = dict(
        (
            await session.execute(
                select(a.status, func.count())
                .where(a.business_id == business_id, a.start_at >= since, a.start_at < until, real)
                .group_by(a.status)
            )
        ).all()
    )
    # A cancellation counts on the day it was made (it may be of an appointment weeks ahead).
    cancelled = (
        await session.execute(
            select(func.count()).where(
                a.business_id == business_id,
                a.status == "cancelled",
                a.updated_at >= since,
                a.updated_at < until,
                real,
            )
        )
    ).scalar_one()
    m, c = Message, Conversation
    test_clients = select(Client.id).where(Client.business_id == business_id, Client.test.is_(True))
    tests = select(c.id).where(c.business_id == business_id, c.client_id.in_(test_clients))
    active = (
        select(m.conversation_id)
        .where(
            m.business_id == business_id,
            m.direction == "in",
            m.created_at >= since,
            m.created_at < until,
            m.conversation_id.not_in(tests),
        )
        .distinct()
    )
    staffed = (
        select(m.conversation_id)
        .where(m.business_id == business_id, m.author == "staff", m.created_at >= since, m.created_at < until)
        .distinct()
    )
    conversations = int(
        (await session.execute(select(func.count()).select_from(active.subquery()))).scalar_one()
    )
    # A conversation a person wrote in, or that is waiting for one now, was not finished by the bot alone.
    with_staff = int(
        (
            await session.execute(
                select(func.count())
                .select_from(c)
                .where(c.id.in_(active), or_(c.id.in_(staffed), c.needs_staff.is_(True)))
            )
        ).scalar_one()
    )
    return Figures(
        days=span,
        booked=booked,
        conversations=conversations,
        bot_only=conversations - with_staff,
        cancelled=int(cancelled),
        no_shows=int(outcomes.get("no_show", 0)),
        held=int(sum(v for k, v in outcomes.items() if k in ("booked", "confirmed", "completed"))),
    )
