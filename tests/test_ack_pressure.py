"""Acks first: during a flood of webhook deliveries the reply path keeps only a small share of the loop."""

from __future__ import annotations

import asyncio

from bot.ack_pressure import MAX_PAUSE, AckPressure
from tests.conftest import Jola


class Stopwatch:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def recording(clock: Stopwatch | None = None) -> tuple[AckPressure, list[float]]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    return AckPressure(flood=3, share=0.2, sleep=sleep, clock=clock or Stopwatch(), hold=0.5), pauses


async def test_no_pause_while_deliveries_keep_up() -> None:
    pressure, pauses = recording()
    with pressure.delivery(), pressure.delivery():
        await pressure.pace(0.05)
    assert pauses == []
    assert pressure.in_flight == 0


async def test_during_a_flood_background_work_waits_four_times_what_it_took_for_a_fifth() -> None:
    clock = Stopwatch()
    pressure, pauses = recording(clock)
    with pressure.delivery(), pressure.delivery(), pressure.delivery():
        assert pressure.flooded
        await pressure.pace(0.01)
        await pressure.pace(10.0)  # never longer than MAX_PAUSE: replies still move
    assert pauses == [0.04, MAX_PAUSE]
    clock.now += 0.6
    assert not pressure.flooded


async def test_a_flood_lasts_a_moment_after_its_peak() -> None:
    """Fast acks make the count swing from 0 to the peak and back within a millisecond; the replies stay
    paced until no peak was seen for the hold time."""
    clock = Stopwatch()
    pressure, pauses = recording(clock)
    with pressure.delivery(), pressure.delivery(), pressure.delivery():
        pass
    assert pressure.in_flight == 0 and pressure.flooded
    clock.now += 0.4
    await pressure.pace(0.01)
    assert pauses == [0.04]
    clock.now += 0.2  # 0.6 s after the peak
    assert not pressure.flooded
    await pressure.pace(0.01)
    assert pauses == [0.04]


async def test_a_failed_delivery_leaves_the_count_right() -> None:
    pressure, _ = recording()
    try:
        with pressure.delivery():
            raise ValueError("bad body")
    except ValueError:
        pass
    assert pressure.in_flight == 0


async def test_webhook_requests_count_as_in_flight_until_answered(jola: Jola) -> None:
    """The webhook holds its place in the count while it waits for the inbox, and gives it back after."""
    from bot import keys
    from tests.support.payloads import whatsapp_text

    pressure = jola.app[keys.PIPELINE].pressure
    seen: list[int] = []
    inbox = jola.app[keys.PIPELINE].inbox
    store = inbox.store

    async def watching_store(events):  # type: ignore[no-untyped-def]
        seen.append(pressure.in_flight)
        return await store(events)

    inbox.store = watching_store  # type: ignore[method-assign]
    await asyncio.gather(*(jola.deliver(whatsapp_text("hi", wamid=f"wamid.P{i}")) for i in range(3)))
    assert max(seen) >= 1
    assert pressure.in_flight == 0
