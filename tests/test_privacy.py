"""A client's rights over their data (issue 18): export everything held on them, erase it everywhere (the
inbox file included) keeping anonymous booking facts, and Meta's signed data deletion and deauthorize
callbacks. The clinic's clock stands at Wednesday 25 November 2026, 09:00 in Copenhagen."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import parse_config
from bot.meta_callbacks import SignedRequestError, parse_signed_request
from storage.clients import set_email
from storage.db import Database, inbox_path
from storage.migrate import upgrade
from storage.models import (
    Appointment,
    Base,
    Business,
    Channel,
    Client,
    ClientIdentity,
    InboundEvent,
    PrivacyEvent,
    Reminder,
)
from storage.overview import figures
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.clinic import NOW, WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import APP_SECRET, PHONE_NUMBER_ID
from tests.support.staff import StaffBrowser, add_account
from tests.test_cli import jola as run_jola
from tests.test_cli import write_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
OTHER_TOKEN = {"Authorization": "Bearer other-token"}
NAME, PHONE, EMAIL = "Anna Jensen", "4511111111", "anna.jensen@example.org"
SAID = "massage friday at 10 please, my knee hurts"


def signed_request(payload: dict[str, Any], secret: str = APP_SECRET) -> str:
    """As Meta builds one (meta/fixtures/data_deletion_signed_request.txt)."""

    def encode(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    body = encode(json.dumps(payload, separators=(",", ":")).encode())
    return encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()) + "." + body


def deletion(user_id: str = "US.1000000000000000001", **changes: Any) -> dict[str, Any]:
    return {"algorithm": "HMAC-SHA256", "issued_at": int(NOW.timestamp()) - 60, "user_id": user_id} | changes


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    """The clinic and a second business ("other-clinic", token "other-token", no channels)."""
    config = make_config(database, fake_graph.url, business={"hours": WEEKDAYS})
    data = config.model_dump()
    data["businesses"].append(
        {**data["businesses"][0], "id": "other-clinic", "name": "Other Clinic", "api_token": "other-token"}
        | {"channels": []}
    )
    running = await start_jola(parse_config(data, environ={}), fake_graph, clock=SettableClock(NOW))
    await add_account(running, "owner@harbour.example", name="Olga Owner", role="owner")
    await add_account(running)  # Rita, staff
    await add_account(running, "someone@other.example", business="other-clinic", role="owner")
    yield running
    await running.client.close()


async def anna_books(jola: Jola) -> tuple[WhatsAppClient, int]:
    """Anna writes on WhatsApp, gives an email address, books Friday 10:00 (reminders and an email)."""
    anna = WhatsAppClient(jola, wa_id=PHONE, name=NAME)
    await anna.says("hi")
    async with jola.db.write() as session:
        client_id = (await session.execute(select(Client.id).where(Client.name == NAME))).scalar_one()
        await set_email(session, "harbour-clinic", client_id, EMAIL, True, NOW)
    await anna.says(SAID)
    await anna.taps("Yes, book it")
    return anna, client_id


async def everything_stored(jola: Jola) -> str:
    """Every row of every table, and of the SQLite inbox file, as one string."""
    rows: list[str] = []
    async with jola.db.read() as session:
        for table in Base.metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in await session.execute(select(table))]
    if jola.db.split_inbox:
        async with jola.db.inbox.read() as session:
            rows += [repr(tuple(row)) for row in await session.execute(select(InboundEvent.__table__))]
        path = inbox_path(Path(jola.db.url.database or ""))
        with sqlite3.connect(path) as raw:
            rows += [repr(row) for row in raw.execute("SELECT * FROM inbound_events")]
    return "\n".join(rows)


async def test_export_then_erase_leaves_nothing_but_the_anonymous_booking(jola: Jola) -> None:
    """The export holds the person, their messages and booking; after the erasure no table (nor the inbox
    file) holds their name, number, address or words, the booking still counts, and a new "hi" from the
    same phone starts a new record."""
    anna, client_id = await anna_books(jola)
    async with jola.db.read() as session:
        assert (await session.scalars(select(Reminder.id))).all()
    exported = await jola.client.get(f"/api/v1/clients/{client_id}/export", headers=TOKEN)
    assert exported.status == 200
    assert exported.headers["Content-Disposition"] == f'attachment; filename="client-{client_id}.json"'
    body = await exported.json()
    assert body["client"]["name"] == NAME and body["client"]["email"] == EMAIL
    assert PHONE in body["client"]["phone"] and "test" not in body["client"]
    assert body["identities"][0]["channel"] == "whatsapp" and body["identities"][0]["display_name"] == NAME
    messages = body["conversations"][0]["messages"]
    assert any(m["text"] == SAID and m["direction"] == "in" for m in messages)
    assert any(m["author"] == "bot" and "booked" in (m["text"] or "") for m in messages)
    [booking] = body["appointments"]
    assert booking["service"] == "Massage" and booking["start"] == "2026-11-27T10:00:00+01:00"
    assert [h["action"] for h in booking["history"]] == ["booked"]
    assert {r["lead"] for r in booking["reminders"]} == {"24h", "2h"}
    assert [e["kind"] for e in booking["emails"]] == ["booked"]
    assert body["consents"]["email"]["reminders"] is True

    assert (await jola.client.delete(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 204
    assert (await jola.client.get(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 404
    assert (await jola.client.get(f"/api/v1/clients/{client_id}/export", headers=TOKEN)).status == 404
    assert (await jola.client.delete(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 404
    stored = await everything_stored(jola)
    for personal in (NAME, "Anna", PHONE, EMAIL, SAID, "knee"):
        assert personal not in stored, personal
    async with jola.db.read() as session:
        [kept] = (await session.execute(select(Appointment.client_id, Appointment.status))).all()
        assert kept == (None, "booked")
        audit = (
            await session.execute(select(PrivacyEvent.kind, PrivacyEvent.actor, PrivacyEvent.subject))
        ).all()
        assert audit == [("export", "api", client_id), ("erase", "api", client_id)]
        today = NOW.astimezone(ZoneInfo("Europe/Copenhagen")).date()
        counted = await figures(session, "harbour-clinic", ZoneInfo("Europe/Copenhagen"), today)
        assert counted.booked[today] == {"whatsapp": 1}

    await anna.says("hi")
    async with jola.db.read() as session:
        [(new_id, name, email)] = (await session.execute(select(Client.id, Client.name, Client.email))).all()
        booked_for = await session.scalar(select(Appointment.client_id))
    assert name == NAME and email is None and booked_for is None  # a fresh record (SQLite may reuse the id)
    assert (await jola.client.get(f"/api/v1/clients/{new_id}/export", headers=TOKEN)).status == 200


async def test_the_staff_app_downloads_and_the_owner_erases(jola: Jola) -> None:
    """Staff download the JSON; only an owner erases, and only once the name or ERASE is typed."""
    _, client_id = await anna_books(jola)
    rita = StaffBrowser(jola)
    await rita.log_in()
    page = await rita.get(f"/clients/{client_id}")
    assert f'href="/clients/{client_id}/export"' in page and "Erase the client" not in page
    download = await rita.get(f"/clients/{client_id}/export")
    assert download.status == 200 and NAME in download and SAID in download
    assert (await rita.post(f"/clients/{client_id}/erase", {"confirm": "ERASE"})).status == 403
    await rita.close()

    olga = StaffBrowser(jola)
    await olga.log_in("owner@harbour.example")
    assert "Erase the client" in await olga.get(f"/clients/{client_id}")
    wrong = await olga.post(f"/clients/{client_id}/erase", {"confirm": "Anna"})
    assert wrong.status == 400 and "Not erased" in wrong
    done = await olga.post(f"/clients/{client_id}/erase", {"confirm": "  anna   JENSEN "})
    assert done.url == "/clients" and NAME not in done
    assert (await olga.get(f"/clients/{client_id}")).status == 404
    await olga.close()
    async with jola.db.read() as session:
        actors = (await session.scalars(select(PrivacyEvent.actor).order_by(PrivacyEvent.id))).all()
        assert actors[0].startswith("staff:") and actors[-1].startswith("staff:") and len(actors) == 2


async def test_another_business_gets_404_everywhere(jola: Jola) -> None:
    """A client id of the clinic is nobody at the other business: API, staff app, nothing changes."""
    _, client_id = await anna_books(jola)
    assert (await jola.client.get(f"/api/v1/clients/{client_id}/export", headers=OTHER_TOKEN)).status == 404
    assert (await jola.client.delete(f"/api/v1/clients/{client_id}", headers=OTHER_TOKEN)).status == 404
    other = StaffBrowser(jola)
    await other.log_in("someone@other.example")
    await other.get("/clients")
    assert (await other.get(f"/clients/{client_id}/export")).status == 404
    assert (await other.post(f"/clients/{client_id}/erase", {"confirm": "ERASE"})).status == 404
    await other.close()
    assert (await jola.client.get(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 200
    assert NAME in await everything_stored(jola)


async def test_metas_data_deletion_erases_the_user_and_answers_a_status_page(jola: Jola) -> None:
    """A signed request naming the client's user id erases them; the status URL reads the outcome."""
    _, client_id = await anna_books(jola)
    response = await jola.client.post(
        "/meta/data-deletion", data={"signed_request": signed_request(deletion())}
    )
    assert response.status == 200
    answer = await response.json()
    code = answer["confirmation_code"]
    assert set(answer) == {"url", "confirmation_code"}
    assert answer["url"].endswith(f"/meta/data-deletion/status?code={code}")
    assert answer["url"].startswith("http://127.0.0.1:")
    assert (await jola.client.get(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 404
    assert NAME not in await everything_stored(jola)
    status = await jola.client.get(f"/meta/data-deletion/status?code={code}")
    assert status.status == 200 and (await status.json())["status"] == "done"
    page = await jola.client.get(f"/meta/data-deletion/status?code={code}", headers={"Accept": "text/html"})
    assert "were deleted" in await page.text()
    assert (await jola.client.get("/meta/data-deletion/status?code=nope")).status == 404

    nobody = await jola.client.post(
        "/meta/data-deletion", data={"signed_request": signed_request(deletion("1234567890123456"))}
    )
    other_code = (await nobody.json())["confirmation_code"]
    found = await (await jola.client.get(f"/meta/data-deletion/status?code={other_code}")).json()
    assert found["status"] == "not_found"


@pytest.mark.parametrize(
    ("signed", "status"),
    [
        (signed_request(deletion(), secret="someone-else"), 403),
        (signed_request(deletion(algorithm="HMAC-SHA1")), 400),
        (signed_request(deletion(issued_at=int(NOW.timestamp()) - 2 * 86400)), 403),
        (signed_request(deletion(issued_at=int(NOW.timestamp()) + 3600)), 403),
        ("no-dot-at-all", 400),
        ("." + signed_request(deletion()).split(".")[1], 400),
        ("%%%." + signed_request(deletion()).split(".")[1], 400),
        (signed_request(deletion()).replace(".eyJ", ".fyJ"), 403),
        (signed_request(["not", "an", "object"]), 400),  # type: ignore[arg-type]
        (signed_request(deletion(user_id=None)), 400),
        ("", 400),
    ],
    ids=[
        "forged",
        "wrong-algorithm",
        "expired",
        "future",
        "no-dot",
        "empty-signature",
        "bad-base64",
        "tampered",
        "not-an-object",
        "no-user",
        "empty",
    ],
)
async def test_a_bad_signed_request_changes_nothing(jola: Jola, signed: str, status: int) -> None:
    await anna_books(jola)
    response = await jola.client.post("/meta/data-deletion", data={"signed_request": signed})
    assert response.status == status, await response.text()
    assert NAME in await everything_stored(jola)
    async with jola.db.read() as session:
        assert (await session.scalars(select(PrivacyEvent.id))).all() == []


def test_the_fixture_from_metas_docs_verifies() -> None:
    """The worked example (meta/fixtures) verifies with its secret, case-insensitive algorithm aside."""
    fixture = "/work/shared/meta/fixtures/data_deletion_signed_request.txt"
    if not Path(fixture).exists():
        pytest.skip("the shared fixture is not here")
    lines = [ln.strip() for ln in Path(fixture).read_text().splitlines()]
    raw = next(ln for ln in lines if ln.startswith("signed_request=")).removeprefix("signed_request=")
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(1793000100, tz=UTC)
    assert parse_signed_request(raw, "test_app_secret_do_not_use", at)["user_id"] == "1234567890123456"
    with pytest.raises(SignedRequestError) as refused:
        parse_signed_request(raw, "another-secret", at)
    assert refused.value.status == 403


async def test_deauthorize_disconnects_the_named_asset(jola: Jola) -> None:
    """A deauthorize naming our WhatsApp number's asset marks its channel inactive; a person alone is
    recorded only; a forged one is refused."""
    forged = await jola.client.post(
        "/meta/deauthorize", data={"signed_request": signed_request(deletion(), secret="x")}
    )
    assert forged.status == 403
    person = await jola.client.post(
        "/meta/deauthorize", data={"signed_request": signed_request(deletion("42"))}
    )
    assert person.status == 200 and (await person.json())["channels_disconnected"] == 0
    page = await jola.client.post(
        "/meta/deauthorize",
        data={"signed_request": signed_request(deletion("42", profile_id=PHONE_NUMBER_ID))},
    )
    assert (await page.json())["channels_disconnected"] == 1
    async with jola.db.read() as session:
        active = await session.scalar(select(Channel.active).where(Channel.external_id == PHONE_NUMBER_ID))
        kinds = (await session.execute(select(PrivacyEvent.kind, PrivacyEvent.status))).all()
    assert active is False
    assert kinds == [("deauthorize", "recorded"), ("deauthorize", "channels_off")]


# ------------------------------------------------------------------------------------------------ CLI


async def _a_client(url: str) -> int:
    db = Database(url)
    try:
        await upgrade(db)
        async with db.write() as session:
            session.add(
                Business(
                    id="harbour-clinic", name="Harbour Clinic", timezone="UTC", locale="en", created_at=NOW
                )
            )
            client = Client(
                business_id="harbour-clinic", name=NAME, phone="+" + PHONE, created_at=NOW, updated_at=NOW
            )
            session.add(client)
            await session.flush()
            session.add(
                ClientIdentity(
                    business_id="harbour-clinic",
                    client_id=client.id,
                    channel_kind="whatsapp",
                    external_id=PHONE,
                    phone="+" + PHONE,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            return client.id
    finally:
        await db.dispose()


def test_jola_client_export_and_erase(tmp_path: Path) -> None:
    """`jola client export` prints the JSON; `erase` wants --yes off a terminal, then erases; an unknown
    client or business is one clear line and exit 1."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}"
    config = write_config(tmp_path / "jola.toml", url)
    client_id = asyncio.run(_a_client(url))
    base = ("--config", str(config), "--business", "harbour-clinic")

    exported = run_jola("client", "export", *base, "--client", str(client_id), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["client"]["name"] == NAME

    unknown = run_jola("client", "export", *base, "--client", "999", cwd=tmp_path)
    assert (
        unknown.returncode == 1
        and unknown.stderr.strip() == 'jola: no client 999 in business "harbour-clinic"'
    )
    elsewhere = run_jola(
        "client", "export", "--config", str(config), "--business", "nope", "--client", "1", cwd=tmp_path
    )
    assert (
        elsewhere.returncode == 1
        and "no business" in elsewhere.stderr
        and "Traceback" not in elsewhere.stderr
    )

    unasked = run_jola("client", "erase", *base, "--client", str(client_id), cwd=tmp_path)
    assert unasked.returncode == 1 and "--yes" in unasked.stderr
    erased = run_jola("client", "erase", *base, "--client", str(client_id), "--yes", cwd=tmp_path)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith(f"client {client_id} erased")
    again = run_jola("client", "export", *base, "--client", str(client_id), cwd=tmp_path)
    assert again.returncode == 1
    with sqlite3.connect(tmp_path / "jola.db") as raw:
        assert raw.execute("SELECT count(*) FROM clients").fetchone() == (0,)
        assert raw.execute("SELECT kind, actor FROM privacy_events ORDER BY id").fetchall() == [
            ("export", "cli"),
            ("erase", "cli"),
        ]
