"""Encryption at rest (issue 18): channel access tokens and client notes are stored encrypted, read with
any configured key and moved to the newest by `jola keys rotate`; a missing or wrong key is one clear line.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text

from bot import keys
from bot.app import create_app
from bot.config import Config
from bot.encryption import rotate
from bot.process import CommandError
from storage.clients import set_notes
from storage.db import Database
from storage.key_rotation import SEALED_COLUMNS, rotate_column
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import Client
from storage.sealed import Keyring, NoKeys, UnreadableValue, key_id_of
from tests.conftest import TEST_ENCRYPTION_KEY, DatabaseTarget, Jola, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import PHONE_NUMBER_ID
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

OLD = TEST_ENCRYPTION_KEY
NEW = "q0Jm2a9rXl0bX3yTQmB0i7o0y4QWk0sZ7d7g6sN2H1E="
OTHER = "bJ3kWw8m4R0C5QfYt1q2Z7nV9xLr6pS0aDgEhUiKoM4="
TOKEN = "EAAGsecretAccessToken0123456789"
NOTE = "Allergic to arnica; knee surgery March 2024"
OLD_ID, NEW_ID, OTHER_ID = (Keyring([key]).newest_id for key in (OLD, NEW, OTHER))


def config_for(
    database: DatabaseTarget, graph: FakeGraph, encryption_keys: list[str], token: str = TOKEN
) -> Config:
    channel = {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": token}
    return make_config(
        database,
        graph.url,
        security={"encryption_keys": encryption_keys},
        business={"hours": {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
        | {"channels": [channel]},
    )


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    running = await start_jola(config_for(database, fake_graph, [OLD]), fake_graph)
    yield running
    await running.client.close()


async def stored(db: Database) -> dict[str, list[str]]:
    """The encrypted columns as the database holds them, never decrypted."""
    found = {}
    async with db.read() as session:
        for sealed in SEALED_COLUMNS:
            rows = await session.execute(
                text(f"SELECT {sealed.column} FROM {sealed.table} WHERE {sealed.column} <> '' ORDER BY id")
            )
            found[sealed.name] = [row[0] for row in rows]
    return found


async def clients_with_notes(jola: Jola, count: int) -> list[int]:
    """`count` clients who wrote on WhatsApp, each with a note of their own."""
    ids = []
    for n in range(count):
        await WhatsAppClient(jola, wa_id=f"45600000{n:02d}", name=f"Client {n}", user_id=None).says("hi")
    async with jola.db.write() as session:
        ids = list(await session.scalars(select(Client.id).order_by(Client.id)))
        for n, client_id in enumerate(ids):
            await set_notes(session, "harbour-clinic", client_id, f"{NOTE} #{n}", jola.app[keys.CLOCK].now())
    return ids


async def exported_note(jola: Jola, client_id: int) -> str | None:
    response = await jola.client.get(
        f"/api/v1/clients/{client_id}/export", headers={"Authorization": "Bearer api-token"}
    )
    assert response.status == 200, await response.text()
    return (await response.json())["client"]["notes"]


def sqlite_files(database: DatabaseTarget) -> bytes:
    """Every file of a SQLite database (main, write-ahead log, inbox), as bytes."""
    main = Path(database.url.removeprefix("sqlite+aiosqlite:///"))
    return b"".join(path.read_bytes() for path in main.parent.glob(main.name.split(".")[0] + "*"))


# ----------------------------------------------------------------------------------------- at rest


async def test_tokens_and_notes_are_stored_encrypted_and_used_in_the_clear(
    jola: Jola, database: DatabaseTarget
) -> None:
    """The reply goes out with the configured token and staff read the note they wrote, while the rows
    (and on SQLite the files themselves) hold neither."""
    replies = await WhatsAppClient(jola, wa_id="4560000001", name="Anna Jensen", user_id=None).says("hi")
    assert replies and {call.authorization for call in replies} == {f"Bearer {TOKEN}"}
    await add_account(jola)
    rita = StaffBrowser(jola)
    try:
        await rita.log_in()
        async with jola.db.read() as session:
            anna = await session.scalar(select(Client.id).where(Client.name == "Anna Jensen"))
        await rita.get(f"/clients/{anna}")
        saved = await rita.post(f"/clients/{anna}/notes", {"notes": NOTE})
        assert f"{NOTE}</textarea>" in saved
    finally:
        await rita.close()
    assert await exported_note(jola, anna) == NOTE
    rows = await stored(jola.db)
    assert len(rows["channels.access_token"]) == 1 and len(rows["clients.notes"]) == 1
    for value in rows["channels.access_token"] + rows["clients.notes"]:
        assert key_id_of(value) == OLD_ID
        assert TOKEN not in value and NOTE not in value
    if database.schema is None:
        files = sqlite_files(database)
        assert TOKEN.encode() not in files and NOTE.encode() not in files
        assert b"Anna Jensen" in files  # the files were read: names are not encrypted, the note is


async def test_a_token_given_once_is_kept_for_later_starts(
    jola: Jola, database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """A config (or environment) without the token later still sends with the one stored encrypted."""
    await jola.client.close()
    later = await start_jola(config_for(database, fake_graph, [OLD], token=""), fake_graph)
    try:
        replies = await WhatsAppClient(later, wa_id="4560000002").says("hi")
        assert replies and replies[0].authorization == f"Bearer {TOKEN}"
    finally:
        await later.client.close()


async def test_a_value_copied_to_another_column_or_changed_does_not_open() -> None:
    """The column is part of what is encrypted, and a changed byte is caught, never read as something."""
    keyring = Keyring([OLD])
    token = keyring.seal(TOKEN, "channels.access_token")
    assert keyring.open(token, "channels.access_token") == TOKEN
    with pytest.raises(UnreadableValue, match="damaged"):
        keyring.open(token, "clients.notes")
    changed = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(UnreadableValue, match="damaged"):
        keyring.open(changed, "channels.access_token")
    with pytest.raises(UnreadableValue, match="not encrypted"):
        keyring.open(TOKEN, "channels.access_token")
    assert keyring.seal(NOTE, "clients.notes") != keyring.seal(NOTE, "clients.notes")  # a fresh nonce each


def test_the_demo_makes_and_keeps_its_own_key(tmp_path: Path) -> None:
    """A demo folder from before encryption at rest gets a key added beside its other secrets, once."""
    from bot.config import demo_config

    kept = 'secret_key = "s"\napp_secret = "a"\nverify_token = "v"\napi_token = "t"\nstaff_password = "p"\n'
    (tmp_path / "demo-secrets.toml").write_text(kept)
    [key] = demo_config(tmp_path).security.encryption_keys
    assert Keyring([key]).newest_id and (tmp_path / "demo-secrets.toml").read_text().startswith(kept)
    assert f'encryption_key = "{key}"' in (tmp_path / "demo-secrets.toml").read_text()
    assert demo_config(tmp_path).security.encryption_keys == [key]


# ---------------------------------------------------------------------------------------- rotation


async def test_rotation_moves_every_value_to_the_new_key_while_old_ones_stay_readable(
    jola: Jola, database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Put the new key first: old values still read, new ones are written under it; `rotate` moves the rest
    in batches while the server runs; then the old key can go."""
    clients = await clients_with_notes(jola, 3)
    await jola.client.close()
    config = config_for(database, fake_graph, [NEW, OLD])
    both = await start_jola(config, fake_graph)
    try:
        async with both.db.write() as session:
            await set_notes(session, "harbour-clinic", clients[0], "Rewritten", both.app[keys.CLOCK].now())
        notes = (await stored(both.db))["clients.notes"]
        assert [key_id_of(value) for value in notes] == [NEW_ID, OLD_ID, OLD_ID]

        halfway = await rotate_column(both.db, both.db.keyring, SEALED_COLUMNS[1], batch_size=1, batches=1)
        assert halfway.reencrypted == 1
        notes = (await stored(both.db))["clients.notes"]
        assert [key_id_of(value) for value in notes] == [NEW_ID, NEW_ID, OLD_ID]  # stopped midway
        assert [await exported_note(both, c) for c in clients] == ["Rewritten", f"{NOTE} #1", f"{NOTE} #2"]

        planned, problems = await rotate(config, dry_run=True, batch_size=2)
        assert problems == []
        assert "clients.notes: 3 values, 1 to re-encrypt (under key " + OLD_ID + ": 1)" in planned
        assert "channels.access_token: 1 values, 1 to re-encrypt (under key " + OLD_ID + ": 1)" in planned
        assert [key_id_of(value) for value in (await stored(both.db))["clients.notes"]][2] == OLD_ID

        said, problems = await rotate(config, dry_run=False, batch_size=2)
        assert problems == []
        assert said[1:] == [
            "channels.access_token: 1 re-encrypted",
            "clients.notes: 1 re-encrypted",
            f"Done: all 4 encrypted values are under key {NEW_ID}; the other keys can be removed from "
            "[security] encryption_keys.",
        ]
        assert {key_id_of(v) for values in (await stored(both.db)).values() for v in values} == {NEW_ID}
        again, _ = await rotate(config, dry_run=False, batch_size=2)
        assert again[1:3] == ["channels.access_token: 0 re-encrypted", "clients.notes: 0 re-encrypted"]
    finally:
        await both.client.close()

    only_new = await start_jola(config_for(database, fake_graph, [NEW], token=""), fake_graph)
    try:
        assert [await exported_note(only_new, c) for c in clients] == [
            "Rewritten",
            f"{NOTE} #1",
            f"{NOTE} #2",
        ]
        replies = await WhatsAppClient(only_new, wa_id="4560000009").says("hi")
        assert replies[0].authorization == f"Bearer {TOKEN}"  # the stored token, under the new key
    finally:
        await only_new.client.close()


