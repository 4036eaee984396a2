"""REST API for a business with practitioners, a room and a class: appointments name who, staff bookings
pick or check a practitioner, time off, and the free starts the bot would offer.

Harbour Clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00
there. Mia and Jonas do massage and physiotherapy (Jonas only on Thursday and Friday mornings); massage
needs the one massage room; Ida holds the yoga class (2 places) on Thursdays at 18:00.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import DatabaseTarget, Jola, SettableClock, make_config, start_jola
from tests.support.fake_graph import FakeGraph

TOKEN = {"Authorization": "Bearer api-token"}
WEEKDAYS = {day: ["08:00-12:00", "13:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
CLINIC = {
    "hours": WEEKDAYS,
    "services": [
        {"id": "massage", "name": "Massage", "duration_minutes": 60},
        {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45},
        {
            "id": "yoga",
            "name": "Yoga",
            "duration_minutes": 60,
            "capacity": 2,
            "sessions": [{"days": ["thu"], "time": "18:00", "practitioner": "ida"}],
        },
    ],
    "practitioners": [
        {"id": "mia", "name": "Mia Holm", "services": ["massage", "physio"]},
        {
            "id": "jonas",
            "name": "Jonas Berg",
            "services": ["massage", "physio"],
            "hours": {"thu": ["08:00-12:00"], "fri": ["08:00-12:00"]},
        },
        {"id": "ida", "name": "Ida Lund", "services": ["yoga"]},
    ],
    "rooms": [{"id": "massage-room", "name": "Massage room", "services": ["massage"]}],
}
THURSDAY_10 = "2026-11-26T10:00:00+01:00"


@pytest.fixture
async def api(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    clock = SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    running = await start_jola(
        make_config(database, fake_graph.url, business=CLINIC), fake_graph, clock=clock
    )
    yield running
    await running.client.close()


async def call(jola: Jola, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = await jola.client.request(method, path, headers=TOKEN, **kwargs)
    if response.status == 204:
        return 204, None
    assert response.content_type == "application/json", await response.text()
    return response.status, await response.json()


async def book(
    jola: Jola, service: str = "physio", start: str = THURSDAY_10, **extra: Any
) -> tuple[int, Any]:
    body = {"service": service, "start": start, "client": {"name": "Ana Berg", "phone": None}, **extra}
    return await call(jola, "POST", "/api/v1/appointments", json=body)


# ------------------------------------------------------------------------------------------ who is there


async def test_practitioners_are_listed_with_their_services(api: Jola) -> None:
    assert await call(api, "GET", "/api/v1/practitioners") == (
        200,
        {
            "practitioners": [
                {"id": "mia", "name": "Mia Holm", "services": ["massage", "physio"]},
                {"id": "jonas", "name": "Jonas Berg", "services": ["massage", "physio"]},
                {"id": "ida", "name": "Ida Lund", "services": ["yoga"]},
            ]
        },
    )


# ------------------------------------------------------------------------------------------ staff bookings


async def test_a_booking_names_its_practitioner_and_room(api: Jola) -> None:
    status, body = await book(api, "massage", practitioner="jonas")
    assert status == 201, body
    assert body["practitioner"] == {"id": "jonas", "name": "Jonas Berg"}
    assert body["room"] == {"id": "massage-room", "name": "Massage room"}
    _, listed = await call(api, "GET", "/api/v1/appointments")
    assert [a["practitioner"]["id"] for a in listed["appointments"]] == ["jonas"]


async def test_without_a_practitioner_the_rule_picks_and_a_third_is_refused(api: Jola) -> None:
    """Mia and Jonas both work Thursday at 10: the first goes to Mia (config order on a tie), the second to
    Jonas, and the third finds both busy."""
    first, second = await book(api), await book(api)
    assert (first[0], second[0]) == (201, 201)
    assert [first[1]["practitioner"]["id"], second[1]["practitioner"]["id"]] == ["mia", "jonas"]
    status, body = await book(api)
    assert status == 409 and body["error"] == "slot taken"
    assert len(body["conflicts"]) == 2


async def test_a_practitioner_who_is_busy_or_does_not_fit_is_refused_plainly(api: Jola) -> None:
    assert (await book(api, practitioner="mia"))[0] == 201
    status, body = await book(api, practitioner="mia", start="2026-11-26T10:30:00+01:00")
    assert status == 409 and body["error"] == "slot taken"
    status, body = await book(api, "yoga", start="2026-11-26T18:00:00+01:00", practitioner="mia")
    assert status == 400 and body["error"].startswith("practitioner mia does not perform yoga")
    status, body = await book(api, practitioner="nobody")
    assert status == 400 and body["error"] == "practitioner must be one of: mia, jonas, ida"


async def test_the_massage_room_is_shared(api: Jola) -> None:
    assert (await book(api, "massage", practitioner="mia"))[0] == 201
    status, body = await book(api, "massage", practitioner="jonas")
    assert (status, body["error"]) == (409, "no room free")
    assert (await book(api, "physio", practitioner="jonas"))[0] == 201


async def test_a_class_fills_to_its_capacity_under_a_race(api: Jola) -> None:
    """Ten staff bookings race for the two places of Thursday's class: two get in, eight hear it is full."""
    results = await asyncio.gather(*(book(api, "yoga", start="2026-11-26T18:00:00+01:00") for _ in range(10)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201] + [409] * 8
    assert {body["error"] for status, body in results if status == 409} == {"class full"}
    status, body = await book(api, "yoga", start="2026-11-26T17:00:00+01:00")
    assert (status, body["error"]) == (400, "start: no yoga session starts then")


async def test_one_time_with_two_practitioners_free_is_booked_twice_under_a_race(api: Jola) -> None:
    results = await asyncio.gather(*(book(api) for _ in range(8)))
    booked = [body["practitioner"]["id"] for status, body in results if status == 201]
    assert sorted(booked) == ["jonas", "mia"]
    assert sum(status == 409 for status, _ in results) == 6


# ------------------------------------------------------------------------------------------ time off


async def test_time_off_by_days_removes_the_practitioner_and_can_be_taken_back(api: Jola) -> None:
    status, period = await call(
        api, "POST", "/api/v1/practitioners/mia/time-off", json={"from": "2026-11-26", "to": "2026-11-26"}
    )
    assert status == 201, period
    assert (period["start"], period["end"], period["affected"]) == (
        "2026-11-26T00:00:00+01:00",
        "2026-11-27T00:00:00+01:00",
        [],
    )
    status, body = await book(api, practitioner="mia")
    assert (status, body["error"]) == (409, "practitioner away")
    _, free = await call(api, "GET", "/api/v1/availability?service=physio&from=2026-11-26&to=2026-11-26")
    assert {s["practitioner"]["id"] for s in free["slots"]} == {"jonas"}

    _, listed = await call(api, "GET", "/api/v1/practitioners/mia/time-off")
    assert [p["id"] for p in listed["time_off"]] == [period["id"]]
    assert await call(api, "DELETE", f"/api/v1/practitioners/mia/time-off/{period['id']}") == (204, None)
    assert (await book(api, practitioner="mia"))[0] == 201


async def test_time_off_over_booked_appointments_names_them_and_cancels_nothing(api: Jola) -> None:
    _, booked = await book(api, practitioner="mia")
    period = {"from": "2026-11-26T09:00", "to": "2026-11-26T12:00", "note": "course"}
    status, body = await call(api, "POST", "/api/v1/practitioners/mia/time-off", json=period)
    assert status == 409
    assert [a["id"] for a in body["appointments"]] == [booked["id"]]
    status, body = await call(
        api, "POST", "/api/v1/practitioners/mia/time-off", json={**period, "keep_appointments": True}
    )
    assert status == 201 and [a["id"] for a in body["affected"]] == [booked["id"]]
    _, listed = await call(api, "GET", "/api/v1/appointments")
    assert [a["status"] for a in listed["appointments"]] == ["booked"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"from": "2026-11-27", "to": "2026-11-26"}, "to must be after from"),
        ({"from": "soon", "to": "2026-11-26"}, "from must be an ISO 8601 date or date-time"),
        ({"to": "2026-11-26"}, "from must be an ISO 8601 date or date-time"),
        ({"from": "2026-11-26", "to": "2026-11-26", "note": 5}, "note must be text"),
        ({"from": "2026-11-26", "to": "2026-11-26", "keep_appointments": "yes"}, "keep_appointments must be"),
        ({"from": "2026-01-01", "to": "2028-01-01"}, "to must be within a year of from"),
    ],
)
async def test_bad_time_off_is_a_400_naming_the_field(api: Jola, body: dict[str, Any], error: str) -> None:
    status, answer = await call(api, "POST", "/api/v1/practitioners/mia/time-off", json=body)
    assert status == 400 and answer["error"].startswith(error), answer


