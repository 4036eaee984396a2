"""The settings pages (issue 16): the owner sets up the business, a bad value is refused with its field
named and nothing half-saved, the next client message uses what was saved, and every change is recorded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot import keys
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import Page, StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
async def running(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[tuple[Jola, object]]:
    async with clinic(database, fake_graph) as (jola, _):
        await add_account(jola, "olivia@harbour.example", name="Olivia Owner", role="owner")
        await add_account(jola)
        yield jola, WhatsAppClient(jola)


@pytest.fixture
async def owner(running: tuple[Jola, object]) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(running[0])
    await browser.log_in("olivia@harbour.example")
    yield browser
    await browser.close()


async def send(browser: StaffBrowser, path: str, fields: list[tuple[str, str]]) -> Page:
    """A form as a browser sends it: repeated names (checkboxes) kept, with the page's CSRF token and
    the settings version the page showed."""
    version = (
        re.search(r'name="version" value="(\d*)"', browser.last.text) if hasattr(browser, "last") else None
    )
    data = [*fields, ("csrf_token", browser.csrf)]
    if version and not any(name == "version" for name, _ in fields):
        data.append(("version", version.group(1)))
    async with browser.http.post(browser.base + path, data=data, headers={"Accept": "text/html"}) as response:
        page = browser._read(response.status, await response.text(), str(response.url))
    browser.last = page  # type: ignore[attr-defined]
    return page


async def open_page(browser: StaffBrowser, path: str) -> Page:
    page = await browser.get(path)
    browser.last = page  # type: ignore[attr-defined]
    return page


def hours_fields(**days: str) -> list[tuple[str, str]]:
    return [(f"hours_{day}", days.get(day, "")) for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]


async def test_only_the_owner_sees_and_changes_settings(running: tuple[Jola, object]) -> None:
    jola, _ = running
    rita = StaffBrowser(jola)
    await rita.log_in()
    assert 'href="/settings"' not in await rita.get("/inbox")
    assert (await rita.get("/settings")).status == 403
    assert (await rita.post("/settings/general", {"name": "Mine now"})).status == 403
    await rita.close()


async def test_the_owner_renames_the_business_and_the_next_client_message_uses_it(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    _jola, patient = running
    page = await open_page(owner, "/settings")
    assert page.status == 200 and 'value="Harbour Clinic"' in page
    saved = await send(
        owner,
        "/settings/general",
        [("name", "Harbour Physio"), ("timezone", "Europe/Copenhagen"), ("locale", "en"), ("currency", "dkk"),
         ("phone", "+45 33 12 34 56"), ("address", "Havnegade 12")],
    )  # fmt: skip
    assert saved.url == "/settings?saved=1" and "Saved." in saved and 'value="Harbour Physio"' in saved
    assert 'value="DKK"' in saved
    replies = await patient.says("hi")  # type: ignore[attr-defined]
    assert "Harbour Physio" in replies[0].text
    changes = await open_page(owner, "/settings/changes")
    assert "Olivia Owner" in changes and "Harbour Clinic → Harbour Physio" in changes


@pytest.mark.parametrize(
    ("path", "fields", "where", "message"),
    [
        ("/settings/hours", hours_fields(mon="08:00-12:00, 11:00-14:00"), "Opening hours › Monday",
         '"08:00-12:00" and "11:00-14:00" overlap'),
        ("/settings/hours", hours_fields(tue="17:00-09:00"), "Opening hours › Tuesday",
         '"17:00-09:00" ends before it starts'),
        ("/settings/hours",
         [*hours_fields(mon="08:00-16:00"), ("new_start", "2020-01-01"), ("new_name", "Old")],
         "Closed dates › new › First closed date", "that date has passed"),
        ("/settings/services",
         [("index", "0"), ("action", "save"), ("name", "Massage"), ("duration_minutes", "0"),
          ("capacity", "1"), ("active", "on")],
         "Services › Massage › Duration (minutes)", "must be at least 5"),
        ("/settings/services", [("index", "0"), ("action", "save"), ("name", "Massage"),
                                ("duration_minutes", "sixty"), ("capacity", "1")],
         "Services › Massage › Duration (minutes)", "must be a whole number"),
        ("/settings/replies", [("action", "add"), ("keywords", " , "), ("answer", "Free parking.")],
         "Answers", "give at least one keyword or phrase"),
        ("/settings/replies", [("action", "texts"), ("greeting", "Hi {{ client.__class__ }}")],
         "Automated replies › Greeting", "is not a variable you can use"),
        ("/settings/replies", [("action", "texts"), ("away", "{% for i in range(10) %}x{% endfor %}")],
         "Automated replies › Away message", "loops and function calls are not allowed"),
        ("/settings/booking", [("slot_step_minutes", "15"), ("buffer_minutes", "0"), ("min_notice", "soon"),
                               ("max_ahead", "60d"), ("lead_times", "24h")],
         "Booking › Shortest notice", 'is not a duration like "2h"'),
        ("/settings/booking", [("slot_step_minutes", "15"), ("buffer_minutes", "0"), ("min_notice", "2h"),
                               ("max_ahead", "60d"), ("lead_times", "24h"),
                               ("messenger_template", "Appointment Update")],
         "Reminders › Messenger utility template", "is not in the expected form"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(
    running: tuple[Jola, object], owner: StaffBrowser, path: str, fields: list[tuple[str, str]], where: str,
    message: str,
) -> None:  # fmt: skip
    jola, _ = running
    before = await _document(jola)
    page = await open_page(owner, path.replace("/settings/general", "/settings"))
    assert page.status == 200
    refused = await send(owner, path, fields)
    assert refused.status == 400, refused.text[:500]
    assert "Nothing was saved" in refused
    assert where in refused.text, re.findall(r"<li><strong>(.*?)</li>", refused.text)
    assert message.replace('"', "&#34;") in refused.text or message in refused.text
    assert 'aria-invalid="true"' in refused
    assert await _document(jola) == before


async def test_opening_hours_and_closed_dates_take_effect_on_the_next_message(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    _jola, patient = running
    await open_page(owner, "/settings/hours")
    saved = await send(
        owner,
        "/settings/hours",
        [*hours_fields(mon="8-12, 13:00–17", sat="10-14"), ("new_start", "2026-12-24"),
         ("new_end", "2026-12-26"), ("new_name", "Christmas")],
    )  # fmt: skip
    assert saved.status == 200 and 'value="08:00-12:00, 13:00-17:00"' in saved and "Christmas" in saved
    [reply] = await patient.says("what are your opening hours?")  # type: ignore[attr-defined]
    assert "Saturday 10:00–14:00" in reply.text
    assert "closed 24–26 December (Christmas)" in reply.text


async def test_two_owners_saving_at_once_do_not_overwrite_each_other_unseen(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    jola, _ = running
    await add_account(jola, "otto@harbour.example", name="Otto Owner", role="owner")
    otto = StaffBrowser(jola)
    await otto.log_in("otto@harbour.example")
    await open_page(owner, "/settings")
    await open_page(otto, "/settings")
    general = [("timezone", "Europe/Copenhagen"), ("locale", "en"), ("currency", "DKK")]
    assert (await send(owner, "/settings/general", [("name", "Olivia's name"), *general])).status == 200
    late = await send(otto, "/settings/general", [("name", "Otto's name"), *general])
    assert late.status == 409 and "Someone else saved these settings a moment ago" in late
    assert 'value="Olivia&#39;s name"' in late
    await otto.close()


async def test_the_owner_names_the_templates_reminders_use_outside_the_window(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    jola, _ = running
    page = await open_page(owner, "/settings/booking")
    assert 'value="appointment_reminder"' in page and 'name="messenger_template" value=""' in page
    saved = await send(
        owner,
        "/settings/booking",
        [("slot_step_minutes", "15"), ("buffer_minutes", "0"), ("min_notice", "2h"), ("max_ahead", "60d"),
         ("lead_times", "24h, 2h"), ("quiet_hours", "21:00-08:00"), ("whatsapp_template", "reminder_v2"),
         ("template_language", "da"), ("messenger_template", "appointment_update"),
         ("messenger_template_language", "")],
    )  # fmt: skip
    assert saved.status == 200 and 'value="appointment_update"' in saved
    reminders = (await _document(jola))["reminders"]
    assert (reminders["whatsapp_template"], reminders["template_language"]) == ("reminder_v2", "da")
    assert (reminders["messenger_template"], reminders["messenger_template_language"]) == (
        "appointment_update",
        "en_US",
    )


async def test_services_are_added_named_per_language_and_turned_off(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    _jola, patient = running
    await open_page(owner, "/settings/services")
    added = await send(
        owner,
        "/settings/services",
        [("action", "add"), ("name", "Hot stone massage"), ("name_other", "Hot stone-massage"),
         ("duration_minutes", "75"), ("price", "650"), ("capacity", "1")],
    )  # fmt: skip
    assert added.status == 200 and "Hot stone massage" in added
    [reply] = await patient.says("how much is a hot stone massage?")  # type: ignore[attr-defined]
    assert "650" in reply.text
    index = _index_of(added.text, "Hot stone massage")
    off = await send(
        owner,
        "/settings/services",
        [("index", index), ("action", "save"), ("name", "Hot stone massage"), ("duration_minutes", "75"),
         ("capacity", "1")],
    )  # fmt: skip
    assert "Not offered" in off
    [reply] = await patient.says("how much is a hot stone massage?")  # type: ignore[attr-defined]
    assert "650" not in reply.text


def _index_of(page: str, name: str) -> str:
    for index, block in re.findall(r'name="index" value="(\d+)">(.*?)</form>', page, re.S):
        if f'value="{name}"' in block:
            return str(index)
    raise AssertionError(f"{name} not on the page")


async def test_answers_are_ordered_and_a_new_one_answers_the_next_message(
    running: tuple[Jola, object], owner: StaffBrowser
) -> None:
    _jola, patient = running
    page = await open_page(owner, "/settings/replies")
    assert "Stop, talk to a person, start over, help" in page and "Opening hours (built in)" in page
    await send(
        owner,
        "/settings/replies",
        [("action", "add"), ("keywords", "parking, parkering"),
         ("answer", "Free parking at {{ business.name }}."), ("channels", "whatsapp"),
         ("offer_booking", "on")],
    )  # fmt: skip
    [reply] = await patient.says("is there parkinng?")  # type: ignore[attr-defined]
    assert reply.text.endswith("\nFree parking at Harbour Clinic.")
    rules = await open_page(owner, "/settings/replies")
    order = re.findall(
        r"<strong>(parking, parkering|Opening hours \(built in\)|Prices \(built in\))</strong>", rules.text
    )
    assert order == ["parking, parkering", "Opening hours (built in)", "Prices (built in)"]
    moved = await send(owner, "/settings/replies", [("index", "1"), ("action", "up")])
    order = re.findall(
        r"<strong>(parking, parkering|Opening hours \(built in\)|Prices \(built in\))</strong>", moved.text
    )
    assert order == ["Opening hours (built in)", "parking, parkering", "Prices (built in)"]


async def test_time_off_is_added_and_removed_and_recorded(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    people = [{"id": "mia", "name": "Mia Holm"}, {"id": "jon", "name": "Jon Berg"}]
    async with clinic(database, fake_graph, practitioners=people) as (jola, _):
        await add_account(jola, "olivia@harbour.example", name="Olivia Owner", role="owner")
        owner = StaffBrowser(jola)
        await owner.log_in("olivia@harbour.example")
        page = await open_page(owner, "/settings/people")
        assert "Mia Holm" in page and "No time off planned." in page
        added = await send(
            owner,
            "/settings/people/time-off",
            [("practitioner", "mia"), ("from", "2026-11-30"), ("to", "2026-12-01"), ("note", "Course")],
        )  # fmt: skip
        assert added.status == 200 and "Course" in added
        past = await send(
            owner, "/settings/people/time-off", [("practitioner", "mia"), ("from", "2026-11-01")]
        )
        assert past.status == 400 and "that date has passed" in past
        time_off_id = re.search(r"/settings/people/time-off/(\d+)/remove", added.text).group(1)  # type: ignore[union-attr]
        removed = await send(
            owner, f"/settings/people/time-off/{time_off_id}/remove", [("practitioner", "mia")]
        )
        assert "Course" not in removed.text.split("Jon Berg")[0]
        changes = await open_page(owner, "/settings/changes")
        assert changes.text.count("time off") >= 2 and "2026-11-30 – 2026-12-01 (Course)" in changes
        renamed = await send(
            owner, "/settings/people",
            [("group", "practitioners"), ("index", "1"), ("action", "save"), ("name", "Jon Bergmann"),
             ("services", "massage")],
        )  # fmt: skip
        assert renamed.status == 200 and "Jon Bergmann" in renamed
        response = await jola.client.get(
            "/api/v1/practitioners", headers={"Authorization": "Bearer api-token"}
        )
        listed = await response.json()
        assert {"id": "jon", "name": "Jon Bergmann", "services": ["massage"]} in listed["practitioners"]
        await owner.close()


async def _document(jola: Jola) -> dict[str, object]:
    from storage import business_settings as store

    async with jola.db.read() as session:
        stored = await store.load(session, "harbour-clinic")
    assert stored is not None
    return {"version": stored.version, **stored.document}


def _now(jola: Jola) -> datetime:
    return jola.app[keys.CLOCK].now().astimezone(UTC)
