"""The inbox and a conversation in the staff web app: what needs a person stands out, taking over keeps
the bot quiet, a reply reaches the client, handing back lets the bot go on where it was (issue 15).

The clinic is open weekdays 08:00-12:00 and 13:00-17:00; it is Wednesday 25 November 2026, 09:00 there.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from storage.models import Conversation
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_status
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
TEMPLATES = [
    {
        "name": "follow_up",
        "language": "en",
        "label": "Follow-up",
        "text": "Hi {{1}}, this is {{2}} from Harbour Clinic. Could you write back to us?",
    }
]


@pytest.fixture
async def running(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> AsyncIterator[tuple[Jola, SettableClock]]:
    async with clinic(database, fake_graph, message_templates=TEMPLATES) as (jola, clock):
        await add_account(jola)
        await add_account(jola, "mia@harbour.example", name="Mia Holm")
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


def client_of(jola: Jola, wa_id: str, name: str) -> WhatsAppClient:
    """A client of their own (no shared user id): one conversation each."""
    return WhatsAppClient(jola, wa_id=wa_id, name=name, user_id=None)


async def conversation_of(jola: Jola, client: WhatsAppClient) -> int:
    async with jola.db.read() as session:
        rows = (await session.execute(select(Conversation.id, Conversation.key))).all()
    return next(cid for cid, key in rows if client.wa_id in key)


def rows_of(page: str) -> list[str]:
    """Client names in the inbox, top to bottom."""
    return [html.unescape(part.split("</span>")[0]) for part in page.split('<span class="name">')[1:]]


async def test_a_client_who_asks_for_a_person_stands_out(jola: Jola, rita: StaffBrowser) -> None:
    await client_of(jola, "4511111111", "Anna Jensen").says("massage tomorrow at 10")
    await client_of(jola, "4522222222", "Bo Berg").says("I want to talk to a person")
    inbox = await rita.get("/inbox")
    assert rows_of(inbox.text) == ["Bo Berg", "Anna Jensen"]  # newest activity first
    assert '<span class="count urgent" data-count="needs_staff">1</span>' in inbox
    bo = inbox.text.split('<span class="name">Bo Berg')[0].rsplit("<li", 1)[1]
    assert 'class="conversation needs-staff unread"' in bo
    needing = await rita.get("/inbox?show=needs_staff")
    assert rows_of(needing.text) == ["Bo Berg"]
    assert rows_of((await rita.get("/inbox?show=bot")).text) == ["Anna Jensen"]


async def test_search_by_name_or_phone(jola: Jola, rita: StaffBrowser) -> None:
    await client_of(jola, "4511111111", "Anna Jensen").says("hi")
    await client_of(jola, "4522222222", "Bo Berg").says("hi")
    assert rows_of((await rita.get("/inbox?q=jens")).text) == ["Anna Jensen"]
    assert rows_of((await rita.get("/inbox?q=%2B45%2022%2022")).text) == ["Bo Berg"]
    nothing = await rita.get("/inbox?q=%25_%27%22%3Cscript%3E")  # wildcards and markup are only text
    assert nothing.status == 200 and "No conversations match" in nothing and "<script>" not in nothing


async def test_paged_without_gaps_or_repeats(
    jola: Jola, rita: StaffBrowser, running: tuple[Jola, SettableClock]
) -> None:
    clock = running[1]
    for n in range(55):
        await client_of(jola, f"45300000{n:02d}", f"Client {n:02d}").says("hi")
        clock.advance(seconds=1)
    first = await rita.get("/inbox")
    names = rows_of(first.text)
    assert len(names) == 50 and names[0] == "Client 54"
    link = html.unescape(first.text.split('<p class="more"><a class="button" href="')[1].split('"')[0])
    second = rows_of((await rita.get(link)).text)
    assert second == [f"Client {n:02d}" for n in range(4, -1, -1)]
    assert len(set(names) | set(second)) == 55


async def test_unread_until_opened(jola: Jola, rita: StaffBrowser) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    await client.says("are you open on saturday?")
    assert '<span class="unread-count" aria-label="2 unread">2</span>' in await rita.get("/inbox")
    await rita.get(f"/conversations/{await conversation_of(jola, client)}")
    assert "unread-count" not in (await rita.get("/inbox")).text
    mia = StaffBrowser(jola)  # unread is per person
    await mia.log_in("mia@harbour.example")
    assert "unread-count" in (await mia.get("/inbox")).text
    await mia.close()


async def test_take_over_reply_and_hand_back(jola: Jola, rita: StaffBrowser) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    [when] = await client.says("massage friday")
    assert when.text.startswith("Hi Anna, welcome to Harbour Clinic!\nFree times Friday 27 November.")
    conversation = await conversation_of(jola, client)
    page = await rita.get(f"/conversations/{conversation}")
    assert "The bot is answering" in page and "massage friday" in page and "Free times Friday" in page
    page = await rita.post(f"/conversations/{conversation}/takeover")
    assert page.url == f"/conversations/{conversation}" and "You have it" in page
    assert await client.says("actually, do you have parking?") == []  # the bot stays silent
    page = await rita.post(f"/conversations/{conversation}/reply", {"text": "Yes, behind the building."})
    assert "actually, do you have parking?" in page and "Yes, behind the building." in page
    await jola.settle()
    [staff_reply] = jola.graph.sent_to("4511111111")[-1:]
    assert staff_reply.text == "Yes, behind the building."
    client.seen += 1
    page = await rita.post(f"/conversations/{conversation}/release")
    assert "The bot is answering" in page
    [summary] = await client.says("10:00 please")  # the bot goes on where it was: Friday, massage
    assert summary.text.startswith("Shall I book this?\nMassage (60 min)\nFriday 27 November at 10:00")


async def test_a_reply_over_the_channels_limit_is_refused_with_the_limit(
    jola: Jola, rita: StaffBrowser
) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    conversation = await conversation_of(jola, client)
    await rita.get(f"/conversations/{conversation}")
    page = await rita.post(f"/conversations/{conversation}/reply", {"text": "x" * 4097})
    assert page.status == 400
    assert "The message is too long for WhatsApp: at most 4096 characters." in page
    assert "x" * 4097 in page  # the draft is kept
    empty = await rita.post(f"/conversations/{conversation}/reply", {"text": "   "})
    assert empty.status == 400 and "Write a message first." in empty
    assert len(jola.graph.sent_to("4511111111")) == 1  # only the bot's greeting


async def test_the_reply_box_knows_the_window(
    jola: Jola, rita: StaffBrowser, running: tuple[Jola, SettableClock]
) -> None:
    clock = running[1]
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    conversation = await conversation_of(jola, client)
    clock.advance(hours=20, minutes=30)
    assert "Reply window open: 3 h 30 min left." in await rita.get(f"/conversations/{conversation}")
    clock.advance(hours=4)
    page = await rita.get(f"/conversations/{conversation}")
    assert "The 24-hour window is closed: WhatsApp allows only an approved message template" in page
    assert 'name="text"' not in page
    refused = await rita.post(f"/conversations/{conversation}/reply", {"text": "Hello?"})
    assert refused.status == 409 and "The reply window closed before the message went out." in refused
    assert "Hi {{1}}, this is {{2}} from Harbour Clinic. Could you write back to us?" in refused


async def test_outside_the_window_an_approved_template_goes_out(
    jola: Jola, rita: StaffBrowser, running: tuple[Jola, SettableClock]
) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    conversation = await conversation_of(jola, client)
    running[1].advance(hours=30)
    await rita.get(f"/conversations/{conversation}")
    half = await rita.post(
        f"/conversations/{conversation}/template", {"template": "follow_up", "value": "Anna"}
    )
    assert half.status == 400 and "Fill in every value of the template" in half
    assert 'value="Anna"' in half  # what was typed stays
    form = aiohttp.FormData()
    for key, value in (
        ("template", "follow_up"),
        ("value", "Anna"),
        ("value", "Rita"),
        ("csrf_token", rita.csrf),
    ):
        form.add_field(key, value)
    async with rita.http.post(rita.base + f"/conversations/{conversation}/template", data=form) as response:
        page = await response.text()
    assert "Hi Anna, this is Rita from Harbour Clinic. Could you write back to us?" in page
    await jola.settle()
    sent = jola.graph.sent_to("4511111111")[-1].body
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "follow_up" and sent["template"]["language"] == {"code": "en"}
    assert [p["text"] for p in sent["template"]["components"][0]["parameters"]] == ["Anna", "Rita"]
    unknown = await rita.post(f"/conversations/{conversation}/template", {"template": "nope", "value": "x"})
    assert unknown.status == 400


async def test_give_a_conversation_to_a_colleague(jola: Jola, rita: StaffBrowser) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("I want to talk to a person")
    conversation = await conversation_of(jola, client)
    mia = StaffBrowser(jola)
    await mia.log_in("mia@harbour.example")
    assert rows_of((await mia.get("/inbox?show=mine")).text) == []
    page = await rita.get(f"/conversations/{conversation}")
    mia_id = page.text.split("Mia Holm</option>")[0].rsplit('<option value="', 1)[1].split('"')[0]
    await rita.post(f"/conversations/{conversation}/assign", {"staff_id": mia_id})
    assert rows_of((await mia.get("/inbox?show=mine")).text) == ["Anna Jensen"]
    bad = await rita.post(f"/conversations/{conversation}/assign", {"staff_id": "999999"})
    assert bad.status == 400 and "Choose a colleague from the list." in bad
    worse = await rita.post(f"/conversations/{conversation}/assign", {"staff_id": "'; drop table staff"})
    assert worse.status == 400
    await mia.close()


@pytest.mark.parametrize("path", ["/conversations/999999", "/conversations/abc", "/conversations/1e3"])
async def test_unknown_conversations_are_404(rita: StaffBrowser, path: str) -> None:
    assert (await rita.get(path)).status == 404


async def test_danish_for_a_danish_colleague(jola: Jola) -> None:
    await add_account(jola, "mette@harbour.example", name="Mette", locale="da")
    await client_of(jola, "4511111111", "Anna Jensen").says("Jeg vil gerne tale med et menneske")
    mette = StaffBrowser(jola)
    await mette.log_in("mette@harbour.example")
    inbox = await mette.get("/inbox")
    assert '<html lang="da">' in inbox and "Indbakke" in inbox and "Skal have hjælp" in inbox
    await mette.close()


async def test_many_tabs_opening_a_conversation_at_once(jola: Jola, rita: StaffBrowser) -> None:
    """Each tab marks it read: the first inserts, the others update, none fails (a review found a race)."""
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    conversation = await conversation_of(jola, client)
    pages = await asyncio.gather(*(rita.get(f"/conversations/{conversation}") for _ in range(6)))
    assert [page.status for page in pages] == [200] * 6


async def test_a_message_that_never_arrived_says_why_in_plain_words(jola: Jola, rita: StaffBrowser) -> None:
    client = client_of(jola, "4511111111", "Anna Jensen")
    await client.says("hi")
    [greeting] = jola.graph.sent_to("4511111111")
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    await jola.deliver(whatsapp_status(greeting.message_id, "failed", errors=errors))
    await jola.settle()
    page = await rita.get(f"/conversations/{await conversation_of(jola, client)}")
    assert (
        'class="why" title="Re-engagement message">Not delivered: More than 24 hours since the client wrote: '
        "only an approved template can be sent.</p>"
    ) in page
