"""The business's records of processing (GDPR art. 30, issue 18): what Jola holds, about whom, since when,
where it goes, for how long, who can see it and how it is kept safe, as JSON for the REST API and as a
printable owner's page in English and Danish. The clinic's clock stands at Wednesday 25 November 2026,
09:00 in Copenhagen."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.config import parse_config
from storage.models import Message
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.browser import MISSING, chromium, missing
from tests.support.clinic import NOW, WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import PHONE_NUMBER_ID
from tests.support.staff import PASSWORD, StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ZONE = ZoneInfo("Europe/Copenhagen")
TOKEN = {"Authorization": "Bearer api-token"}
NORTH = {"Authorization": "Bearer north-token"}
PRIVACY = {
    "operator_name": "Nordic Booking ApS",
    "operator_contact": "privacy@nordic-booking.example",
    "sub_processors": [
        {"name": "Hetzner Online GmbH", "purpose": "Server hosting and backups", "location": "Germany (EU)"}
    ],
    "security_measures": ["Disks encrypted with LUKS; nightly backups kept 30 days"],
}


def two_businesses(database: DatabaseTarget, graph: FakeGraph, public_url: str = "", **business: Any) -> Any:
    """The clinic (with `business` over its config) and North Spa (token "north-token", no channels).
    An https:// public_url makes the staff app's cookies Secure: plain http then logs no one in."""
    config = make_config(
        database,
        graph.url,
        business={"hours": WEEKDAYS, **business},
        privacy=PRIVACY,
        server={"public_url": public_url},
        smtp={"host": "smtp.harbour.example", "sender": "Harbour Clinic <booking@harbour.example>"},
    )
    data = config.model_dump()
    data["businesses"].append(
        {**data["businesses"][0], "id": "north-spa", "name": "North Spa", "api_token": "north-token"}
        | {"channels": []}
    )
    return parse_config(data, environ={})


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    """Anna has booked a massage on WhatsApp; the clinic has an owner and a receptionist."""
    running = await start_jola(two_businesses(database, fake_graph), fake_graph, clock=SettableClock(NOW))
    await add_account(running, "olga@harbour.example", name="Olga Owner", role="owner")
    await add_account(running)  # Rita Reception, staff
    await add_account(running, "nils@north.example", name="Nils North", business="north-spa", role="owner")
    anna = WhatsAppClient(running, wa_id="4511111111", name="Anna Jensen")
    await anna.says("massage friday at 10 please")
    await anna.taps("Yes, book it")
    yield running
    await running.client.close()


async def record(jola: Jola, headers: dict[str, str] = TOKEN) -> dict[str, Any]:
    response = await jola.client.get("/api/v1/processing-record", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    return dict(await response.json())


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items}


async def test_the_record_counts_what_is_held_and_since_when(jola: Jola) -> None:
    found = await record(jola)
    async with jola.db.read() as session:
        messages, oldest = (await session.execute(select(func.count(), func.min(Message.created_at)))).one()
    assert messages >= 4
    assert found["figures"]["messages"] == messages
    assert found["figures"]["oldest_message_at"] == oldest.astimezone(ZONE).isoformat(timespec="seconds")
    assert found["figures"]["oldest_message_at"].startswith("2026-11-25T")
    assert found["figures"]["clients"] == 1 and found["figures"]["appointments"] == 1
    subjects = by_key(found["data_subjects"])
    assert subjects["clients"]["count"] == 1 and subjects["staff"]["count"] == 2
    categories = by_key(found["data_categories"])
    assert list(categories) == [
        "identity_contact",
        "messages",
        "appointments",
        "notes",
        "consents",
        "reminders_emails",
        "audit",
    ]
    assert categories["identity_contact"]["with_phone"] == 1
    assert categories["messages"]["count"] == messages
    assert "Massage" in categories["appointments"]["services"]
    assert "health" in categories["appointments"]["description"]
    assert categories["reminders_emails"]["count"] >= 1  # the booking's reminders
    assert found["channels"] == [
        {
            "kind": "whatsapp",
            "asset_id": PHONE_NUMBER_ID,
            "active": True,
            "connected_at": found["generated_at"],
        }
    ]


async def test_controller_operator_access_sub_processors_and_measures(jola: Jola) -> None:
    found = await record(jola)
    assert found["controller"]["name"] == "Harbour Clinic"
    assert found["processor"] == {
        "name": "Nordic Booking ApS",
        "contact": "privacy@nordic-booking.example",
        "software": "Jola",
    }
    assert [(a["name"], a["email"], a["role"]) for a in found["access"]] == [
        ("Olga Owner", "olga@harbour.example", "owner"),
        ("Rita Reception", "reception@harbour.example", "staff"),
    ]
    assert "password" not in json.dumps(found["access"]) and "argon2" not in json.dumps(found)
    meta, hosting = found["sub_processors"]
    assert meta["key"] == "meta" and meta["name"].startswith("Meta Platforms")
    assert (hosting["name"], hosting["location"]) == ("Hetzner Online GmbH", "Germany (EU)")
    measures = by_key(found["security_measures"])
    assert "no_https" in measures and "https" not in measures
    assert measures["email_tls"]["host"] == "smtp.harbour.example"
    assert "encryption_at_rest" in measures
    assert measures["operator"]["description"] == "Disks encrypted with LUKS; nightly backups kept 30 days"


