"""Client records in the staff app, and a staff member's own language (issue 15).

The clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00 there.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.models import Client
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running)
        yield running


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


def names(page: str) -> list[str]:
    return [html.unescape(part.split("</span>")[0]) for part in page.split('<span class="name">')[1:]]


async def client_id(jola: Jola, name: str) -> int:
    async with jola.db.read() as session:
        return int((await session.execute(select(Client.id).where(Client.name == name))).scalar_one())


async def test_the_list_newest_first_searched_and_paged(jola: Jola, rita: StaffBrowser) -> None:
    for n in range(53):
        await WhatsAppClient(jola, wa_id=f"45400000{n:02d}", name=f"Client {n:02d}", user_id=None).says("hi")
    first = await rita.get("/clients")
    assert names(first.text)[:2] == ["Client 52", "Client 51"] and len(names(first.text)) == 50
    more = html.unescape(re.search(r'<p class="more"><a class="button" href="([^"]+)"', first.text).group(1))
    assert names((await rita.get(more)).text) == ["Client 02", "Client 01", "Client 00"]
    assert names((await rita.get("/clients?q=client%2007")).text) == ["Client 07"]
    assert names((await rita.get("/clients?q=4540000012")).text) == ["Client 12"]
    assert "No clients match" in await rita.get("/clients?q=nobody")


async def test_a_record_holds_every_message_and_booking_event(jola: Jola, rita: StaffBrowser) -> None:
    client = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await client.says("massage friday at 10")
    await client.taps("Yes, book it")
    record = await rita.get(f"/clients/{await client_id(jola, 'Anna Jensen')}")
    assert "massage friday at 10" in record
    assert "You&#39;re booked: Massage, Friday 27 November at 10:00." in record
    assert "Fri 27 Nov 10:00</strong> Massage" in record
    assert re.search(r"Booked by the (client|bot)", record.text)
    assert "+4511111111" in record


async def test_notes_are_kept_and_shown_beside_the_conversation(jola: Jola, rita: StaffBrowser) -> None:
    await WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None).says("hi")
    anna = await client_id(jola, "Anna Jensen")
    await rita.get(f"/clients/{anna}")
    saved = await rita.post(f"/clients/{anna}/notes", {"notes": "Prefers Mia.\r\nBad knee <left>."})
    assert saved.url == f"/clients/{anna}"
    assert "Prefers Mia.\nBad knee &lt;left&gt;.</textarea>" in saved
    long = await rita.post(f"/clients/{anna}/notes", {"notes": "x" * 5001})
    assert long.status == 400 and "Notes can be at most 5000 characters." in long
    assert "x" * 5001 in long  # the text stays for the staff member to shorten
    conversation = re.search(r'href="/conversations/(\d+)"', saved.text).group(1)
    assert "Bad knee &lt;left&gt;." in await rita.get(f"/conversations/{conversation}")


@pytest.mark.parametrize("path", ["/clients/999999", "/clients/x"])
async def test_unknown_clients_are_404(rita: StaffBrowser, path: str) -> None:
    assert (await rita.get(path)).status == 404
    assert (await rita.post(path + "/notes", {"notes": "hi"})).status in (403, 404)


async def test_each_person_chooses_the_apps_language(jola: Jola, rita: StaffBrowser) -> None:
    await rita.get("/account")
    page = await rita.post("/account/language", {"language": "da"})
    assert page.url == "/account?saved=1" and '<html lang="da">' in page and "Gemt." in page
    assert "Indbakke" in await rita.get("/inbox")
    bad = await rita.post("/account/language", {"language": "xx"})
    assert bad.status == 400 and "Vælg et sprog på listen." in bad
