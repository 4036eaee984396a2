"""Config → database at start (businesses, their first settings, channels); profiles for the flows."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.business_settings import business_with, document_of, seed_if_new, sync_resources
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.config import WEEKDAYS, BusinessConfig, Config, ConfigError, parse_duration
from flows.availability import BookingRules, narrowed
from flows.context import (
    BusinessProfile,
    FaqInfo,
    Holiday,
    PractitionerInfo,
    RoomInfo,
    ServiceInfo,
    SessionInfo,
)
from flows.messages import ChannelKind
from storage import business_settings as settings_store
from storage.db import Database
from storage.models import Business, Channel

log = logging.getLogger(__name__)


async def sync_tenants(db: Database, config: Config, clock: Clock) -> ChannelDirectory:
    """Make the database know the config's businesses and channels; returns where each channel's
    deliveries belong. A business's settings come from the file the first time only (then staff edit them,
    bot/business_settings.py); the rows flows book against follow the stored settings."""
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
                await session.flush()
            await seed_if_new(session, b, now)
            stored = await settings_store.load(session, b.id)
            settings = b
            if stored is not None:
                try:
                    settings = business_with(b, stored.document)
                except ConfigError:
                    log.error("event=settings.unusable business=%s using=config_file", b.id)
                if document_of(b) != stored.document:
                    log.info("event=settings.config_differs business=%s database=wins", b.id)
            business.name, business.timezone, business.locale = (
                settings.name,
                settings.timezone,
                settings.locale,
            )
            await sync_resources(session, settings)
            for c in b.channels:
                channel = (
                    await session.scalars(
                        select(Channel).where(Channel.kind == c.kind, Channel.external_id == c.external_id)
                    )
                ).first()
                if channel is None:
                    channel = Channel(kind=c.kind, external_id=c.external_id, created_at=now, active=True)
                    session.add(channel)
                # `active` stays as it is: a channel Meta disconnected waits for an owner, not a restart.
                channel.business_id, channel.transport = b.id, "graph"
                # The token is kept encrypted in the row: the config's (or environment's) when it gives
                # one (written only when it changed), else the one stored before.
                if c.access_token and channel.access_token != c.access_token:
                    channel.access_token = c.access_token
                await session.flush()
                directory.add(
                    ChannelInfo(
                        id=channel.id,
                        business_id=b.id,
                        kind=ChannelKind(c.kind),
                        external_id=c.external_id,
                        access_token=c.access_token or channel.access_token or "",
                    )
                )
    return directory


# Channels on which the business tries its own bot: whoever writes there is a test client (Client.test),
# kept out of the inbox, the client list, the statistics and reminders, never matched with a real client.
TEST_TRANSPORTS = frozenset({"terminal", "playground"})


async def local_channel(
    db: Database, business_id: str, kind: str, clock: Clock, transport: str = "terminal"
) -> ChannelInfo:
    """A channel that lives in this process, with no Graph API behind it: the terminal of `jola chat`, or
    the staff app's playground (`transport`). Same pipeline as the real channels."""
    external_id = f"{transport}:{business_id}:{kind}"
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
                transport=transport,
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
            transport=transport,
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
        closed=[day for holiday in b.holidays for day in holiday.days()],
    )
    return BusinessProfile(
        id=b.id,
        name=b.name,
        locale=b.locale,
        timezone=b.timezone,
        greeting=b.replies.greeting,
        away=b.replies.away,
        phone=b.phone,
        address=b.address,
        greeting_channels=frozenset(b.replies.greeting_channels),
        away_channels=frozenset(b.replies.away_channels),
        holidays=tuple(Holiday(h.start, h.last, h.name) for h in sorted(b.holidays, key=lambda h: h.start)),
        services=tuple(
            ServiceInfo(
                s.id,
                s.name,
                s.duration_minutes,
                capacity=s.capacity,
                price=s.price,
                names=tuple(sorted(s.names.items())),
                active=s.active,
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
        faq=tuple(
            FaqInfo(
                tuple(f.keywords),
                f.answer,
                builtin=f.builtin,
                channels=frozenset(f.channels),
                offer_booking=f.offer_booking,
            )
            for f in b.faq
        ),
        currency=b.currency,
    )