async def test_an_https_address_is_a_measure_and_plain_email_a_warning(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    config = two_businesses(database, fake_graph, public_url="https://jola.harbour.example")
    config.smtp.security = "none"
    running = await start_jola(config, fake_graph, clock=SettableClock(NOW))
    try:
        measures = by_key((await record(running))["security_measures"])
        assert measures["https"]["url"] == "https://jola.harbour.example" and "no_https" not in measures
        assert measures["email_plain"]["description"].startswith("Emails to clients leave through smtp.")
        assert "email_tls" not in measures
    finally:
        await running.client.close()


async def test_each_business_sees_only_its_own(jola: Jola) -> None:
    north = await record(jola, NORTH)
    assert north["business"] == {"id": "north-spa", "name": "North Spa"}
    assert north["figures"]["clients"] == 0 and north["figures"]["messages"] == 0
    assert north["figures"]["oldest_message_at"] is None
    assert [a["email"] for a in north["access"]] == ["nils@north.example"]
    assert north["channels"] == []
    response = await jola.client.get("/api/v1/processing-record", headers={"Authorization": "Bearer x"})
    assert response.status == 401


@pytest.mark.parametrize(
    ("messages", "days", "shown"),
    [("90d", 90, "removed after 90 days"), ("off", None, "kept until erased")],
)
async def test_the_retention_settings_are_part_of_the_record(
    database: DatabaseTarget, fake_graph: FakeGraph, messages: str, days: int | None, shown: str
) -> None:
    config = two_businesses(database, fake_graph, retention={"messages": messages})
    running = await start_jola(config, fake_graph, clock=SettableClock(NOW))
    try:
        rules = by_key((await record(running))["retention"]["rules"])
        assert rules["messages"]["days"] == days and rules["messages"]["value"] == messages
        await add_account(running, "olga@harbour.example", name="Olga Owner", role="owner")
        owner = StaffBrowser(running)
        await owner.log_in("olga@harbour.example")
        page = await owner.get("/settings/processing")
        assert re.search(rf"<strong>Messages:</strong> {shown}</li>", page.text)
        await owner.close()
    finally:
        await running.client.close()


# ------------------------------------------------------------------------------------------- the page


async def test_the_owner_page_shows_the_same_record_in_words(jola: Jola) -> None:
    """Every category, purpose and measure the JSON describes is on the page, in the same words."""
    found = await record(jola)
    owner = StaffBrowser(jola)
    await owner.log_in("olga@harbour.example")
    settings = await owner.get("/settings")
    assert 'href="/settings/processing"' in settings
    page = await owner.get("/settings/processing")
    assert page.status == 200
    text = page.text.replace("&#39;", "'").replace("&#34;", '"')
    for section in ("purposes", "data_subjects", "data_categories", "security_measures"):
        for item in found[section]:
            assert item["description"] in text, item["key"]
    for fixed in found["retention"]["fixed"]:
        assert fixed["description"] in text
    assert "Nordic Booking ApS" in text and "Hetzner Online GmbH" in text
    assert "olga@harbour.example" in text and "Rita Reception" in text
    assert f"<code>{PHONE_NUMBER_ID}</code>" in text
    assert 'aria-current="page">Records of processing</a>' in text
    await owner.close()


async def test_the_page_in_danish_and_only_for_owners(jola: Jola) -> None:
    await add_account(jola, "else@harbour.example", name="Else Ejer", role="owner", locale="da")
    else_ = StaffBrowser(jola)
    await else_.log_in("else@harbour.example")
    page = await else_.get("/settings/processing")
    assert "Fortegnelse over behandlingsaktiviteter" in page
    assert "Kategorier af personoplysninger" in page
    assert "Categories of personal data" not in page and "Security measures" not in page
    await else_.close()
    rita = StaffBrowser(jola)
    await rita.log_in()
    assert (await rita.get("/settings/processing")).status == 403
    await rita.close()


@pytest.mark.skipif(missing(), reason=MISSING)
async def test_the_page_prints_without_the_app_around_it(jola: Jola) -> None:
    """In Chromium: on screen the settings list and the Print button show; on paper only the record."""
    async with chromium() as launched:
        context = await launched.new_context()
        page = await context.new_page()
        await page.goto(str(jola.client.make_url("/login")))
        await page.get_by_label("Email").fill("olga@harbour.example")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(re.compile(r"/inbox"))
        await page.goto(str(jola.client.make_url("/settings/processing")))
        assert await page.get_by_role("heading", name="Records of processing").is_visible()
        assert await page.get_by_role("button", name="Print").is_visible()
        assert await page.locator(".settings-nav").is_visible()
        await page.emulate_media(media="print")
        assert not await page.get_by_role("button", name="Print").is_visible()
        assert not await page.locator(".settings-nav").is_visible()
        assert not await page.locator(".topbar").is_visible()
        assert await page.get_by_role("heading", name="Security measures").is_visible()
        pdf = await page.pdf()
        assert pdf.startswith(b"%PDF")
        await context.close()
