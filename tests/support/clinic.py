"""The clinic the booking conversations run against, and the helpers their tests share.

Open weekdays 08:00-12:00 and 13:00-17:00 (Europe/Copenhagen), two hours' notice, 60 days ahead; the clock
stands at Wednesday 25 November 2026, 09:00 there, until a test moves it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from storage.appointments import list_appointments
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph

WEEKDAYS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Copenhagen
BUSINESS = "harbour-clinic"


@contextlib.asynccontextmanager
async def clinic(
    database: DatabaseTarget,
    graph: FakeGraph,
    now: datetime = NOW,
    booking: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
    **business: Any,
) -> AsyncIterator[tuple[Jola, SettableClock]]:
    """A running Jola on a clock the test can move; `business` overrides the clinic's config, `booking`
    the booking rules, `sections` other parts of the config ({"smtp": {...}})."""
    clock = SettableClock(now)
    rules = {"booking": booking} if booking else {}
    config = make_config(
        database, graph.url, business={"hours": WEEKDAYS, **rules, **business}, **(sections or {})
    )
    running = await start_jola(config, graph, clock=clock)
    try:
        yield running, clock
    finally:
        await running.client.close()


async def appointments(jola: Jola) -> list[Any]:
    async with jola.db.read() as session:
        return await list_appointments(session, BUSINESS)


async def booked_client(
    jola: Jola, text: str = "massage tomorrow at 10", confirm: str = "Yes, book it", **who: Any
) -> WhatsAppClient:
    """A client who has just booked `text` on WhatsApp."""
    client = WhatsAppClient(jola, **who)
    await client.says(text)
    await client.taps(confirm)
    return client