async def test_unknown_practitioners_and_periods_are_404(api: Jola) -> None:
    period = {"from": "2026-11-26", "to": "2026-11-26"}
    assert (await call(api, "POST", "/api/v1/practitioners/bo/time-off", json=period))[0] == 404
    assert (await call(api, "GET", "/api/v1/practitioners/bo/time-off"))[0] == 404
    assert (await call(api, "DELETE", "/api/v1/practitioners/mia/time-off/999"))[0] == 404


# ------------------------------------------------------------------------------------------ availability


async def test_availability_is_what_the_bot_offers(api: Jola) -> None:
    status, body = await call(api, "GET", "/api/v1/availability?service=physio&from=2026-11-26&to=2026-11-26")
    assert status == 200
    first = body["slots"][0]
    assert first == {
        "start": "2026-11-26T08:00:00+01:00",
        "practitioner": {"id": "mia", "name": "Mia Holm"},
        "practitioners": [{"id": "mia", "name": "Mia Holm"}, {"id": "jonas", "name": "Jonas Berg"}],
        "places_left": None,
    }
    afternoon = [s for s in body["slots"] if s["start"] >= "2026-11-26T13"]
    assert afternoon and all(s["practitioners"] == [{"id": "mia", "name": "Mia Holm"}] for s in afternoon)

    _, jonas = await call(
        api, "GET", "/api/v1/availability?service=physio&from=2026-11-26&to=2026-11-26&practitioner=jonas"
    )
    assert {s["start"][11:13] for s in jonas["slots"]} <= {"08", "09", "10", "11"}


