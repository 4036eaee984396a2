"""Saved replies: the owner keeps them, every colleague uses them from the reply box (issue 15)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import DatabaseTarget, Jola
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running, "olivia@harbour.example", name="Olivia Owner", role="owner")
        await add_account(running)
        yield running


@pytest.fixture
async def owner(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in("olivia@harbour.example")
    yield browser
    await browser.close()


async def test_the_owner_keeps_saved_replies(owner: StaffBrowser) -> None:
    await owner.get("/replies")
    page = await owner.post("/replies", {"shortcut": "/Parking", "text": "Free parking behind the clinic."})
    assert page.url == "/replies" and 'value="parking"' in page and "Free parking behind the clinic." in page
    taken = await owner.post("/replies", {"shortcut": "parking", "text": "Again"})
    assert taken.status == 400 and "Another saved reply has that shortcut." in taken
    for shortcut, text, error in [
        ("", "x", "Fill in a shortcut and a text."),
        ("two words", "x", "A shortcut is one word: letters, digits and dashes."),
        ("long", "x" * 1001, "A saved reply can be at most 1000 characters."),
    ]:
        bad = await owner.post("/replies", {"shortcut": shortcut, "text": text})
        assert bad.status == 400 and error in bad, error
    reply_id = page.text.split('action="/replies/')[1].split('"')[0]
    changed = await owner.post(f"/replies/{reply_id}", {"shortcut": "parking", "text": "Parking: behind us."})
    assert "Parking: behind us." in changed
    gone = await owner.post(f"/replies/{reply_id}/delete")
    assert "No saved replies yet." in gone


async def test_staff_use_them_but_do_not_change_them(jola: Jola, owner: StaffBrowser) -> None:
    await owner.get("/replies")
    await owner.post("/replies", {"shortcut": "parking", "text": "Free parking behind the clinic."})
    rita = StaffBrowser(jola)
    await rita.log_in()
    page = await rita.get("/replies")
    assert "/parking" in page and 'action="/replies"' not in page
    assert (await rita.post("/replies", {"shortcut": "x", "text": "y"})).status == 403
    await rita.close()
