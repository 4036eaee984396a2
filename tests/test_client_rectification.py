"""Correcting a client's record and restricting its processing (issue 18), from the staff app and the REST
API alike: values checked the same way at both doors, clear errors with what was typed kept, and each
change in the audit log by field name, never by value. The clinic's clock stands at Wednesday 25 November
2026, 09:00 in Copenhagen."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import AuditEvent, Client, ClientIdentity
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
NAME, PHONE = "Anna Jensen", "4511111111"


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running)  # Rita Reception, staff
        yield running


@pytest.fixture
async def rita(jola: Jola) -> AsyncIterator[StaffBrowser]:
    browser = StaffBrowser(jola)
    await browser.log_in()
    yield browser
    await browser.close()


async def anna(jola: Jola) -> int:
    """Anna writes "hi" on WhatsApp; her client id."""
    await WhatsAppClient(jola, wa_id=PHONE, name=NAME, user_id=None).says("hi")
    async with jola.db.read() as session:
        return int((await session.execute(select(Client.id).where(Client.name == NAME))).scalar_one())


async def client_row(jola: Jola, client_id: int) -> Any:
    async with jola.db.read() as session:
        return (await session.execute(select(Client).where(Client.id == client_id))).scalar_one()


async def audit_rows(jola: Jola, action: str) -> list[Any]:
    async with jola.db.read() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


async def test_staff_correct_the_details_on_the_record_page(jola: Jola, rita: StaffBrowser) -> None:
    client_id = await anna(jola)
    page = await rita.get(f"/clients/{client_id}")
    assert f'action="/clients/{client_id}/details"' in page and 'value="Anna Jensen"' in page
    saved = await rita.post(
        f"/clients/{client_id}/details",
        {
            "name": "  Anna  Marie Jensen ",
            "phone": "+45 22 33-44 55",
            "email": "anna@example.org",
            "locale": "da",
            "email_reminders": "on",
        },
    )
    assert saved.url == f"/clients/{client_id}?saved=details" and "The details are saved." in saved
    assert "Anna Marie Jensen" in saved and "+4522334455" in saved and "anna@example.org" in saved
    row = await client_row(jola, client_id)
    assert (row.name, row.phone, row.email, row.locale) == (
        "Anna Marie Jensen",
        "+4522334455",
        "anna@example.org",
        "da",
    )
    [event] = await audit_rows(jola, "client.rectified")
    assert (event.actor_kind, event.subject_type, event.subject_id) == ("staff", "client", client_id)
    assert event.detail == {"fields": ["email", "locale", "name", "phone"]}
    # The same values again change nothing, and log nothing.
    await rita.post(
        f"/clients/{client_id}/details",
        {
            "name": "Anna Marie Jensen",
            "phone": "+4522334455",
            "email": "anna@example.org",
            "locale": "da",
            "email_reminders": "on",
        },
    )
    assert len(await audit_rows(jola, "client.rectified")) == 1
    # Clearing the address and unticking reminders by email are corrections too.
    await rita.post(
        f"/clients/{client_id}/details",
        {"name": "Anna Marie Jensen", "phone": "+4522334455", "email": "", "locale": "da"},
    )
    assert (await client_row(jola, client_id)).email is None
    assert (await audit_rows(jola, "client.rectified"))[-1].detail == {"fields": ["email", "email_reminders"]}


async def test_bad_values_are_refused_field_by_field_and_what_was_typed_stays(
    jola: Jola, rita: StaffBrowser
) -> None:
    client_id = await anna(jola)
    await rita.get(f"/clients/{client_id}")
    refused = await rita.post(
        f"/clients/{client_id}/details",
        {"name": "x" * 201, "phone": "12 34 56", "email": "anna at example", "locale": "fr"},
    )
    assert refused.status == 400
    assert "Nothing was saved: see the marked fields." in refused
    assert "A name can be at most 200 characters." in refused
    assert "Give the number in international form: + and the country code" in refused
    assert "That is not an email address." in refused and "Choose English or Danish." in refused
    assert 'value="12 34 56"' in refused and 'value="anna at example"' in refused
    assert (
        refused.text.count('aria-invalid="true"') == 4
        and '<details class="edit" id="details" open>' in refused
    )
    row = await client_row(jola, client_id)
    assert (row.name, row.phone, row.email, row.locale) == (NAME, "+" + PHONE, None, None)
    assert await audit_rows(jola, "client.rectified") == []
    # In Danish, the same refusal in the person's language.
    await rita.post("/account/language", {"language": "da"})
    await rita.get(f"/clients/{client_id}")
    danish = await rita.post(f"/clients/{client_id}/details", {"name": NAME, "phone": "+45 1"})
    assert danish.status == 400 and "Skriv nummeret i international form" in danish


async def test_every_change_needs_the_forms_csrf_token(jola: Jola, rita: StaffBrowser) -> None:
    client_id = await anna(jola)
    for path, form in [
        ("details", {"name": "Someone Else"}),
        ("restrict", {"restricted_reason": "client_asked"}),
        ("unrestrict", {}),
        ("channels/whatsapp", {"stop": "1"}),
    ]:
        assert (await rita.post(f"/clients/{client_id}/{path}", form, csrf="forged")).status == 403
    row = await client_row(jola, client_id)
    assert row.name == NAME and row.restricted_at is None


async def test_the_api_corrects_with_the_same_rules(jola: Jola) -> None:
    client_id = await anna(jola)
    api = jola.client
    changed = await api.patch(
        f"/api/v1/clients/{client_id}",
        json={"name": "Anna M. Jensen", "phone": "+45 22 33 44 55", "locale": "en"},
        headers=TOKEN,
    )
    assert changed.status == 200
    body = await changed.json()
    assert (body["name"], body["phone"], body["locale"], body["restricted"]) == (
        "Anna M. Jensen",
        "+4522334455",
        "en",
        False,
    )
    [event] = await audit_rows(jola, "client.rectified")
    assert (event.actor_kind, event.actor_id, event.detail) == (
        "api",
        None,
        {"fields": ["locale", "name", "phone"]},
    )
    bad = await api.patch(
        f"/api/v1/clients/{client_id}", json={"phone": "12345", "email": "no"}, headers=TOKEN
    )
    assert bad.status == 400
    refused = await bad.json()
    assert refused["fields"] == {"phone": "phone_bad", "email": "email_bad"}
    assert "phone must be an E.164 number" in refused["error"]
    for wrong, says in [
        ({"nickname": "Annie"}, "unknown field nickname"),
        ({"name": 12}, "must be a string or null"),
        ({"restricted": "yes"}, "restricted must be true or false"),
        ({"restricted": True, "restricted_reason": "because"}, "restricted_reason must be one of"),
        ({"restricted": True, "restricted_reason": "other"}, "restricted_note must say why"),
        ({"restricted_reason": "client_asked"}, 'go with "restricted": true'),
    ]:
        answer = await api.patch(f"/api/v1/clients/{client_id}", json=wrong, headers=TOKEN)
        assert answer.status == 400 and says in (await answer.json())["error"], wrong
    not_json = await api.patch(f"/api/v1/clients/{client_id}", data=b"[1]", headers=TOKEN)
    assert not_json.status == 400
    assert (await api.patch("/api/v1/clients/999999", json={"name": "X"}, headers=TOKEN)).status == 404
    assert (await api.patch(f"/api/v1/clients/{client_id}", json={"name": "X"})).status == 401
    assert (await client_row(jola, client_id)).name == "Anna M. Jensen"  # nothing of the refused ones
    assert len(await audit_rows(jola, "client.rectified")) == 1


async def test_staff_restrict_and_lift_processing_with_a_reason(jola: Jola, rita: StaffBrowser) -> None:
    client_id = await anna(jola)
    await rita.get(f"/clients/{client_id}")
    missing = await rita.post(f"/clients/{client_id}/restrict", {"restricted_reason": "other"})
    assert missing.status == 400 and "Say in a few words why (the reason is Other)." in missing
    wrong = await rita.post(f"/clients/{client_id}/restrict", {"restricted_reason": "bored"})
    assert wrong.status == 400 and "Choose a reason from the list." in wrong
    done = await rita.post(
        f"/clients/{client_id}/restrict",
        {"restricted_reason": "other", "restricted_note": "Asked by her lawyer"},
    )
    assert done.url == f"/clients/{client_id}?saved=restricted"
    assert "Processing restricted" in done and "Other reason: Asked by her lawyer" in done
    assert "Since 09:00, by Rita Reception." in done
    assert "the client&#39;s data is restricted: nothing is sent to them" in done
    row = await client_row(jola, client_id)
    assert (row.restricted_reason, row.restricted_note) == ("other", "Asked by her lawyer")
    assert row.restricted_by.startswith("staff:") and row.restricted_at is not None
    [event] = await audit_rows(jola, "client.restricted")
    assert event.detail == {"reason": "other"}  # the staff member's words stay on the record only
    lifted = await rita.post(f"/clients/{client_id}/unrestrict")
    assert "The restriction is lifted" in lifted and "Restrict processing" in lifted
    assert (await client_row(jola, client_id)).restricted_at is None
    assert len(await audit_rows(jola, "client.unrestricted")) == 1
    await rita.post(f"/clients/{client_id}/unrestrict")  # lifting twice is no second change
    assert len(await audit_rows(jola, "client.unrestricted")) == 1


async def test_the_api_restricts_and_lifts(jola: Jola) -> None:
    client_id = await anna(jola)
    api = jola.client
    answer = await api.patch(
        f"/api/v1/clients/{client_id}",
        json={"restricted": True, "restricted_reason": "accuracy_contested"},
        headers=TOKEN,
    )
    body = await answer.json()
    assert answer.status == 200 and body["restricted"] is True
    assert body["restriction"] == {
        "since": "2026-11-25T09:00:00+01:00",
        "reason": "accuracy_contested",
        "note": None,
    }
    assert (await client_row(jola, client_id)).restricted_by == "api"
    lifted = await api.patch(f"/api/v1/clients/{client_id}", json={"restricted": False}, headers=TOKEN)
    assert (await lifted.json())["restriction"] is None
    assert [e.actor_kind for e in await audit_rows(jola, "client.restricted")] == ["api"]
    assert [e.actor_kind for e in await audit_rows(jola, "client.unrestricted")] == ["api"]


async def test_staff_stop_and_allow_a_channel_for_the_client(jola: Jola, rita: StaffBrowser) -> None:
    """The client's objection per channel, as "stop" and "start" there would set it."""
    client_id = await anna(jola)
    page = await rita.get(f"/clients/{client_id}")
    assert "Reminders and notices allowed." in page and "Stop here (the client objects)" in page
    stopped = await rita.post(f"/clients/{client_id}/channels/whatsapp", {"stop": "1"})
    assert (
        stopped.url == f"/clients/{client_id}" and "Stopped 09:00: no reminders or notices here." in stopped
    )
    assert "Off on WhatsApp (the client said stop 09:00)" in stopped
    async with jola.db.read() as session:
        assert (await session.scalar(select(ClientIdentity.opted_out_at))) is not None
    await rita.post(f"/clients/{client_id}/channels/whatsapp", {"stop": "1"})  # already so: no new row
    allowed = await rita.post(f"/clients/{client_id}/channels/whatsapp", {"stop": "0"})
    assert "Reminders and notices allowed." in allowed
    async with jola.db.read() as session:
        assert (await session.scalar(select(ClientIdentity.opted_out_at))) is None
    assert [e.detail for e in await audit_rows(jola, "client.channel_stopped")] == [{"channel": "whatsapp"}]
    assert len(await audit_rows(jola, "client.channel_started")) == 1
    assert (await rita.post(f"/clients/{client_id}/channels/instagram", {"stop": "1"})).status == 404
    assert (await rita.post(f"/clients/{client_id}/channels/fax", {"stop": "1"})).status == 404
    assert (await rita.post(f"/clients/{client_id}/channels/whatsapp", {"stop": "maybe"})).status == 404


async def test_nothing_of_the_values_reaches_the_audit_log(jola: Jola, rita: StaffBrowser) -> None:
    client_id = await anna(jola)
    await rita.get(f"/clients/{client_id}")
    await rita.post(
        f"/clients/{client_id}/details",
        {"name": "Bodil Secretname", "phone": "+4599887766", "email": "bodil@hidden.example", "locale": "da"},
    )
    await rita.post(
        f"/clients/{client_id}/restrict",
        {"restricted_reason": "other", "restricted_note": "Confidential words"},
    )
    async with jola.db.read() as session:
        logged = repr([(e.detail, e.action) for e in await session.scalars(select(AuditEvent))])
    for secret in ("Bodil", "Secretname", "99887766", "bodil@", "Confidential", NAME, PHONE):
        assert secret not in logged
    assert html.unescape((await rita.get(f"/clients/{client_id}")).text).count("Confidential words") == 1