async def test_a_value_under_a_key_no_longer_configured_is_named_and_stops_the_start(
    jola: Jola, database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """A key removed too soon (or a wrong one): the server does not start, and rotation names the rows it
    cannot read; neither shows what is stored."""
    clients = await clients_with_notes(jola, 2)
    await jola.client.close()
    config = config_for(database, fake_graph, [OTHER])
    client = TestClient(TestServer(create_app(config), host="127.0.0.1"))
    with pytest.raises(CommandError) as refused:
        await client.start_server()
    await client.close()
    assert str(refused.value).startswith("channels.access_token cannot be read: channel ")
    assert f"under key {OLD_ID}, which is not in [security] encryption_keys" in str(refused.value)

    said, problems = await rotate(config, dry_run=False, batch_size=10)
    assert said[1:3] == ["channels.access_token: 0 re-encrypted", "clients.notes: 0 re-encrypted"]
    assert problems[1] == (
        f"clients.notes cannot be read: client {clients[0]}, {clients[1]} under key {OLD_ID}, which is not "
        "in [security] encryption_keys; add that key back"
    )
    assert not any(NOTE in line or TOKEN in line for line in said + problems)


# ---------------------------------------------------------------------------------------- upgrade


async def _database_at_0015_with_a_plain_note(database: DatabaseTarget) -> None:
    from alembic import command

    db = Database(database.url, schema=database.schema)
    try:
        async with db.engine.connect() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0015"))
            await connection.execute(
                text(
                    "INSERT INTO businesses (id, name, timezone, locale, created_at) "
                    "VALUES ('harbour-clinic', 'Harbour Clinic', 'UTC', 'en', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO clients (business_id, name, created_at, updated_at, notes) "
                    "VALUES ('harbour-clinic', 'Anna', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :note)"
                ),
                {"note": NOTE},
            )
            await connection.commit()
    finally:
        await db.dispose()


async def test_notes_written_before_encryption_are_encrypted_by_the_upgrade(database: DatabaseTarget) -> None:
    """The upgrade encrypts what was stored in the clear, with the keys the process starts with; without
    keys it stops and changes nothing."""
    await _database_at_0015_with_a_plain_note(database)
    keyless = Database(database.url, schema=database.schema)
    try:
        with pytest.raises(NoKeys, match="no encryption key is configured"):
            await upgrade(keyless)
        assert await current_revision(keyless) == "0015"
        async with keyless.read() as session:
            assert (await session.execute(text("SELECT notes FROM clients"))).scalar_one() == NOTE
    finally:
        await keyless.dispose()
    db = Database(database.url, schema=database.schema, keyring=Keyring([OLD]))
    try:
        await upgrade(db)
        [value] = (await stored(db))["clients.notes"]
        assert key_id_of(value) == OLD_ID and NOTE not in value
        async with db.read() as session:
            assert (await session.scalars(select(Client.notes))).one() == NOTE
    finally:
        await db.dispose()


# -------------------------------------------------------------------------------------- command line


def run_jola(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("JOLA_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(
    path: Path, database_url: str, encryption_keys: list[str] | None = None, security: str = ""
) -> Path:
    if encryption_keys:
        security += "\nencryption_keys = [" + ", ".join(f'"{key}"' for key in encryption_keys) + "]"
    security = f"[security]\n{security}\n" if security else ""
    path.write_text(
        f"""
[server]
secret_key = "a-long-random-secret-key-for-signing-sessions"

[database]
url = "{database_url}"

{security}
[[businesses]]
id = "harbour-clinic"
name = "Harbour Clinic"
"""
    )
    return path


def test_keys_new_prints_a_fresh_key(tmp_path: Path) -> None:
    first, second = run_jola("keys", "new", cwd=tmp_path), run_jola("keys", "new", cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    key = first.stdout.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32 and first.stdout == key + "\n"
    assert second.stdout.strip() != key


async def test_keys_rotate_from_the_command_line(tmp_path: Path, fake_graph: FakeGraph) -> None:
    """Keys from the environment; a dry run changes nothing; a key missing for some rows is exit 1 with
    the rows named on stderr, never the values."""
    database = DatabaseTarget(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    running = await start_jola(config_for(database, fake_graph, [OLD]), fake_graph)
    clients = await clients_with_notes(running, 2)
    await running.client.close()
    config = write_config(tmp_path / "jola.toml", database.url)

    dry = run_jola(
        "keys",
        "rotate",
        "--config",
        str(config),
        "--dry-run",
        cwd=tmp_path,
        JOLA_ENCRYPTION_KEYS=f"{NEW},{OLD}",
    )
    assert (dry.returncode, dry.stderr) == (0, "")
    assert dry.stdout.splitlines() == [
        f"Newest key: {NEW_ID} (configured, newest first: {NEW_ID}, {OLD_ID})",
        f"channels.access_token: 1 values, 1 to re-encrypt (under key {OLD_ID}: 1)",
        f"clients.notes: 2 values, 2 to re-encrypt (under key {OLD_ID}: 2)",
        "Nothing was changed (--dry-run).",
    ]
    done = run_jola(
        "keys", "rotate", "--config", str(config), cwd=tmp_path, JOLA_ENCRYPTION_KEYS=f"{NEW} , {OLD}"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1].startswith(f"Done: all 3 encrypted values are under key {NEW_ID}")

    lost = run_jola("keys", "rotate", "--config", str(config), cwd=tmp_path, JOLA_ENCRYPTION_KEYS=OTHER)
    assert lost.returncode == 1
    assert lost.stderr.splitlines() == [
        f"jola: channels.access_token cannot be read: channel 1 under key {NEW_ID}, which is not in "
        "[security] encryption_keys; add that key back",
        f"jola: clients.notes cannot be read: client {clients[0]}, {clients[1]} under key {NEW_ID}, which is "
        "not in [security] encryption_keys; add that key back",
    ]
    assert NOTE not in lost.stdout + lost.stderr and "Traceback" not in lost.stderr


def test_without_keys_in_the_config_a_key_file_is_made_beside_it_once(tmp_path: Path) -> None:
    """A config from before encryption at rest still runs: its key is made once, kept beside the config
    (owner-only), and used by every later command; nothing is ever stored unencrypted."""
    (tmp_path / "etc").mkdir()
    config = write_config(tmp_path / "etc" / "jola.toml", f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    first = run_jola("reminders", "list", "--config", str(config), cwd=tmp_path)
    assert (first.returncode, first.stderr) == (0, "")
    key_file = tmp_path / "etc" / "jola-keys.toml"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    made = key_file.read_text()
    [key] = tomllib.loads(made)["encryption_keys"]
    rotated = run_jola("keys", "rotate", "--config", str(config), cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith(f"Newest key: {Keyring([key]).newest_id} ")
    assert rotated.stdout.endswith(f"the other keys can be removed from {key_file}.\n")
    assert key_file.read_text() == made and not (tmp_path / "jola-keys.toml").exists()


def test_a_key_file_that_cannot_be_made_or_read_is_one_line(tmp_path: Path) -> None:
    nowhere = write_config(
        tmp_path / "a.toml", "sqlite+aiosqlite:///jola.db", security='key_file = "no/keys.toml"'
    )
    result = run_jola("serve", "--port", "0", "--config", str(nowhere), cwd=tmp_path)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if " level=" not in line] == [
        f"jola: security.key_file: {tmp_path / 'no' / 'keys.toml'}: cannot be made (No such file or "
        "directory); give keys in [security] encryption_keys or $JOLA_ENCRYPTION_KEYS "
        "(jola keys new makes one)"
    ]
    (tmp_path / "bad-keys.toml").write_text('encryption_keys = ["not-a-key-at-all"]\n')
    bad = write_config(
        tmp_path / "b.toml", "sqlite+aiosqlite:///jola.db", security='key_file = "bad-keys.toml"'
    )
    result = run_jola("reminders", "list", "--config", str(bad), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        1,
        f"jola: security.key_file: {tmp_path / 'bad-keys.toml'}: a key is not an encryption key "
        "(make one with: jola keys new)\n",
    )
    assert not (tmp_path / "jola.db").exists()


def test_a_malformed_key_is_named_by_its_place_never_shown(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jola.toml", "sqlite+aiosqlite:///jola.db", [NEW, "not-a-real-key-123"])
    result = run_jola("check-config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "security.encryption_keys[1]: is not an encryption key (44 characters made by: jola keys new)" in (
        result.stderr.splitlines()
    )
    assert "not-a-real-key-123" not in result.stderr
    from_env = run_jola("keys", "rotate", "--config", str(config), cwd=tmp_path, JOLA_ENCRYPTION_KEYS="short")
    assert (
        from_env.returncode == 1
        and "security.encryption_keys[0]: is not an encryption key" in from_env.stderr
    )
