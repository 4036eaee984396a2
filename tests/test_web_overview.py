"""The staff app's home page: today and this week, what needs a person, and the last 30 days as charts
(issue 16, the overview). It is Wednesday 25 November 2026, 09:00 in Copenhagen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

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


async def test_the_overview_counts_what_happened(jola: Jola) -> None:
    anna = WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None)
    await anna.says("massage today at 13")
    await anna.taps("Yes, book it")  # booked by the bot, today
    await WhatsAppClient(jola, wa_id="4522222222", name="Bo Berg", user_id=None).says("I want a person")
    carl = WhatsAppClient(jola, wa_id="4533333333", name="Carl Dam", user_id=None)
    await carl.says("massage friday at 10")
    await carl.taps("Yes, book it")
    await carl.says("cancel my appointment")
    await carl.taps("Yes, cancel it")
    rita = StaffBrowser(jola)
    await rita.log_in()
    page = await rita.get("/")
    text = re.sub(r"\s+", " ", page.text)
    urgent = '<a class="tile urgent" href="/inbox?show=needs_staff"><span class="big">1</span>'
    assert urgent + " conversations need staff" in text
    assert '<span class="big">1</span> appointments today' in text
    assert "13:00</strong> Massage</a> · Anna Jensen" in text
    assert (
        '<span class="big">67 %</span> of 3 conversations the bot finished without staff' in text
    )  # not Bo's
    assert '<span class="big">1</span> cancelled' in text
    bars = re.findall(r'<rect class="bar bar-whatsapp" x="(\d+)"', page.text)
    assert bars == ["349"]  # today is the 30th day: two bookings made today, one bar
    assert "today, Wednesday 25 November: 2" in page
    await rita.close()


async def test_an_empty_business_reads_well(jola: Jola) -> None:
    rita = StaffBrowser(jola)
    await rita.log_in()
    page = await rita.get("/")
    assert (
        page.status == 200
        and "No bookings made in the last 30 days." in page
        and "Nothing more today." in page
    )
    await rita.close()
