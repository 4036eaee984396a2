"""A client's record and the audit log in a real browser (headless Chromium, issue 18): an owner corrects a
client's phone (a mistake shown at its field, what was typed kept), restricts processing, then reads both
in the audit log, found through Settings; both pages fit a phone. Runs where Debian's chromium is
installed (CI makes it required)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.models import Client
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.browser import MISSING, chromium, missing
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import add_account
from tests.test_web_settings_browser import log_in, url

if missing():
    pytest.skip(MISSING, allow_module_level=True)

from playwright.async_api import Browser, expect

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running, "olga@harbour.example", name="Olga Owner", role="owner")
        yield running


async def anna(jola: Jola) -> int:
    await WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None).says("hi")
    async with jola.db.read() as session:
        return int(
            (await session.execute(select(Client.id).where(Client.name == "Anna Jensen"))).scalar_one()
        )


async def test_an_owner_corrects_and_restricts_a_client_then_reads_the_audit_log(
    jola: Jola, browser: Browser
) -> None:
    client_id = await anna(jola)
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, jola, "olga@harbour.example")
    await page.goto(url(jola, f"/clients/{client_id}"))
    await page.get_by_text("Correct the details").click()
    phone = page.get_by_label("Phone", exact=True)
    await phone.fill("22 33 44 55")
    await page.get_by_role("button", name="Save the details").click()
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was saved: see the marked fields.")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_value("22 33 44 55")
    await expect(page.locator("#phone-error")).to_contain_text("Give the number in international form")
    await phone.fill("+45 22 33 44 55")
    await page.get_by_role("button", name="Save the details").click()
    await expect(page.get_by_role("status")).to_contain_text("The details are saved.")
    await expect(page.locator(".client-card dl")).to_contain_text("+4522334455")

    await page.get_by_label("Why restrict").select_option("objection_pending")
    await page.get_by_role("button", name="Restrict processing").click()
    await expect(page.locator(".restricted")).to_contain_text("An objection is being considered")

    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log").click()
    log = page.locator(".audit-list")
    await expect(log).to_contain_text(f"Olga Owner corrected client #{client_id}'s phone")
    restricted = f"Olga Owner restricted the processing of client #{client_id}'s data"
    await expect(log).to_contain_text(f"{restricted} (An objection is being considered)")
    await expect(log).to_contain_text(f"Olga Owner opened client #{client_id}'s record")
    await page.get_by_label("What").select_option("client.rectified")
    await page.get_by_role("button", name="Show").click()
    await expect(log.locator("li")).to_have_count(1)
    await context.close()


async def test_the_record_and_the_audit_log_fit_a_phone(jola: Jola, browser: Browser) -> None:
    client_id = await anna(jola)
    context = await browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = await context.new_page()
    await log_in(page, jola, "olga@harbour.example")
    for path in (f"/clients/{client_id}", "/audit"):
        await page.goto(url(jola, path))
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    await context.close()
