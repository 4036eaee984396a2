"""The calendar kept in memory (flows/calendar_cache.py) answers exactly what the database would, after
bookings, moves and cancellations made anywhere: by this process, by another one, or by a transaction that
rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import Clock
from bot.tenants import business_profile, sync_tenants
from flows.calendar_cache import CalendarCache
from flows.desk import Desk
from storage import appointments as store
from storage.db import Database
from storage.migrate import upgrade
from storage.sealed import Keyring
from tests.conftest import TEST_ENCRYPTION_KEY, DatabaseTarget, make_config

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Copenhagen
WEEKDAYS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


class Fixed(Clock):
    def now(self) -> datetime:
        return NOW


@pytest.fixture
async def clinic(database: DatabaseTarget) -> AsyncIterator[tuple[Database, object]]:
    config = make_config(
        database,
        business={
            "hours": WEEKDAYS,
            "practitioners": [{"id": "mia", "name": "Mia Holm"}, {"id": "jonas", "name": "Jonas Berg"}],
        },
    )
    db = Database(database.url, schema=database.schema, keyring=Keyring([TEST_ENCRYPTION_KEY]))
    await upgrade(db)
    await sync_tenants(db, config, Fixed())
    async with db.write() as session:
        assert (
            await store.find_or_create_client(session, "harbour-clinic", name="Anna", phone=None, now=NOW)
            == 1
        )
    try:
        yield db, business_profile(config.businesses[0])
    finally:
        await db.dispose()


async def booked_ids(db: Database, profile: object, cache: CalendarCache | None) -> list[int]:
    async with db.read() as session:
        desk = Desk(session, profile, 0, "whatsapp", NOW, cache=cache)  # type: ignore[arg-type]
        calendar_rows = await desk._booked(NOW, NOW + timedelta(days=60), None, None)
    return sorted(b.id for b in calendar_rows)


async def book(db: Database, profile: object, hour: int, who: str) -> int:
    async with db.write() as session:
        desk = Desk(session, profile, 1, "whatsapp", NOW)  # type: ignore[arg-type]
        service = profile.services[0]  # type: ignore[attr-defined]
        start = datetime(2026, 11, 26, hour, tzinfo=UTC)
        assert await desk.is_free(service, start, lock=True, who=who)
        return await desk.book(service, start, "Anna", practitioner=who)


async def test_kept_calendars_follow_every_change_made_anywhere(clinic) -> None:  # type: ignore[no-untyped-def]
    """Two processes' caches and the database agree after each change, whoever made it."""
    db, profile = clinic
    here, there = CalendarCache(), CalendarCache()
    assert await booked_ids(db, profile, here) == await booked_ids(db, profile, None) == []

    first = await book(db, profile, 9, "mia")
    second = await book(db, profile, 9, "jonas")
    for cache in (here, there, None):
        assert await booked_ids(db, profile, cache) == sorted([first, second])

    async with db.write() as session:
        desk = Desk(session, profile, 1, "whatsapp", NOW)
        view = await desk.appointment(first)
        assert view is not None
        await desk.move(view, datetime(2026, 11, 27, 9, tzinfo=UTC), "mia")
        await desk.cancel(second)
    for cache in (here, there, None):
        assert await booked_ids(db, profile, cache) == [first]
    async with db.read() as session:
        [kept] = await Desk(session, profile, 0, "whatsapp", NOW, cache=here)._booked(
            NOW, NOW + timedelta(days=60), None, None
        )
    assert kept.start == datetime(2026, 11, 27, 9, tzinfo=UTC)


async def test_a_booking_that_rolled_back_is_never_kept(clinic) -> None:  # type: ignore[no-untyped-def]
    """A transaction reads its own uncommitted booking; had it been kept, the next booking (which takes
    the same version number) would be hidden behind it."""
    db, profile = clinic
    cache = CalendarCache()
    await booked_ids(db, profile, cache)

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with db.write() as session:
            desk = Desk(session, profile, 1, "whatsapp", NOW, cache=cache)
            service = profile.services[0]
            start = datetime(2026, 11, 26, 9, tzinfo=UTC)
            assert await desk.is_free(service, start, lock=True, who="mia")
            await desk.book(service, start, "Anna", practitioner="mia")
            assert not await desk.is_free(service, start, who="mia")  # it sees its own booking
            raise Abandon
    later = await book(db, profile, 10, "jonas")
    assert await booked_ids(db, profile, cache) == [later] == await booked_ids(db, profile, None)


async def test_a_changed_version_reads_only_what_changed(clinic) -> None:  # type: ignore[no-untyped-def]
    """After a booking elsewhere the cache asks for the changes since its version, not the whole horizon."""
    db, profile = clinic
    cache = CalendarCache()
    await book(db, profile, 9, "mia")
    await booked_ids(db, profile, cache)
    async with db.read() as session:
        held = await store.calendar_version(session, profile.id)
    added = await book(db, profile, 13, "mia")
    async with db.read() as session:
        changes = await store.changed_since(session, profile.id, held)
    assert [(b.id, active) for b, active in changes] == [(added, True)]
    assert added in await booked_ids(db, profile, cache)
