"""Config → database: businesses, services and channels are upserted at start; profiles for the flows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.config import WEEKDAYS, BusinessConfig, Config, parse_duration
from flows.availability import BookingRules, narrowed
from flows.context import BusinessProfile, FaqInfo, PractitionerInfo, RoomInfo, ServiceInfo, SessionInfo
from flows.messages import ChannelKind
from storage.db import Database
from storage.models import Business, Channel, Practitioner, Room, Service


async def sync_tenants(db: Database, config: Config, clock: Clock) -> ChannelDirectory:
    """Make the database match the config's businesses; returns where each channel's deliveries belong."""
    now = clock.now()
    directory = ChannelDirectory()
    async with db.write() as session:
        for b in config.businesses:
            business = await session.get(Business, b.id)
            if business is None:
                business = Business(
                    id=b.id, created_at=now, name=b.name, timezone=b.timezone, locale=b.locale
                )
                session.add(business)
            business.name, business.timezone, business.locale = b.name, b.timezone, b.locale
            await session.flush()
            existing = {
                s.key: s for s in (await session.scalars(select(Service).where(Service.business_id == b.id)))
            }
            for position, s in enumerate(b.services):
                service = existing.pop(s.id, None) or Service(business_id=b.id, key=s.id)
                service.name, service.duration_minutes = s.name, s.duration_minutes
                service.position, service.active = position, True
                session.add(service)
            for stale in existing.values():
                stale.active = False  # appointments still point at it; it is just no longer offered
            await _sync_resources(session, Practitioner, b.id, [(p.id, p.name) for p in b.practitioners])
            await _sync_resources(session, Room, b.id, [(r.id, r.name) for r in b.rooms])
            for c in b.channels:
                channel = (
                    await session.scalars(
                        select(Channel).where(Channel.kind == c.kind, Channel.external_id == c.external_id)
                    )
                ).first()
                if channel is None:
                    channel = Channel(kind=c.kind, external_id=c.external_id, created_at=now)
                    session.add(channel)
                channel.business_id, channel.transport, channel.active = b.id, "graph", True
                await session.flush()
                directory.add(
                    ChannelInfo(
                        id=channel.id,
                        business_id=b.id,
                        kind=ChannelKind(c.kind),
                        external_id=c.external_id,
                        access_token=c.access_token,
                    )
                )
    return directory


async def _sync_resources(
    session: AsyncSession,
    model: type[Practitioner] | type[Room],
    business_id: str,
    wanted: list[tuple[str, str]],
) -> None:
    """Practitioners or rooms as the config lists them; one left out is kept inactive, since appointments
    and time off still point at it."""
    existing = {
        r.key: r for r in await session.scalars(select(model).where(model.business_id == business_id))
    }
    for position, (key, name) in enumerate(wanted):
        row = existing.pop(key, None) or model(business_id=business_id, key=key)
        row.name, row.position, row.active = name, position, True
        session.add(row)
    for stale in existing.values():
        stale.active = False


async def local_channel(db: Database, business_id: str, kind: str, clock: Clock) -> ChannelInfo:
    """A channel that lives in this terminal (jola chat): same pipeline, no Graph API behind it."""
    external_id = f"terminal:{business_id}:{kind}"
    async with db.write() as session:
        channel = (
            await session.scalars(
                select(Channel).where(Channel.kind == kind, Channel.external_id == external_id)
            )
        ).first()
        if channel is None:
            channel = Channel(
                kind=kind,
                external_id=external_id,
                business_id=business_id,
                transport="terminal",
                active=True,
                created_at=clock.now(),
            )
            session.add(channel)
            await session.flush()
        return ChannelInfo(
            id=channel.id,
            business_id=business_id,
            kind=ChannelKind(kind),
            external_id=external_id,
            transport="terminal",
        )


def business_profiles(config: Config) -> dict[str, BusinessProfile]:
    return {b.id: business_profile(b) for b in config.businesses}


def business_profile(b: BusinessConfig) -> BusinessProfile:
    rules = BookingRules.from_strings(
        timezone=b.timezone,
        hours=b.hours,
        slot_step_minutes=b.booking.slot_step_minutes,
        buffer_minutes=b.booking.buffer_minutes,
        min_notice=parse_duration(b.booking.min_notice),
        max_ahead=parse_duration(b.booking.max_ahead),
    )
    return BusinessProfile(
        id=b.id,
        name=b.name,
        locale=b.locale,
        timezone=b.timezone,
        greeting=b.replies.greeting,
        services=tuple(
            ServiceInfo(
                s.id,
                s.name,
                s.duration_minutes,
                capacity=s.capacity,
                price=s.price,
                sessions=tuple(
                    SessionInfo(
                        at=session.at,
                        weekdays=tuple(WEEKDAYS.index(day) for day in session.days or ()),
                        on=session.date,
                        practitioner=session.practitioner,
                        room=session.room,
                    )
                    for session in s.sessions
                ),
            )
            for s in b.services
        ),
        rules=rules,
        ask_phone=b.booking.ask_phone,
        practitioners=tuple(
            PractitionerInfo(
                key=p.id,
                name=p.name,
                services=None if p.services is None else frozenset(p.services),
                rules=rules if p.hours is None else narrowed(rules, p.hours),
            )
            for p in b.practitioners
        ),
        rooms=tuple(RoomInfo(r.id, r.name, frozenset(r.services)) for r in b.rooms),
        faq=tuple(FaqInfo(tuple(f.keywords), f.answer) for f in b.faq),
        currency=b.currency,
    )
