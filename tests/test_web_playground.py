"""The playground (issue 16): staff chat with their own bot as a client would, on a channel they pick, with
the options drawn as that channel draws them, through the real pipeline; what they do there is test
traffic, kept out of the inbox, the client list, the statistics and the REST API, never mixed up with a
real client, and its bookings hold their time (marked Test) until the tester starts over or comes back.
`jola chat`'s clients are test clients too. Last, the playground in a real headless Chromium.

The clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00 in
Copenhagen.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import keys
from bot.chat import chat
from bot.playground import drawn
from flows.messages import Option, Reply
from storage.clients import client_record
from storage.models import Client, ClientIdentity, Conversation, Message
from storage.overview import figures
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient
from tests.support.browser import MISSING, chromium, missing
from tests.support.clinic import BUSINESS, appointments, clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import PASSWORD, StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

API = {"Authorization": "Bearer api-token"}
ZONE = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
async def running(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> AsyncIterator[tuple[Jola, SettableClock]]:
    async with clinic(database, fake_graph) as (jola, clock):
        await add_account(jola)
        yield jola, clock


@pytest.fixture
async def jola(running: tuple[Jola, SettableClock]) -> Jola:
    return running[0]


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


class Trying:
    """A staff member in the playground, as its page does it: writes and taps as a client would, and
    reads what the bot answered as the channel draws it (one dict per message bubble)."""

    def __init__(self, jola: Jola, browser: StaffBrowser) -> None:
        self.jola = jola
        self.browser = browser
        self.channel = "whatsapp"
        self.run = ""
        self.seen = 0
        self.last: list[dict[str, Any]] = []

    async def opens(self, channel: str | None = None) -> str:
        page = await self.browser.get("/playground" + (f"?channel={channel}" if channel else ""))
        assert page.status == 200, page.text
        found = re.search(r'data-channel="(\w+)" data-run="(\d+)"', page.text)
        assert found
        self.channel, self.run = found.groups()
        self.seen, self.last = 0, []
        return page.text

    async def says(self, text: str) -> list[dict[str, Any]]:
        return await self._send({"text": text})

    async def taps(self, title: str) -> list[dict[str, Any]]:
        """An option of the bot's latest answer: a reply button, a list row, a quick reply."""
        offered = [
            option
            for bubble in self.last
            for option in [
                *bubble.get("buttons", []),
                *bubble.get("list", {}).get("rows", []),
                *bubble.get("quick_replies", []),
            ]
        ]
        [option] = [o for o in offered if o["title"] == title]
        return await self._send({"choice_id": option["id"], "title": option["title"]})

    async def starts_over(self) -> None:
        answer = await self._post("/playground/reset", {"channel": self.channel, "run": self.run})
        self.run, self.seen, self.last = str(answer["run"]), 0, []

    async def _send(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        stored = await self._post(
            "/playground/messages", {"channel": self.channel, "run": self.run, **fields}
        )
        assert stored == {"stored": True}
        await self.jola.settle()
        answer = await self.read()
        said = [m for m in answer["messages"] if m["author"] != "client"]
        self.last = [bubble for message in said for bubble in message["bubbles"]] or self.last
        return [bubble for message in said for bubble in message["bubbles"]]

    async def read(self) -> dict[str, Any]:
        query = f"channel={self.channel}&run={self.run}&after={self.seen}"
        async with self.browser.http.get(f"{self.browser.base}/playground/messages?{query}") as response:
            assert response.status == 200, await response.text()
            answer = await response.json()
        if answer["messages"]:
            self.seen = answer["messages"][-1]["id"]
        return answer

    async def _post(self, path: str, fields: dict[str, str]) -> Any:
        async with self.browser.http.post(
            self.browser.base + path,
            data=fields,
            headers={"X-CSRF-Token": self.browser.csrf, "Accept": "application/json"},
        ) as response:
            assert response.status in (200, 202), await response.text()
            return await response.json()


async def api(jola: Jola, path: str) -> Any:
    response = await jola.client.get(path, headers=API)
    assert response.status == 200, await response.text()
    return await response.json()


async def book_at_eleven(jola: Jola, name: str = "Bo Berg") -> int:
    """Someone else wants today at 11:00 through the REST API; returns the status it answers."""
    response = await jola.client.post(
        "/api/v1/appointments",
        json={"service": "massage", "start": "2026-11-25T11:00:00+01:00", "client": {"name": name}},
        headers=API,
    )
    return response.status


async def made_in_tests(jola: Jola) -> list[Any]:
    async with jola.db.read() as session:
        return list((await session.execute(select(Client).where(Client.test.is_(True)))).scalars())


# ---------------------------------------------------------------------------------------------- booking


async def test_a_tester_books_a_massage_on_whatsapp_as_a_client_would(jola: Jola, rita: StaffBrowser) -> None:
    tester = Trying(jola, rita)
    page = await tester.opens()
    assert tester.channel == "whatsapp"  # the clinic's own channel
    assert "Test conversation: kept out of your inbox, client list, statistics and reminders." in page

    [offer] = await tester.says("I'd like a massage")
    assert offer["text"] == (
        "Hi Rita, welcome to Harbour Clinic!\nMassage, 60 min. When would you like to come? These are the "
        'first free times, or tell me a day and time (like "Friday at 14").'
    )
    assert offer["list"]["button"] == "Choose"  # more than three options: a WhatsApp list
    assert [row["title"] for row in offer["list"]["rows"]] == [
        "Today 11:00",
        "Today 13:00",
        "Today 14:00",
        "Today 15:00",
    ]
    [summary] = await tester.taps("Today 11:00")
    assert summary["text"] == (
        "Shall I book this?\nMassage (60 min)\ntoday, Wednesday 25 November, at 11:00\nName: Rita Reception"
    )
    assert [b["title"] for b in summary["buttons"]] == ["Yes, book it", "Change something"]  # reply buttons
    [booked] = await tester.taps("Yes, book it")
    assert booked["text"].startswith("You're booked: Massage, today, Wednesday 25 November, at 11:00.")

    [appointment] = await appointments(jola)
    assert (appointment.status, appointment.client_test) == ("booked", True)
    day = await rita.get("/calendar?date=2026-11-25")
    assert re.search(r'11:00</strong> Massage <span class="pill test-tag"[^>]*>Test</span>', day.text)
    week = await rita.get("/calendar?view=week&date=2026-11-25")
    assert '<span class="pill test-tag"' in week
    assert await book_at_eleven(jola) == 409  # the test booking holds its time: one slot, one booking


async def test_test_traffic_stays_out_of_the_inbox_clients_statistics_and_api(
    jola: Jola, rita: StaffBrowser
) -> None:
    anna = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await anna.says("I want to talk to a person")
    tester = Trying(jola, rita)
    await tester.opens()
    await tester.says("massage today at 11")
    await tester.taps("Yes, book it")
    await tester.says("I want to talk to a person")
    [test_client] = await made_in_tests(jola)
    async with jola.db.read() as session:
        [conversation] = (
            await session.scalars(select(Conversation.id).where(Conversation.client_id == test_client.id))
        ).all()

    inbox = await rita.get("/inbox")
    assert "Anna Jensen" in inbox and f"/conversations/{conversation}" not in inbox
    assert "needs_staff" in inbox and re.search(r'data-count="needs_staff"[^>]*>1<', inbox.text)
    for path in ("/inbox?show=needs_staff", "/inbox?show=bot", "/inbox?q=Rita"):
        assert f"/conversations/{conversation}" not in await rita.get(path), path
    async with rita.http.get(rita.base + "/inbox/counts") as response:
        assert (await response.json())["needs_staff"] == 1  # Anna's, not the tester's
    clients = await rita.get("/clients")
    assert "Anna Jensen" in clients and f"/clients/{test_client.id}" not in clients
    assert f"/clients/{test_client.id}" not in await rita.get("/clients?q=Rita")

    overview = await rita.get("/")
    assert re.search(r'<span class="big">0</span> appointments this week', overview.text)
    async with jola.db.read() as session:
        found = await figures(session, BUSINESS, ZONE, jola.app[keys.CLOCK].now().astimezone(ZONE).date())
    assert found.conversations == 1  # Anna's
    assert found.held == 0 and not any(day for day in found.booked.values())

    assert [c["client"]["name"] for c in (await api(jola, "/api/v1/conversations"))["conversations"]] == [
        "Anna Jensen"
    ]
    assert [c["name"] for c in (await api(jola, "/api/v1/clients"))["clients"]] == ["Anna Jensen"]
    assert (await api(jola, "/api/v1/clients?q=Rita"))["clients"] == []
    assert (await api(jola, "/api/v1/appointments"))["appointments"] == []


async def test_starting_over_cancels_the_booking_and_the_bot_greets_a_new_client(
    jola: Jola, rita: StaffBrowser
) -> None:
    tester = Trying(jola, rita)
    await tester.opens()
    await tester.says("massage today at 11")
    await tester.taps("Yes, book it")
    [before] = await made_in_tests(jola)

    await tester.starts_over()
    [appointment] = await appointments(jola)
    assert appointment.status == "cancelled"
    assert '<span class="pill test-tag"' not in await rita.get("/calendar?date=2026-11-25")
    async with jola.db.read() as session:
        assert (await session.scalars(select(Conversation.id))).all() == []  # its messages went with it
        assert (await session.scalars(select(Message.id))).all() == []
        assert (await session.scalars(select(ClientIdentity.id))).all() == []
        kept = await session.get(Client, before.id)
        assert kept is not None and (kept.test, kept.name, kept.phone) == (True, None, None)  # holds history
    assert await book_at_eleven(jola) == 201  # the time is free again, for everyone
    async with jola.db.read() as session:
        found = await figures(session, BUSINESS, ZONE, jola.app[keys.CLOCK].now().astimezone(ZONE).date())
    assert found.cancelled == 0  # the test booking's cancellation is no statistic either

    [greeting] = await tester.says("hi")
    assert greeting["text"] == "Hi Rita, welcome to Harbour Clinic!\nWhat would you like to book?"
    [now] = [c for c in await made_in_tests(jola) if c.name]
    assert now.id != before.id  # a new test client


async def test_coming_back_clears_what_was_tried_before(jola: Jola, rita: StaffBrowser) -> None:
    tester = Trying(jola, rita)
    await tester.opens()
    await tester.says("massage today at 11")
    await tester.taps("Yes, book it")
    await tester.opens("messenger")
    assert [a.status for a in await appointments(jola)] == ["cancelled"]
    assert [(c.name, c.phone) for c in await made_in_tests(jola)] == [(None, None)]


async def test_the_options_look_as_each_channel_draws_them(jola: Jola, rita: StaffBrowser) -> None:
    tester = Trying(jola, rita)
    await tester.opens("messenger")
    [welcome] = await tester.says("hi")
    assert welcome["text"] == "Hi, welcome to Harbour Clinic!\nWhat would you like to book?"
    assert [b["title"] for b in welcome["buttons"]] == ["Massage", "Physiotherapy", "Talk to a person"]
    [times] = await tester.taps("Massage")
    assert [q["title"] for q in times["quick_replies"]][:2] == ["Today 11:00", "Today 13:00"]

    await tester.opens("instagram")
    [welcome] = await tester.says("hi")
    assert welcome["text"].endswith(
        "What would you like to book?\n\n1. Massage\n2. Physiotherapy\n3. Talk to a person"
    )
    assert [q["title"] for q in welcome["quick_replies"]] == ["Massage", "Physiotherapy", "Talk to a person"]
    [times] = await tester.says("1")  # Instagram's numbered options can be answered with the number
    assert times["text"].startswith("Massage, 60 min. When would you like to come?")


def test_titles_are_cut_as_the_channel_cuts_them() -> None:
    """Drawn from the adapters' own request bodies: what the page shows is what would be sent."""
    reply = Reply(
        text="Which one?",
        options=tuple(Option(id=f"o{n}", title=f"A rather long option title number {n}") for n in range(2)),
        options_label="See options",
    )
    [whatsapp] = drawn("whatsapp", reply, "4511111111")
    assert whatsapp["list"]["button"] == "See options"
    assert whatsapp["list"]["rows"][0] == {
        "id": "o0",
        "title": "A rather long option…",
        "description": "A rather long option title number 0",
    }
    [messenger] = drawn("messenger", reply, "psid")
    assert [b["title"] for b in messenger["buttons"]] == ["A rather long…", "A rather long…"]


async def test_the_playground_is_each_staff_members_own(jola: Jola, rita: StaffBrowser) -> None:
    """A login and the form's token are needed; one person's test conversation is not another's."""
    stranger = StaffBrowser(jola)
    page = await stranger.get("/playground")
    assert page.url == "/login?next=/playground"
    await stranger.close()
    tester = Trying(jola, rita)
    await tester.opens()
    forged = await rita.post(
        "/playground/messages", {"channel": "whatsapp", "run": tester.run, "text": "hi"}, csrf="x"
    )
    assert forged.status == 403
    for fields in (
        {"channel": "telegram", "run": tester.run, "text": "hi"},
        {"channel": "whatsapp", "run": "abc", "text": "hi"},
        {"channel": "whatsapp", "run": tester.run, "text": "  "},
    ):
        assert (await rita.post("/playground/messages", fields)).status == 400, fields
    await tester.says("hi")
    await add_account(jola, "mia@harbour.example", name="Mia Holm")
    mia = StaffBrowser(jola)
    await mia.log_in("mia@harbour.example")
    other = Trying(jola, mia)
    await other.opens()
    other.run = tester.run  # the same run number is still Mia's own conversation, not Rita's
    assert (await other.read())["conversation"] is None
    await mia.close()
    assert (await tester.read())["conversation"] is not None  # Mia's visit cleared only her own
    page = await rita.post("/playground/reset", {"channel": "messenger"})  # the form, without the script
    assert page.url == "/playground?channel=messenger" and 'data-channel="messenger"' in page


# ---------------------------------------------------------------------------------- never a real client


async def test_a_messenger_tester_who_gives_a_real_clients_number_is_not_linked_to_them(
    jola: Jola, rita: StaffBrowser
) -> None:
    anna = WhatsAppClient(jola, wa_id="4522334455", name="Anna Jensen", user_id=None)
    await anna.says("hi")
    tester = Trying(jola, rita)
    await tester.opens("messenger")
    await tester.says("massage friday at 10")
    await tester.says("Rita Hansen")
    [summary] = await tester.says("+45 22 33 44 55")  # Anna's number
    assert summary["text"].startswith("Shall I book this?")  # not "we sent a question to that number"
    await tester.taps("Yes, book it")
    assert await anna.says("thanks") != [] and all(  # Anna was never asked to link with the tester
        "Messenger" not in call.text for call in jola.graph.sent_to("4522334455")
    )
    [test_client] = await made_in_tests(jola)
    async with jola.db.read() as session:
        anna_id = (await session.scalars(select(Client.id).where(Client.name == "Anna Jensen"))).one()
        record = await client_record(session, BUSINESS, anna_id)
        assert record is not None and record.possible_duplicates == []
    assert test_client.id != anna_id and test_client.phone == "+4522334455"
    # Staff booking for that number finds Anna, never the tester.
    response = await jola.client.post(
        "/api/v1/appointments",
        json={"service": "massage", "start": "2026-11-30T10:00:00+01:00", "client": {"phone": "+4522334455"}},
        headers=API,
    )
    assert (await response.json())["client"]["id"] == anna_id
    link = await jola.client.post(
        f"/api/v1/clients/{anna_id}/link", json={"client_id": test_client.id}, headers=API
    )
    assert link.status == 404


async def test_jola_chat_clients_are_test_clients(jola: Jola, monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal's client writes from the same number as a real client: two records, one of them test."""
    real = WhatsAppClient(jola, wa_id="4512345678", name="Real Person", user_id=None)
    await real.says("hi")
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello\n/quit\n"))
    out = io.StringIO()
    await chat(jola.app[keys.CONFIG], channel="whatsapp", as_id=None, business_id=None, out=out)
    assert "Harbour Clinic: Hi, welcome to Harbour Clinic!" in out.getvalue()
    [terminal] = await made_in_tests(jola)
    assert terminal.phone == "+4512345678"
    assert [c["name"] for c in (await api(jola, "/api/v1/clients"))["clients"]] == ["Real Person"]


async def test_test_clients_older_than_a_day_are_swept_away(
    running: tuple[Jola, SettableClock], rita: StaffBrowser
) -> None:
    jola, clock = running
    tester = Trying(jola, rita)
    await tester.opens()
    await tester.says("massage friday at 10")
    await tester.taps("Yes, book it")
    await jola.app[keys.PIPELINE].keep_house()
    assert [a.status for a in await appointments(jola)] == ["booked"]  # not yet a day old
    clock.advance(hours=25)
    await jola.app[keys.PIPELINE].keep_house()
    assert [a.status for a in await appointments(jola)] == ["cancelled"]
    async with jola.db.read() as session:
        assert (await session.scalars(select(Conversation.id))).all() == []


# -------------------------------------------------------------------------------------------- in Chromium

SERVICES = [
    {"id": "massage", "name": "Massage", "duration_minutes": 60},
    {"id": "physio", "name": "Physiotherapy", "duration_minutes": 45},
    {"id": "facial", "name": "Facial", "duration_minutes": 30},
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if missing():
        pytest.skip(MISSING)
    async with chromium() as launched:
        yield launched


async def test_the_playground_in_a_browser(
    database: DatabaseTarget, fake_graph: FakeGraph, browser: Any
) -> None:
    from playwright.async_api import expect

    async with clinic(database, fake_graph, services=SERVICES) as (jola, _):
        await add_account(jola)
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(str(jola.client.make_url("/playground")))
        await page.get_by_label("Email").fill("reception@harbour.example")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("heading", name="Playground")).to_be_visible()
        await expect(page.locator(".phone-whatsapp")).to_be_visible()

        await page.get_by_role("link", name="Messenger").click()
        await expect(page.locator(".phone-messenger")).to_be_visible()
        await page.wait_for_selector("[data-pg-live]", state="attached")
        await page.get_by_label("Message").fill("hi")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator(".pg-client").last).to_contain_text("hi")
        greeting = page.locator(".pg-bot").last
        await expect(greeting).to_contain_text("What would you like to book?")
        chips = page.locator(".pg-chips .pg-chip")
        await expect(chips).to_have_text(["Massage", "Physiotherapy", "Facial", "Talk to a person"])
        await page.screenshot(path=str(os.environ.get("JOLA_SCREENSHOTS", "/tmp")) + "/jola-playground.png")

        await chips.filter(has_text="Facial").click()
        await expect(page.locator(".pg-client").last).to_contain_text("Facial")
        await expect(page.locator(".pg-bot").last).to_contain_text(
            "Facial, 30 min. When would you like to come?"
        )
        await expect(page.locator(".pg-chips .pg-chip").first).to_have_text("Today 11:00")

        await page.get_by_role("button", name="Start over").click()
        await expect(page.locator(".pg-msg")).to_have_count(0)
        await expect(page.get_by_text("Say hello to the bot to begin.")).to_be_visible()
        await context.close()
