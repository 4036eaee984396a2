"""The staff app in a real browser (headless Chromium driven by Playwright): log in, a client who asks for
a person appears flagged in two open tabs without reloading, take the conversation over, reply, hand it
back; and the pages at a phone's 375 px (issue 15).

Runs when Debian's chromium is installed; CI installs it and sets JOLA_BROWSER_TESTS=required, so there a
missing browser fails instead of skipping."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.saved_replies import save_reply
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.browser import MISSING, chromium, missing
from tests.support.clinic import NOW, clinic
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
        await add_account(running)
        async with running.db.write() as session:
            await save_reply(session, "harbour-clinic", "parking", "Yes, right behind the clinic.", NOW)
        yield running


def url(jola: Jola, path: str) -> str:
    return str(jola.client.make_url(path))


async def log_in(page: Page, jola: Jola) -> None:
    await page.goto(url(jola, "/inbox"))
    await expect(page).to_have_url(url(jola, "/login?next=/inbox"))
    await page.get_by_label("Email").fill("reception@harbour.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


async def live(page: Page) -> None:
    """The page's event stream is open (it sets this when the server said hello)."""
    await page.wait_for_selector("body[data-live-connected]", state="attached")


async def test_a_receptionists_day(jola: Jola, browser: Browser) -> None:
    context = await browser.new_context()
    first, second = await context.new_page(), await context.new_page()
    await log_in(first, jola)
    await second.goto(url(jola, "/inbox"))
    await live(first)
    await live(second)

    client = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    [handed] = await client.says("I want to talk to a person")
    assert handed.text.endswith("I'll ask a member of our team to help you. They will answer you here.")
    for tab in (first, second):  # no reload: the event stream brought it
        row = tab.locator("li.conversation.needs-staff", has_text="Anna Jensen")
        await expect(row).to_be_visible()
        await expect(tab.locator("[data-count=needs_staff]")).to_have_text("1")

    await first.locator("li.conversation", has_text="Anna Jensen").click()
    await expect(
        first.get_by_text("The bot is answering").or_(first.get_by_text("Needs staff").first)
    ).to_be_visible()
    await first.get_by_role("button", name="Take over").click()
    await expect(first.get_by_text("You have it")).to_be_visible()
    await live(first)

    assert await client.says("Do you have parking?") == []  # the bot stays silent while staff has it
    await expect(first.locator(".timeline")).to_contain_text("Do you have parking?")  # live

    box = first.get_by_label("Reply")
    await box.press_sequentially("/park")  # a saved reply, offered as it is typed
    await expect(first.locator("#saved-suggestions li").first).to_contain_text("/parking")
    await box.press("Enter")
    await expect(box).to_have_value("Yes, right behind the clinic.")
    await box.press("Enter")
    await expect(first.locator(".msg-staff").last).to_contain_text("Yes, right behind the clinic.")
    await jola.settle()
    assert jola.graph.sent_to("4511111111")[-1].text == "Yes, right behind the clinic."
    client.seen = len(jola.graph.sent_to("4511111111"))

    await first.get_by_role("button", name="Hand back to the bot").click()
    await expect(first.get_by_text("The bot is answering")).to_be_visible()
    [offer] = await client.says("massage friday")
    assert offer.text.startswith("Free times Friday 27 November.")
    await client.taps(offer.options[1])
    await client.taps("Yes, book it")

    # the calendar shows the booking; staff move it by hand (the dialog asks before cancelling)
    await first.goto(url(jola, "/"))  # the overview counts what just happened
    await expect(first.locator(".tiles")).to_contain_text("1 appointments this week")
    await first.screenshot(path=str(os.environ.get("JOLA_SCREENSHOTS", "/tmp")) + "/jola-overview.png")
    await first.goto(url(jola, "/calendar?date=2026-11-27"))
    await first.screenshot(path=str(os.environ.get("JOLA_SCREENSHOTS", "/tmp")) + "/jola-calendar.png")
    await first.locator("a.block", has_text="Anna Jensen").click()
    await first.get_by_label("Time").fill("15:00")
    await first.get_by_role("button", name="Move").click()
    await expect(first.get_by_role("status")).to_contain_text(
        "Moved. The client has been told on their channel."
    )
    first.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await first.get_by_role("button", name="Cancel the appointment").click()
    await expect(first.get_by_role("status")).to_contain_text("Cancelled.")
    await first.screenshot(path=str(os.environ.get("JOLA_SCREENSHOTS", "/tmp")) + "/jola-appointment.png")
    await context.close()


async def test_the_pages_fit_a_phone(jola: Jola, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = await context.new_page()
    await log_in(page, jola)
    client = WhatsAppClient(
        jola, wa_id="4511111111", name="Anna Margrethe Kristensen-Østergaard", user_id=None
    )
    await client.says("Hi, I would like to book a massage on friday afternoon if there is anything free " * 3)
    await page.reload()
    await expect(page.locator("li.conversation")).to_have_count(1)
    assert await no_sideways_scroll(page)
    await page.locator("li.conversation").click()
    await expect(page.locator(".timeline")).to_be_visible()
    assert await no_sideways_scroll(page)
    box = await page.get_by_label("Reply").bounding_box()
    assert box is not None and box["width"] <= 375
    for path in (
        "/",
        "/calendar?date=2026-11-27",
        "/calendar?view=week&date=2026-11-27",
        "/calendar/new",
        "/clients",
    ):
        await page.goto(url(jola, path))
        assert await no_sideways_scroll(page), path
    await page.screenshot(
        path=str(os.environ.get("JOLA_SCREENSHOTS", "/tmp")) + "/jola-phone-conversation.png"
    )
    await context.close()


async def no_sideways_scroll(page: Page) -> Any:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_booking_from_the_calendar(jola: Jola, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await log_in(page, jola)
    await page.get_by_role("link", name="Calendar").click()
    await page.goto(url(jola, "/calendar?date=2026-11-27"))
    await page.get_by_role("link", name="New booking").click()
    await page.get_by_label("Service").select_option("massage")
    await page.get_by_label("Time").fill("13:00")
    await page.get_by_label("Client's name").fill("Bo Berg")
    await page.get_by_label("Client's phone").fill("+45 22 33 44 55")
    await page.get_by_role("button", name="Book").click()
    await expect(page.get_by_role("status")).to_contain_text("Booked. The client was not told")
    await page.get_by_role("link", name="← Calendar").click()
    await expect(page.locator("a.block", has_text="Bo Berg")).to_contain_text("13:00")
    await context.close()