async def test_availability_of_a_class_counts_its_places(api: Jola) -> None:
    query = "/api/v1/availability?service=yoga&from=2026-11-26&to=2026-12-03"
    _, before = await call(api, "GET", query)
    assert [(s["start"], s["places_left"]) for s in before["slots"]] == [
        ("2026-11-26T18:00:00+01:00", 2),
        ("2026-12-03T18:00:00+01:00", 2),
    ]
    await book(api, "yoga", start="2026-11-26T18:00:00+01:00")
    _, one = await call(api, "GET", query)
    assert one["slots"][0]["places_left"] == 1
    await book(api, "yoga", start="2026-11-26T18:00:00+01:00")
    _, full = await call(api, "GET", query)
    assert [s["start"] for s in full["slots"]] == ["2026-12-03T18:00:00+01:00"]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("service=yoga&practitioner=mia", "practitioner mia does not perform yoga"),
        ("service=nails", "service must be one of"),
        ("service=physio&practitioner=bo", "practitioner must be one of"),
        ("service=physio&from=2026-11-27&to=2026-11-26", "to must be after from"),
        ("service=physio&from=tomorrow", "from must be an ISO 8601"),
    ],
)
async def test_bad_availability_queries_are_400(api: Jola, query: str, error: str) -> None:
    status, body = await call(api, "GET", f"/api/v1/availability?{query}")
    assert status == 400 and body["error"].startswith(error), body


async def test_two_processes_racing_for_the_last_places_book_no_more_than_there_are(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Two Jola servers on one database (their own engines, locks and kept calendars), as two processes
    would be: the class's two places go to two bookings in all, whichever server takes them."""
    clock = SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    config = make_config(database, fake_graph.url, business=CLINIC)
    first = await start_jola(config, fake_graph, clock=clock)
    second = await start_jola(config, fake_graph, clock=clock)
    try:
        class_start = "2026-11-26T18:00:00+01:00"
        await call(first, "GET", "/api/v1/availability?service=yoga")  # both keep a calendar first
        await call(second, "GET", "/api/v1/availability?service=yoga")
        results = await asyncio.gather(
            *(book(server, "yoga", start=class_start) for server in (first, second) * 5)
        )
        assert sorted(status for status, _ in results) == [201, 201] + [409] * 8
        for server in (first, second):
            _, free = await call(
                server, "GET", "/api/v1/availability?service=yoga&from=2026-11-26&to=2026-11-26"
            )
            assert free["slots"] == []  # each sees the other's bookings
            status, _ = await book(server, "physio", practitioner="mia")
            assert status in (201, 409)
        _, listed = await call(first, "GET", "/api/v1/appointments")
        assert sum(a["practitioner"]["id"] == "mia" for a in listed["appointments"]) == 1
    finally:
        await first.client.close()
        await second.client.close()
