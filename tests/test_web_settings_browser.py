"""The settings pages in a real browser (headless Chromium): an owner sets the opening hours, a mistake is
shown at its field with what was typed kept, the fix is saved, and the next client message uses it; the
pages fit a phone (issue 16). Runs where Debian's chromium is installed (CI makes it required)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.browser import MISSING, chromium, missing
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import PASSWORD, add_account

if missing():
    pytest.skip(MISSING, allow_module_level=True)

from playwright.async_api import Browser, Page, expect


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running, "olivia@harbour.example", name="Olivia Owner", role="owner")
        yield running


def url(jola: Jola, path: str) -> str:
    return str(jola.client.make_url(path))


async def log_in(page: Page, jola: Jola, email: str = "olivia@harbour.example") -> None:
    """Logged in as the owner: the Settings link shows."""
    await page.goto(url(jola, "/login"))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("link", name="Settings")).to_be_visible()


async def test_an_owner_sets_the_opening_hours(jola: Jola, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, jola)
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("navigation", name="Settings").get_by_role("link", name="Opening hours").click()
    saturday = page.get_by_label("Saturday")
    await saturday.fill("10-14, 13-16")
    await page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Nothing was saved")
    await expect(alert).to_contain_text('Opening hours › Saturday: "10:00-14:00" and "13:00-16:00" overlap')
    await expect(saturday).to_have_attribute("aria-invalid", "true")
    await expect(saturday).to_have_value("10:00-14:00, 13:00-16:00")  # what was typed, as it was read
    await saturday.fill("10-14")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved.")
    await expect(saturday).to_have_value("10:00-14:00")
    client = WhatsAppClient(jola, wa_id="4511111111", user_id=None)
    [reply] = await client.says("when are you open?")
    assert "Saturday 10:00–14:00" in reply.text
    await page.get_by_role("link", name="Changes").click()
    await expect(page.locator(".change-list")).to_contain_text("Olivia Owner")
    await expect(page.locator(".change-list")).to_contain_text("hours.sat")
    await context.close()


async def test_the_settings_pages_fit_a_phone(jola: Jola, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = await context.new_page()
    await log_in(page, jola)
    for section in ("", "/hours", "/services", "/people", "/booking", "/replies", "/changes"):
        path = "/settings" + section
        await page.goto(url(jola, path))
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    await context.close()
