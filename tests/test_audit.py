"""The audit log (issue 18): logins (and failed ones, without the address typed), opening a record or a
conversation, exports, erasures, takeovers, settings and account changes, each a row of ids and field
names; the owners' /audit page in English and Danish, filtered and paged; GET /api/v1/audit; and a
database that refuses to change or remove a row. The clinic's clock stands at Wednesday 25 November 2026,
09:00 in Copenhagen."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from bot import audit, keys
from bot.accounts import add_account as cli_add_account
from bot.accounts import change_password
from storage.db import Database
from storage.migrate import upgrade
from storage.models import AuditEvent, Client, Conversation, SettingsChange
from tests.conftest import POSTGRES_URL, DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import clinic
from tests.support.fake_graph import FakeGraph
from tests.support.staff import PASSWORD, StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
OWNER = "olga@harbour.example"
RITA = "reception@harbour.example"


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    async with clinic(database, fake_graph) as (running, _):
        await add_account(running, OWNER, name="Olga Owner", role="owner")
        await add_account(running)  # Rita Reception, staff
        yield running


async def browser(jola: Jola, email: str = RITA) -> StaffBrowser:
    person = StaffBrowser(jola)
    await person.log_in(email)
    return person


async def events(jola: Jola, action: str | None = None) -> list[AuditEvent]:
    async with jola.db.read() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(await session.scalars(query))


async def staff_id(jola: Jola, email: str) -> int:
    from storage.models import Staff

    async with jola.db.read() as session:
        return int((await session.execute(select(Staff.id).where(Staff.email == email))).scalar_one())


async def anna(jola: Jola) -> tuple[int, int]:
    """Anna writes "hi" on WhatsApp: her client id and conversation id."""
    await WhatsAppClient(jola, wa_id="4511111111", name="Anna Jensen", user_id=None).says("hi")
    async with jola.db.read() as session:
        client_id = (
            await session.execute(select(Client.id).where(Client.name == "Anna Jensen"))
        ).scalar_one()
        conversation = (
            await session.execute(select(Conversation.id).where(Conversation.client_id == client_id))
        ).scalar_one()
    return int(client_id), int(conversation)


def everything(rows: list[AuditEvent]) -> str:
    return repr(
        [
            (r.business_id, r.actor_kind, r.actor_id, r.action, r.subject_type, r.subject_id, r.detail)
            for r in rows
        ]
    )


async def test_logins_are_logged_and_a_failed_one_keeps_no_address(jola: Jola) -> None:
    rita_id = await staff_id(jola, RITA)
    person = StaffBrowser(jola)
    await person.get("/login")
    assert (await person.post("/login", {"email": RITA, "password": "wrong guess 1"})).status == 400
    assert (await person.post("/login", {"email": "nobody@nowhere.example", "password": "x"})).status == 400
    await person.log_in()
    await person.post("/logout")
    rows = await events(jola)
    assert [
        (r.action, r.business_id, r.actor_kind, r.actor_id, r.subject_type, r.subject_id) for r in rows
    ] == [
        ("auth.login_failed", "harbour-clinic", "system", None, "staff", rita_id),
        ("auth.login_failed", None, "system", None, None, None),
        ("auth.login", "harbour-clinic", "staff", rita_id, None, None),
        ("auth.logout", "harbour-clinic", "staff", rita_id, None, None),
    ]
    assert all(r.detail is None for r in rows)
    for typed in ("nobody", "nowhere", "reception@", "wrong guess", PASSWORD):
        assert typed not in everything(rows)
    for n in range(6):  # the sixth try within the window is refused before the password is looked at
        await person.get("/login")
        await person.post("/login", {"email": RITA, "password": f"wrong guess {n}"})
    [refused] = await events(jola, "auth.login_throttled")
    assert (refused.subject_type, refused.subject_id) == ("staff", rita_id)
    await person.close()


async def test_opening_a_record_or_a_conversation_is_one_reading_per_visit(jola: Jola) -> None:
    client_id, conversation_id = await anna(jola)
    rita, rita_id = await browser(jola), await staff_id(jola, RITA)
    await rita.get(f"/clients/{client_id}")
    await rita.get(f"/clients/{client_id}")  # a reload (or the live page fetching itself) is the same reading
    assert [(e.actor_id, e.subject_id) for e in await events(jola, "client.viewed")] == [(rita_id, client_id)]
    jola.app[keys.CLOCK].advance(minutes=11)  # type: ignore[attr-defined]
    await rita.get(f"/clients/{client_id}")
    assert len(await events(jola, "client.viewed")) == 2
    await rita.get(f"/conversations/{conversation_id}")
    [viewed] = await events(jola, "conversation.viewed")
    assert (viewed.actor_kind, viewed.subject_type, viewed.subject_id) == (
        "staff",
        "conversation",
        conversation_id,
    )
    assert (await rita.get("/clients/999999")).status == 404
    assert (await jola.client.get(f"/api/v1/clients/{client_id}", headers=TOKEN)).status == 200
    assert [e.actor_kind for e in await events(jola, "client.viewed")] == ["staff", "staff", "api"]
    assert (await jola.client.get("/api/v1/clients/999999", headers=TOKEN)).status == 404
    assert len(await events(jola, "client.viewed")) == 3
    await rita.close()


async def test_exports_erasures_takeovers_and_hand_backs_are_logged(jola: Jola) -> None:
    client_id, conversation_id = await anna(jola)
    rita, owner = await browser(jola), await browser(jola, OWNER)
    rita_id, owner_id = await staff_id(jola, RITA), await staff_id(jola, OWNER)
    await rita.get(f"/conversations/{conversation_id}")
    await rita.post(f"/conversations/{conversation_id}/takeover")
    await rita.post(f"/conversations/{conversation_id}/assign", {"staff_id": str(owner_id)})
    await rita.post(f"/conversations/{conversation_id}/assign", {"staff_id": ""})
    await rita.post(f"/conversations/{conversation_id}/release")
    api = jola.client
    assert (await api.post(f"/api/v1/conversations/{conversation_id}/takeover", headers=TOKEN)).status == 200
    assert (await api.post(f"/api/v1/conversations/{conversation_id}/release", headers=TOKEN)).status == 200
    assert (await rita.get(f"/clients/{client_id}/export")).status == 200
    assert (await api.get(f"/api/v1/clients/{client_id}/export", headers=TOKEN)).status == 200
    await owner.get(f"/clients/{client_id}")
    assert (await owner.post(f"/clients/{client_id}/erase", {"confirm": "ERASE"})).url == "/clients"
    handled = [
        (e.action, e.actor_kind, e.actor_id, e.detail)
        for e in await events(jola)
        if e.action.startswith("conversation.") and e.action != "conversation.viewed"
    ]
    assert handled == [
        ("conversation.taken_over", "staff", rita_id, None),
        ("conversation.assigned", "staff", rita_id, {"to": owner_id}),
        ("conversation.assigned", "staff", rita_id, None),
        ("conversation.handed_back", "staff", rita_id, None),
        ("conversation.taken_over", "api", None, None),
        ("conversation.handed_back", "api", None, None),
    ]
    assert [(e.actor_kind, e.subject_id) for e in await events(jola, "client.exported")] == [
        ("staff", client_id),
        ("api", client_id),
    ]
    [erased] = await events(jola, "client.erased")
    assert (erased.actor_kind, erased.actor_id, erased.subject_id) == ("owner", owner_id, client_id)
    logged = everything(await events(jola))
    assert "Anna" not in logged and "4511111111" not in logged  # an erasure leaves the log as it was
    await rita.close()
    await owner.close()


async def test_settings_changes_and_accounts_are_logged(jola: Jola) -> None:
    owner, owner_id = await browser(jola, OWNER), await staff_id(jola, OWNER)
    page = await owner.get("/settings")
    version = re.search(r'name="version" value="(\d*)"', page.text).group(1)  # type: ignore[union-attr]
    saved = await owner.post(
        "/settings/general",
        {
            "name": "Harbour Physio",
            "timezone": "Europe/Copenhagen",
            "locale": "en",
            "currency": "DKK",
            "version": version,
        },
    )
    assert saved.url == "/settings?saved=1"
    [changed] = await events(jola, "settings.changed")
    async with jola.db.read() as session:
        newest = (
            await session.execute(select(SettingsChange.id).order_by(SettingsChange.id.desc()))
        ).scalar()
    assert (changed.actor_kind, changed.actor_id) == ("owner", owner_id)
    assert (changed.subject_type, changed.subject_id) == ("settings_change", newest)
    assert (
        changed.detail is not None
        and changed.detail["section"] == "general"
        and "name" in changed.detail["keys"]
    )
    assert "Harbour Physio" not in everything([changed])
    await owner.post("/account/language", {"language": "da"})
    [updated] = await events(jola, "account.updated")
    assert (updated.subject_id, updated.detail) == (owner_id, {"fields": ["language"]})
    config = jola.app[keys.CONFIG]
    await cli_add_account(
        config,
        business="harbour-clinic",
        email="mia@harbour.example",
        role="staff",
        name="Mia Holm",
        locale="en",
        password=PASSWORD,
    )
    await change_password(config, email="mia@harbour.example", password=PASSWORD + "!")
    mia = await staff_id(jola, "mia@harbour.example")
    assert [
        (e.action, e.actor_kind, e.subject_id, e.detail)
        for e in await events(jola)
        if e.action in ("account.created", "account.password_changed")
    ] == [
        ("account.created", "cli", mia, {"role": "staff"}),
        ("account.password_changed", "cli", mia, None),
    ]
    await owner.close()


async def _seed(jola: Jola, rows: list[tuple[Any, str, tuple[str, int] | None]]) -> None:
    """Audit rows written as the app writes them (a long log, quickly)."""
    async with jola.db.write() as session:
        for actor, action, subject in rows:
            await audit.record(
                session, "harbour-clinic", actor, action, subject, now=jola.app[keys.CLOCK].now()
            )


async def test_the_owner_reads_the_log_in_words_filtered_and_paged(jola: Jola) -> None:
    client_id, conversation_id = await anna(jola)
    rita, owner = await browser(jola), await browser(jola, OWNER)
    rita_id = await staff_id(jola, RITA)
    await rita.get(f"/clients/{client_id}")
    await rita.post(f"/conversations/{conversation_id}/takeover")
    assert (await rita.get("/audit")).status == 403
    assert 'href="/audit"' not in await rita.get("/inbox")
    assert 'href="/audit"' in await owner.get("/settings/changes")

    log = await owner.get("/audit")
    assert log.status == 200
    lines = html.unescape(log.text)
    assert f"Rita Reception opened client #{client_id}'s record" in lines
    assert f"Rita Reception took over conversation #{conversation_id} from the bot" in lines
    assert "Olga Owner logged in" in lines and "Anna" not in lines and "4511111111" not in lines

    only_rita = html.unescape((await owner.get(f"/audit?who=staff:{rita_id}")).text)
    assert "Rita Reception logged in" in only_rita and "Olga Owner logged in" not in only_rita
    viewed = html.unescape((await owner.get("/audit?what=client.viewed")).text)
    assert "opened client" in viewed and "took over" not in viewed
    about = html.unescape((await owner.get(f"/audit?subject=conversation&id={conversation_id}")).text)
    assert "took over conversation" in about and "opened client" not in about
    assert "opened client" in html.unescape(
        (await owner.get(f"/audit?id={client_id}")).text
    )  # a bare client id
    assert "Nothing in the log matches." in await owner.get("/audit?from=2026-11-26")
    assert "logged in" in await owner.get("/audit?from=2026-11-25&to=2026-11-25")
    bad = await owner.get("/audit?from=yesterday&who=someone")
    assert bad.status == 400 and "Give dates as YYYY-MM-DD." in bad and "Choose someone from the list." in bad

    await _seed(jola, [(audit.API, "client.viewed", ("client", 1000 + n)) for n in range(60)])
    first = html.unescape((await owner.get("/audit?who=api")).text)
    assert first.count("The API opened client #") == 50 and "#1059" in first and "#1009" not in first
    older = re.search(r'href="(/audit\?[^"]+)">Older entries', first).group(1)  # type: ignore[union-attr]
    rest = html.unescape((await owner.get(older)).text)
    assert rest.count("The API opened client #") == 10 and "#1000" in rest and "Older entries" not in rest

    await owner.post("/account/language", {"language": "da"})
    dansk = html.unescape((await owner.get(f"/audit?who=staff:{rita_id}")).text)
    assert "Revisionslog" in dansk and f"Rita Reception åbnede kunde #{client_id}s oplysninger" in dansk
    await rita.close()
    await owner.close()


async def test_the_api_reads_the_log_filtered_and_paged(jola: Jola) -> None:
    client_id, _ = await anna(jola)
    rita = await browser(jola)
    await rita.get(f"/clients/{client_id}")
    await _seed(jola, [(audit.API, "client.exported", ("client", client_id)) for _ in range(3)])
    api = jola.client
    answer = await api.get("/api/v1/audit", headers=TOKEN)
    assert answer.status == 200
    body = await answer.json()
    newest = body["events"][0]
    assert newest["action"] == "client.exported" and newest["actor"] == {
        "kind": "api",
        "staff_id": None,
        "name": None,
    }
    assert (
        newest["subject"] == {"type": "client", "id": client_id}
        and newest["at"] == "2026-11-25T09:00:00+01:00"
    )
    viewed = await (
        await api.get(f"/api/v1/audit?action=client.viewed&subject=client:{client_id}", headers=TOKEN)
    ).json()
    [one] = viewed["events"]
    assert one["actor"]["kind"] == "staff" and one["actor"]["name"] == "Rita Reception"
    assert (await (await api.get(f"/api/v1/audit?subject={client_id}", headers=TOKEN)).json())["events"]
    paged = await (await api.get("/api/v1/audit?action=client.exported&limit=2", headers=TOKEN)).json()
    assert len(paged["events"]) == 2 and paged["next_before"] == paged["events"][-1]["id"]
    rest = await (
        await api.get(
            f"/api/v1/audit?action=client.exported&limit=2&before={paged['next_before']}", headers=TOKEN
        )
    ).json()
    assert len(rest["events"]) == 1 and rest["next_before"] is None
    assert (await (await api.get("/api/v1/audit?from=2026-11-26", headers=TOKEN)).json())["events"] == []
    assert (await (await api.get("/api/v1/audit?to=2026-11-25&actor=api", headers=TOKEN)).json())["events"]
    for query in (
        "action=client.sneezed",
        "subject=planet:3",
        "subject=client:x",
        "from=soon",
        "limit=0",
        "actor=someone",
        "from=2026-11-26&to=2026-11-25",
    ):
        assert (await api.get(f"/api/v1/audit?{query}", headers=TOKEN)).status == 400, query
    assert (await api.get("/api/v1/audit")).status == 401
    await rita.close()


@pytest.mark.parametrize("chain", [False, True], ids=["made-from-models", "migrated"])
async def test_the_database_refuses_to_change_or_remove_audit_rows(
    database: DatabaseTarget, chain: bool
) -> None:
    """New databases are made from the models, older ones by the migration: both hold the guard."""
    target = database
    if chain and database.schema:  # a schema of its own for the walked chain
        target = DatabaseTarget(database.url, f"{database.schema}_m{uuid.uuid4().hex[:4]}")
    elif chain:
        target = DatabaseTarget(database.url.replace("jola.db", "chain.db"))
    db = Database(target.url, schema=target.schema)
    try:
        if target.schema != database.schema:
            async with db.engine.begin() as conn:
                await conn.execute(text(f"CREATE SCHEMA {target.schema}"))
        await upgrade(db, chain=chain)
        async with db.write() as session:
            await session.execute(
                AuditEvent.__table__.insert().values(
                    business_id=None, at=_now(), actor_kind="system", action="auth.login_failed"
                )
            )
        statements = ["UPDATE audit_events SET action = 'auth.login'", "DELETE FROM audit_events"]
        if not db.is_sqlite:
            statements.append("TRUNCATE audit_events")
        for statement in statements:
            with pytest.raises(DBAPIError, match="append-only"):
                async with db.write() as session:
                    await session.execute(text(statement))
        async with db.read() as session:
            assert [row.action for row in await session.execute(select(AuditEvent.action))] == [
                "auth.login_failed"
            ]
    finally:
        if target.schema != database.schema and POSTGRES_URL:
            async with db.engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA {target.schema} CASCADE"))
        await db.dispose()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


async def test_erasures_by_meta_and_the_command_line_are_logged_without_a_person(jola: Jola) -> None:
    from bot import privacy

    now = jola.app[keys.CLOCK].now()
    await WhatsAppClient(jola).says("hi")  # known to Meta as US.1000000000000000001
    await privacy.meta_data_deletion(jola.db, "US.1000000000000000001", now)
    client_id, _ = await anna(jola)
    assert await privacy.erase_client(jola.db, "harbour-clinic", client_id, actor="cli", now=now)
    assert [(e.actor_kind, e.actor_id, e.detail) for e in await events(jola, "client.erased")] == [
        ("system", None, {"via": "meta"}),
        ("cli", None, None),
    ]
    owner = await browser(jola, OWNER)
    lines = html.unescape((await owner.get("/audit?what=client.erased")).text)
    assert "was erased at their request through Meta" in lines
    assert f"The command line erased client #{client_id}" in lines
    await owner.close()
