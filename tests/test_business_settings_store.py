"""The business's settings in the database (bot/business_settings.py, storage/business_settings.py): what
changed between two documents, and a save that either validates and stores a whole new version (with one
record of who changed what, and the rows appointments point at in step) or stores nothing at all."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.business_settings import differences, document_of, save, seed_if_new
from bot.clock import Clock
from bot.config import BusinessConfig, ConfigError
from bot.tenants import sync_tenants
from storage import business_settings as store
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Service, SettingsChange
from storage.sealed import Keyring
from tests.conftest import TEST_ENCRYPTION_KEY, DatabaseTarget, make_config

BUSINESS = "harbour-clinic"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

MASSAGE = {"id": "massage", "name": "Massage", "duration_minutes": 60, "price": 450}
PHYSIO = {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45}

# ------------------------------------------------------------------------------------------- differences


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param({"name": "A"}, {"name": "A"}, [], id="nothing changed"),
        pytest.param(
            {"name": "Harbour"}, {"name": "Harbour Clinic"}, [("name", "Harbour", "Harbour Clinic")], id="top"
        ),
        pytest.param(
            {"booking": {"buffer_minutes": 0, "ask_phone": True}},
            {"booking": {"buffer_minutes": 10, "ask_phone": True}},
            [("booking.buffer_minutes", 0, 10)],
            id="nested key",
        ),
        pytest.param(
            {"replies": {"greeting": None}},
            {"replies": {"greeting": "Hi!", "away": "Closed."}},
            [("replies.greeting", None, "Hi!"), ("replies.away", None, "Closed.")],
            id="keys set and added",
        ),
        pytest.param(
            {"phone": "+45 1234", "address": "Havnegade 12"},
            {"address": "Havnegade 12"},
            [("phone", "+45 1234", None)],
            id="key removed",
        ),
        pytest.param(
            {"hours": {"mon": ["08:00-12:00"]}},
            {"hours": {"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-12:00"]}},
            [
                ("hours.mon", ["08:00-12:00"], ["08:00-12:00", "13:00-17:00"]),
                ("hours.tue", None, ["08:00-12:00"]),
            ],
            id="lists without ids: whole",
        ),
        pytest.param(
            {"services": [MASSAGE, PHYSIO]},
            {"services": [{**MASSAGE, "price": 500}, PHYSIO]},
            [("services[massage].price", 450, 500)],
            id="a thing with an id: keyed by its id",
        ),
        pytest.param(
            {"services": [MASSAGE, PHYSIO]},
            {"services": [{**PHYSIO, "names": {"da": "Fysioterapi"}}, MASSAGE]},
            [
                ("services[physio].names", None, {"da": "Fysioterapi"}),
                ("services (order)", ["massage", "physio"], ["physio", "massage"]),
            ],
            id="keyed by id, and the new order said too",
        ),
        pytest.param(
            {"services": [MASSAGE]},
            {"services": [MASSAGE, PHYSIO]},
            [("services[physio]", None, PHYSIO)],
            id="a thing added",
        ),
        pytest.param(
            {"services": [MASSAGE, PHYSIO]},
            {"services": [PHYSIO]},
            [("services[massage]", MASSAGE, None)],
            id="a thing removed",
        ),
        pytest.param(
            {"services": [MASSAGE, PHYSIO]},
            {"services": [PHYSIO, MASSAGE]},
            [("services (order)", ["massage", "physio"], ["physio", "massage"])],
            id="only the order changed",
        ),
        pytest.param(
            {"practitioners": [{"id": "mia", "name": "Mia", "services": None}]},
            {"practitioners": [{"id": "mia", "name": "Mia", "services": ["massage"]}]},
            [("practitioners[mia].services", None, ["massage"])],
            id="practitioners by id too",
        ),
        pytest.param(
            {"faq": [{"keywords": ["parking"], "answer": "Behind."}]},
            {"faq": [{"keywords": ["parking"], "answer": "In front."}]},
            [
                (
                    "faq",
                    [{"keywords": ["parking"], "answer": "Behind."}],
                    [{"keywords": ["parking"], "answer": "In front."}],
                )
            ],
            id="answers have no ids: the list whole",
        ),
    ],
)
def test_differences(before: Any, after: Any, expected: list[tuple[str, Any, Any]]) -> None:
    assert [(d["key"], d["before"], d["after"]) for d in differences(before, after)] == expected


@pytest.mark.parametrize(
    ("value", "said"),
    [
        pytest.param("x" * 300, "x" * 300, id="300 characters: kept"),
        pytest.param("x" * 301, "x" * 299 + "…", id="301 characters: 300 with the ellipsis"),
        pytest.param("é" * 1000, "é" * 299 + "…", id="characters, not bytes"),
        pytest.param(
            ["08:00-12:00"] * 40,
            json.dumps(["08:00-12:00"] * 40)[:299] + "…",
            id="a long list: its JSON text, shortened",
        ),
        pytest.param(["08:00-12:00"] * 2, ["08:00-12:00"] * 2, id="a short list: as it is"),
    ],
)
def test_long_values_are_shortened(value: Any, said: Any) -> None:
    [change] = differences({"replies": {"away": None}}, {"replies": {"away": value}})
    assert change == {"key": "replies.away", "before": None, "after": said}
    if isinstance(said, str):
        assert len(said) <= 300


# ------------------------------------------------------------------------------------------------- saving


class Fixed(Clock):
    def now(self) -> datetime:
        return NOW


@dataclass
class Store:
    db: Database
    base: BusinessConfig

    async def document(self) -> dict[str, Any]:
        async with self.db.read() as session:
            stored = await store.load(session, BUSINESS)
        assert stored is not None
        return copy.deepcopy(stored.document)

    async def version(self) -> int:
        async with self.db.read() as session:
            stored = await store.load(session, BUSINESS)
        assert stored is not None
        return stored.version

    async def save(
        self, document: dict[str, Any], expected_version: int | None = 1, **kwargs: Any
    ) -> tuple[BusinessConfig, int, list[dict[str, Any]]]:
        async with self.db.write() as session:
            return await save(
                session,
                self.base,
                document,
                expected_version=expected_version,
                section=kwargs.get("section", "services"),
                actor=kwargs.get("actor", "Mia Holm"),
                staff_id=None,
                now=LATER,
            )

    async def changes(self) -> list[SettingsChange]:
        async with self.db.read() as session:
            return list(await session.scalars(select(SettingsChange).order_by(SettingsChange.id)))

    async def services(self) -> dict[str, tuple[str, bool]]:
        async with self.db.read() as session:
            rows = await session.scalars(select(Service).where(Service.business_id == BUSINESS))
            return {s.key: (s.name, s.active) for s in rows}


@pytest.fixture
async def settings(database: DatabaseTarget) -> AsyncIterator[Store]:
    """A clinic seeded from its config (version 1), the way `jola serve` starts."""
    config = make_config(database, business={"services": [MASSAGE, PHYSIO]})
    db = Database(database.url, schema=database.schema, keyring=Keyring([TEST_ENCRYPTION_KEY]))
    await upgrade(db)
    await sync_tenants(db, config, Fixed())
    try:
        yield Store(db, config.businesses[0])
    finally:
        await db.dispose()


async def test_the_config_seeds_the_settings_once(settings: Store) -> None:
    assert await settings.document() == document_of(settings.base)
    assert await settings.version() == 1
    [seeded] = await settings.changes()
    assert (seeded.actor, seeded.section, seeded.version) == ("config file", "all", 1)
    async with settings.db.write() as session:
        assert await seed_if_new(session, settings.base, LATER) is False
    assert len(await settings.changes()) == 1


async def test_a_valid_save_bumps_the_version_and_records_what_changed(settings: Store) -> None:
    document = await settings.document()
    document["services"][0]["price"] = 500
    document["replies"]["greeting"] = "Hello {{ client.first_name }}!"

    business, version, changes = await settings.save(document, section="services", actor="Mia Holm")

    assert version == 2 and await settings.version() == 2
    assert business.services[0].price == 500
    assert [(c["key"], c["before"], c["after"]) for c in changes] == [
        ("replies.greeting", None, "Hello {{ client.first_name }}!"),
        ("services[massage].price", 450, 500),
    ]
    seeded, saved = await settings.changes()
    assert seeded.version == 1
    assert (saved.version, saved.actor, saved.section, saved.staff_id) == (2, "Mia Holm", "services", None)
    assert saved.at == LATER and saved.changes == changes
    assert (await settings.document())["services"][0]["price"] == 500


async def test_saving_the_same_document_stores_nothing(settings: Store) -> None:
    _, version, changes = await settings.save(await settings.document())
    assert (version, changes) == (1, [])
    assert len(await settings.changes()) == 1


@pytest.mark.parametrize("unchanged", [False, True], ids=["changed", "unchanged"])
async def test_a_save_from_an_old_version_is_refused_and_writes_nothing(
    settings: Store, unchanged: bool
) -> None:
    document = await settings.document()
    document["services"][0]["price"] = 500
    await settings.save(document)  # someone else saved first: version 2
    mine = await settings.document()
    if not unchanged:
        mine["name"] = "Harbour Clinic & Spa"

    with pytest.raises(store.StaleSettings):
        await settings.save(mine, expected_version=1)

    assert await settings.version() == 2
    assert (await settings.document())["name"] == "Harbour Clinic"
    assert [c.version for c in await settings.changes()] == [1, 2]


async def test_without_an_expected_version_the_save_goes_through(settings: Store) -> None:
    document = await settings.document()
    document["services"][0]["price"] = 500
    await settings.save(document)
    document["services"][0]["price"] = 550
    _, version, _ = await settings.save(document, expected_version=None)
    assert version == 3


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            _set("hours.mon", ["08:00-12:00", "11:00-13:00"]),
            'hours.mon: "08:00-12:00" and "11:00-13:00" overlap',
            id="overlapping hours",
        ),
        pytest.param(
            _set("services.0.duration_minutes", 0),
            "services[0].duration_minutes: Input should be greater than or equal to 5",
            id="duration 0",
        ),
        pytest.param(
            _set("faq", [{"keywords": [], "answer": "Free parking."}]),
            "faq[0].keywords: give at least one keyword or phrase",
            id="no keywords",
        ),
        pytest.param(
            _set("faq", [{"keywords": ["parking", " "], "answer": "Free parking."}]),
            "faq[0].keywords: a keyword is empty",
            id="an empty keyword",
        ),
        pytest.param(
            _set("replies.greeting", "{{ ''.__class__ }}"),
            "replies.greeting: line 1: ",
            id="a greeting reaching into Python",
        ),
        pytest.param(
            _set("replies.away", "Closed.\n{% for x in 'abc' %}{{ x }}{% endfor %}"),
            "replies.away: line 2: ",
            id="a loop in the away message",
        ),
        pytest.param(
            _set("holidays", [{"start": "2026-12-26", "end": "2026-12-24", "name": "Christmas"}]),
            "holidays[0].end: ends before it starts",
            id="a holiday ending before it starts",
        ),
    ],
)
async def test_an_invalid_document_names_the_key_and_saves_nothing(
    settings: Store, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    document = await settings.document()
    document["services"][1]["price"] = 300  # a valid change beside it is not saved either
    change(document)

    with pytest.raises(ConfigError) as refused:
        await settings.save(document)

    assert refused.value.problems[0].startswith(problem), refused.value.problems
    assert await settings.version() == 1
    assert (await settings.document())["services"][1]["price"] is None
    assert len(await settings.changes()) == 1
    assert await settings.services() == {"massage": ("Massage", True), "physio": ("Physiotherapy", True)}


async def test_rows_follow_the_settings_and_removed_services_stay_inactive(settings: Store) -> None:
    document = await settings.document()
    document["services"] = [
        {**document["services"][0], "name": "Deep tissue massage"},
        {"id": "cupping", "name": "Cupping", "duration_minutes": 30, "active": False},
    ]
    _, version, changes = await settings.save(document)

    assert await settings.services() == {
        "massage": ("Deep tissue massage", True),
        "physio": ("Physiotherapy", False),  # removed: appointments still point at it
        "cupping": ("Cupping", False),  # listed, switched off
    }
    assert {c["key"] for c in changes} == {"services[massage].name", "services[physio]", "services[cupping]"}

    document = await settings.document()
    document["services"].append(PHYSIO)
    await settings.save(document, expected_version=version)
    assert (await settings.services())["physio"] == ("Physiotherapy", True)


async def test_a_long_actor_is_cut_to_the_column(settings: Store) -> None:
    document = await settings.document()
    document["address"] = "Havnegade 12, 1058 København K"
    await settings.save(document, actor="M" * 250)
    assert (await settings.changes())[-1].actor == "M" * 200
