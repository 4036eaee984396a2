"""`jola doctor`, run as the real command against the fake Graph API (a real HTTP server), a real database
and a real Jola behind HTTPS: a good config passes, and each thing that is wrong is said with its own
message and fix, exit 1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.config import Config, load_config
from tests.conftest import DatabaseTarget
from tests.support import live_secrets
from tests.support.fake_graph import FakeGraph
from tests.support.page_payloads import IG_ACCOUNT_ID, PAGE_ID
from tests.support.payloads import PHONE_NUMBER_ID
from tests.support.tls import Certificates, make_certificates

APP_ID = "300000000000001"
WABA_ID = "100000000000001"
WA_TOKEN = "EAAJolaWhatsAppSystemUserToken"
PAGE_TOKEN = "EAAJolaPageAccessToken"
IG_TOKEN = "EAAJolaInstagramPageAccessToken"
PAGE_FIELDS = [
    "messages",
    "messaging_postbacks",
    "message_echoes",
    "message_deliveries",
    "message_reads",
    "message_reactions",
    "messaging_referrals",
    "standby",
]
IG_FIELDS = ["messages", "messaging_postbacks", "messaging_seen", "message_reactions", "messaging_referral"]
SCOPES = {
    WA_TOKEN: ["whatsapp_business_messaging", "whatsapp_business_management"],
    PAGE_TOKEN: ["pages_messaging", "pages_manage_metadata", "instagram_basic", "instagram_manage_messages"],
    IG_TOKEN: ["instagram_basic", "instagram_manage_messages", "pages_messaging"],
}
CHANNELS = [
    {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "waba_id": WABA_ID, "access_token": WA_TOKEN},
    {"kind": "messenger", "page_id": PAGE_ID, "access_token": PAGE_TOKEN},
    {"kind": "instagram", "account_id": IG_ACCOUNT_ID, "access_token": IG_TOKEN},
]
TIMEOUT = 60


# ------------------------------------------------------------------------------------------------ helpers


def live_config(
    database: DatabaseTarget,
    graph_url: str,
    *,
    public_url: str = "",
    channels: list[dict[str, Any]] = CHANNELS,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "server": {"secret_key": live_secrets.SECRET_KEY, "public_url": public_url},
        "database": {"url": database.url},
        "meta": {
            "app_secret": live_secrets.APP_SECRET,
            "verify_token": live_secrets.VERIFY_TOKEN,
            "app_id": APP_ID,
            "graph_api_url": graph_url,
            "graph_api_version": "v23.0",
        },
        "businesses": [
            {
                "id": "harbour-clinic",
                "name": "Harbour Clinic",
                "api_token": live_secrets.API_TOKEN,
                "channels": [dict(c) for c in channels],
            }
        ],
    }
    if database.schema:
        data["database"]["postgres_schema"] = database.schema
    if "security" in Config.model_fields:  # encryption at rest: a key is required outside the demo
        from bot.config import new_encryption_key  # type: ignore[attr-defined]

        data["security"] = {"encryption_keys": [new_encryption_key()]}
    return data


def _value(value: Any) -> str:
    """TOML for a string, number, list or (as an inline table) a dict."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_value(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Sections of scalars and lists, then [[businesses]] with their [[businesses.channels]]."""
    lines = []
    for section, values in data.items():
        if section != "businesses":
            lines += [f"[{section}]", *(f"{key} = {_value(value)}" for key, value in values.items())]
    for business in data.get("businesses", []):
        lines.append("[[businesses]]")
        lines += [f"{key} = {_value(value)}" for key, value in business.items() if key != "channels"]
        for channel in business.get("channels", []):
            lines += ["[[businesses.channels]]", *(f"{k} = {_value(v)}" for k, v in channel.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def meta_knows_everything(graph: FakeGraph, public_url: str) -> None:
    """Meta as it stands once every step of docs/going-live.md is done."""
    graph.add_node(
        PHONE_NUMBER_ID, WA_TOKEN, display_phone_number="+1 555-000-0000", verified_name="Harbour Clinic"
    )
    graph.add_node(WABA_ID, WA_TOKEN, me=False, name="Harbour Clinic")
    graph.subscribe(WABA_ID, APP_ID)
    graph.add_node(PAGE_ID, PAGE_TOKEN, name="Harbour Clinic")
    graph.subscribe(PAGE_ID, APP_ID, fields=PAGE_FIELDS)
    graph.add_node(IG_ACCOUNT_ID, IG_TOKEN, username="harbourclinic")
    callback = f"{public_url}/webhook"
    graph.add_app(
        APP_ID,
        live_secrets.APP_SECRET,
        [
            {"object": "whatsapp_business_account", "callback_url": callback, "fields": ["messages"]},
            {"object": "page", "callback_url": callback, "fields": PAGE_FIELDS},
            {"object": "instagram", "callback_url": callback, "fields": IG_FIELDS},
        ],
    )
    for token, scopes in SCOPES.items():
        graph.describe_token(token, APP_ID, scopes)


@dataclass
class Result:
    returncode: int
    out: str
    err: str

    def line(self, start: str) -> str:
        """The one line of the report that starts with `start` (after its indent)."""
        [found] = [line.strip() for line in self.out.splitlines() if line.strip().startswith(start)]
        return found

    def fix_after(self, start: str) -> str:
        lines = [line.strip() for line in self.out.splitlines()]
        index = next(i for i, line in enumerate(lines) if line.startswith(start))
        return lines[index + 1].removeprefix("fix: ")


async def run_doctor(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The real `jola doctor` in a subprocess (awaited, so the fake Graph in this loop keeps answering)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("JOLA_")}
    environ.pop("SSL_CERT_FILE", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--config",
        str(config),
        *args,
        cwd=config.parent,
        env={**environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def https_jola(config_path: Path, sock: socket.socket, certs: Certificates) -> AsyncIterator[None]:
    """The real Jola app over HTTPS on `sock`, as a reverse proxy with a certificate would present it."""
    runner = web.AppRunner(create_app(load_config(config_path, environ={}), workers=False), access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock, ssl_context=certs.server_context())
    await site.start()
    try:
        yield
    finally:
        await runner.cleanup()


def sqlite(tmp_path: Path) -> DatabaseTarget:
    return DatabaseTarget(f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")


# ------------------------------------------------------------------------------------------- all right


async def test_a_good_config_passes_every_check(
    database: DatabaseTarget, fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """Every area ok, no warning, exit 0; what each check found is said (the number, the Page...)."""
    certs = make_certificates(tmp_path)
    sock = bound_socket()
    public = f"https://127.0.0.1:{sock.getsockname()[1]}"
    path = write_toml(tmp_path / "jola.toml", live_config(database, fake_graph.url, public_url=public))
    meta_knows_everything(fake_graph, public)
    async with https_jola(path, sock, certs):
        result = await run_doctor(path, env={"SSL_CERT_FILE": str(certs.authority)})
    assert result.returncode == 0, result.out + result.err
    assert "  FAIL  " not in result.out and "  warn  " not in result.out, result.out
    assert result.out.rstrip().endswith("0 warnings, 0 problems: ready to go live.")
    assert result.line("ok    server.secret_key:")
    assert result.line("ok    businesses[0].api_token:")
    assert "its schema is at the newest revision" in result.line("ok    database.url:")
    assert result.line(f"ok    server.public_url: {public}/healthz answers over HTTPS")
    assert result.line(
        f"ok    server.public_url: {public}/webhook answers Meta's handshake with this config's verify token"
    )
    assert result.line(f"ok    meta.app_id: Meta accepts app {APP_ID} with this meta.app_secret")
    assert result.line(f"ok    webhook page: Meta sends messenger deliveries to {public}/webhook")
    whatsapp = [line for line in result.out.splitlines() if f"whatsapp {PHONE_NUMBER_ID}:" in line]
    assert [line.strip() for line in whatsapp] == [
        f"ok    whatsapp {PHONE_NUMBER_ID}: token accepted; the number is +1 555-000-0000 (Harbour Clinic)",
        f"ok    whatsapp {PHONE_NUMBER_ID}: the access token is this app's and does not expire, and has "
        "whatsapp_business_messaging, whatsapp_business_management",
        f"ok    whatsapp {PHONE_NUMBER_ID}: our app is subscribed to WhatsApp Business Account {WABA_ID}",
    ]
    assert result.line(f"ok    messenger {PAGE_ID}: token accepted; it is the Page token of Harbour Clinic")
    assert result.line(f"ok    instagram {IG_ACCOUNT_ID}: token accepted; the account is @harbourclinic")
    assert WA_TOKEN not in result.out and live_secrets.APP_SECRET not in result.out


# ------------------------------------------------------------------------------------------ each wrong


async def test_a_token_meta_does_not_accept_fails_with_how_to_make_one(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    meta_knows_everything(fake_graph, "")
    channels = [{**CHANNELS[0], "access_token": "EAAJolaRevokedToken"}]
    path = write_toml(
        tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, channels=channels)
    )
    result = await run_doctor(path)
    assert result.returncode == 1
    subject = f"FAIL  whatsapp {PHONE_NUMBER_ID}:"
    assert result.line(subject) == (
        f"{subject} Meta does not accept the access token (Invalid OAuth access token - Cannot parse access "
        "token)"
    )
    assert result.fix_after(subject).startswith("make a System User token for this app")
    assert result.out.rstrip().endswith("1 problem: not ready to go live.")


async def test_a_token_for_another_phone_number_fails(fake_graph: FakeGraph, tmp_path: Path) -> None:
    """The token works, but for another business's number: the id or the token is wrong."""
    meta_knows_everything(fake_graph, "")
    fake_graph.readers[WA_TOKEN] = {"100000000000009", WABA_ID}
    path = write_toml(
        tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[:1])
    )
    result = await run_doctor(path)
    assert result.returncode == 1
    subject = f"FAIL  whatsapp {PHONE_NUMBER_ID}:"
    assert result.line(subject) == (
        f"{subject} the access token cannot see phone number {PHONE_NUMBER_ID}: a wrong id, or a token for "
        "another business's assets"
    )
    assert "Phone number ID" in result.fix_after(subject)


async def test_a_token_for_another_page_fails(fake_graph: FakeGraph, tmp_path: Path) -> None:
    meta_knows_everything(fake_graph, "")
    fake_graph.add_node("200000000000009", PAGE_TOKEN, name="Another Page")
    path = write_toml(
        tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[1:2])
    )
    result = await run_doctor(path)
    assert result.returncode == 1
    assert result.line(f"FAIL  messenger {PAGE_ID}:") == (
        f"FAIL  messenger {PAGE_ID}: the access token is not this Page's: Meta says it is for "
        "200000000000009 (a person's token, or another Page's)"
    )


async def test_example_secrets_each_fail_and_nothing_is_asked_with_an_example_token(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[:1])
    data["server"]["secret_key"] = "replace-with-a-long-random-string"
    data["meta"]["app_secret"] = "replace-with-the-meta-app-secret"
    data["meta"]["verify_token"] = "short"
    data["businesses"][0]["api_token"] = "replace-with-a-random-api-token"
    data["businesses"][0]["channels"][0]["access_token"] = "replace-with-a-system-user-token"
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    example = "is still the example value from config.example.toml"
    assert result.line("FAIL  server.secret_key:") == f"FAIL  server.secret_key: {example}"
    assert result.line("FAIL  meta.app_secret:") == f"FAIL  meta.app_secret: {example}"
    assert result.line("FAIL  meta.verify_token:") == (
        "FAIL  meta.verify_token: is 5 characters, fewer than the 8 it needs"
    )
    assert result.line("FAIL  businesses[0].api_token:") == f"FAIL  businesses[0].api_token: {example}"
    assert result.line(f"FAIL  whatsapp {PHONE_NUMBER_ID}:") == (
        f"FAIL  whatsapp {PHONE_NUMBER_ID}: access_token is still the example value"
    )
    assert result.line("warn  meta.app_id:").endswith(
        "not checked with Meta until meta.app_secret is right (see Secrets)"
    )
    assert "App settings > Basic > App secret" in result.fix_after("FAIL  meta.app_secret:")
    assert fake_graph.reads == []  # neither the example token nor the example secret went to Meta


async def test_an_unreachable_database_fails_without_showing_its_password(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    pytest.importorskip("asyncpg")
    target = DatabaseTarget("postgresql+asyncpg://jola:s3cret-pass-word@127.0.0.1:1/jola")
    path = write_toml(tmp_path / "jola.toml", live_config(target, fake_graph.url, channels=[]))
    result = await run_doctor(path)
    assert result.returncode == 1
    line = result.line("FAIL  database.url:")
    assert line.startswith("FAIL  database.url: postgresql+asyncpg://jola:***@127.0.0.1:1/jola: ")
    assert "s3cret-pass-word" not in result.out + result.err
    assert "accepts connections from here" in result.fix_after("FAIL  database.url:")


async def test_a_new_sqlite_database_is_a_warning_and_is_not_created(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    path = write_toml(tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, channels=[]))
    result = await run_doctor(path)
    assert "does not exist yet" in result.line("warn  database.url:")
    assert not (tmp_path / "jola.db").exists()


async def test_an_app_secret_of_another_app_fails(fake_graph: FakeGraph, tmp_path: Path) -> None:
    """A well-formed secret that is not the app's: Meta refuses the app token made of it."""
    meta_knows_everything(fake_graph, "")
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[:1])
    data["meta"]["app_secret"] = "0" * 32
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    assert result.line("FAIL  meta.app_id:").startswith(
        f"FAIL  meta.app_id: Meta refused app {APP_ID} with this meta.app_secret ("
    )
    assert result.fix_after("FAIL  meta.app_id:").startswith(f"copy the App secret of app {APP_ID}")


async def test_webhooks_meta_does_not_send_here_each_say_how_to_subscribe(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """The app's Page webhook goes elsewhere, the WABA has no app, the Page lacks echoes."""
    meta_knows_everything(fake_graph, "https://old.example.org")
    fake_graph.subscribed_apps[WABA_ID] = []
    fake_graph.subscribed_apps[PAGE_ID] = [
        {"id": APP_ID, "name": "Jola", "subscribed_fields": ["messages", "messaging_postbacks"]}
    ]
    public = "https://booking.example.org"
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[:2], public_url=public)
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    assert result.line("FAIL  webhook page:") == (
        f"FAIL  webhook page: Meta sends messenger deliveries to https://old.example.org/webhook, not "
        f"{public}/webhook"
    )
    assert f"callback URL {public}/webhook" in result.fix_after("FAIL  webhook page:")
    waba = f"FAIL  whatsapp {PHONE_NUMBER_ID}: no app is subscribed"
    assert result.line(waba) == (
        f"{waba} to WhatsApp Business Account {WABA_ID}, so Meta sends its messages nowhere"
    )
    assert f"/{WABA_ID}/subscribed_apps" in result.fix_after(waba)
    page = result.line(f"FAIL  messenger {PAGE_ID}: our app gets")
    assert page == f"FAIL  messenger {PAGE_ID}: our app gets the Page's events without message_echoes"


async def test_a_token_of_another_app_or_without_a_permission_fails(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    meta_knows_everything(fake_graph, "")
    fake_graph.describe_token(WA_TOKEN, "399999999999999", SCOPES[WA_TOKEN])
    fake_graph.describe_token(PAGE_TOKEN, APP_ID, ["pages_manage_metadata"], expires_at=0)
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[:2])
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    assert result.line(f"FAIL  whatsapp {PHONE_NUMBER_ID}: the access token was made for") == (
        f"FAIL  whatsapp {PHONE_NUMBER_ID}: the access token was made for Meta app 399999999999999, not "
        f"meta.app_id {APP_ID}: that app's messages and webhooks are not Jola's"
    )
    assert result.line(f"FAIL  messenger {PAGE_ID}: the access token lacks") == (
        f"FAIL  messenger {PAGE_ID}: the access token lacks the permission(s) pages_messaging"
    )


async def test_a_token_that_expires_is_a_warning_and_one_that_expires_now_a_problem(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """Jola cannot renew a token: one that ends in weeks is said, one that ends within two days fails."""
    meta_knows_everything(fake_graph, "")
    now = int(time.time())
    fake_graph.describe_token(PAGE_TOKEN, APP_ID, SCOPES[PAGE_TOKEN], expires_at=now + 30 * 86400)
    fake_graph.describe_token(IG_TOKEN, APP_ID, SCOPES[IG_TOKEN], expires_at=now + 3600)
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[1:])
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    weeks = result.line(f"warn  messenger {PAGE_ID}: the access token expires on ")
    assert weeks.endswith("UTC, and Jola cannot renew it")
    assert result.line(f"FAIL  instagram {IG_ACCOUNT_ID}: the access token expires on ")
    assert "the Facebook Page linked" in result.fix_after(
        f"FAIL  instagram {IG_ACCOUNT_ID}: the access token"
    )


async def test_a_messenger_utility_template_needs_its_permission_and_its_webhook_field(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """Reminders by utility template (reminders.messenger_template): page_utility_messaging is required,
    and the template status updates are a field worth having."""
    meta_knows_everything(fake_graph, "")
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=CHANNELS[1:2])
    data["businesses"][0]["reminders"] = {"messenger_template": "appointment_update"}
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    assert result.line(f"FAIL  messenger {PAGE_ID}: the access token lacks") == (
        f"FAIL  messenger {PAGE_ID}: the access token lacks the permission(s) page_utility_messaging"
    )
    assert result.line(f"warn  messenger {PAGE_ID}: our app is subscribed") == (
        f"warn  messenger {PAGE_ID}: our app is subscribed to Page {PAGE_ID}, without "
        "message_template_status_update"
    )
    assert "message_template_status_update" in result.fix_after(f"warn  messenger {PAGE_ID}: our app")
    assert result.line("warn  webhook page:").endswith(
        "not subscribed, though Jola uses them: message_template_status_update"
    )


async def test_an_instagram_login_token_is_named_as_such(fake_graph: FakeGraph, tmp_path: Path) -> None:
    meta_knows_everything(fake_graph, "")
    channels = [{**CHANNELS[2], "access_token": "IGAAJolaInstagramLoginToken"}]
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=channels)
    result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
    assert result.returncode == 1
    assert result.line(f"FAIL  instagram {IG_ACCOUNT_ID}:").startswith(
        f"FAIL  instagram {IG_ACCOUNT_ID}: this is an Instagram Login token, which only "
        "graph.instagram.com takes"
    )


async def test_an_instagram_login_channel_is_checked_on_its_own_host(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    instagram = FakeGraph()
    await instagram.start()
    try:
        meta_knows_everything(fake_graph, "")
        instagram.add_node(IG_ACCOUNT_ID, "IGAAJolaInstagramLoginToken", username="harbourclinic")
        channels = [{**CHANNELS[2], "access_token": "IGAAJolaInstagramLoginToken", "login": "instagram"}]
        data = live_config(sqlite(tmp_path), fake_graph.url, channels=channels)
        data["meta"]["instagram_graph_api_url"] = instagram.url
        result = await run_doctor(write_toml(tmp_path / "jola.toml", data))
        assert result.line(f"ok    instagram {IG_ACCOUNT_ID}:") == (
            f"ok    instagram {IG_ACCOUNT_ID}: Instagram Login token accepted; the account is @harbourclinic"
        )
        assert not any(line.startswith("FAIL  instagram") for line in result.out.splitlines())
    finally:
        await instagram.close()


async def test_the_public_address_must_be_https_with_a_trusted_certificate(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    data = live_config(sqlite(tmp_path), fake_graph.url, channels=[], public_url="http://booking.example.org")
    result = await run_doctor(write_toml(tmp_path / "plain.toml", data))
    assert result.line("FAIL  server.public_url:") == (
        "FAIL  server.public_url: http://booking.example.org is not https://, and Meta calls only https:// "
        "webhooks"
    )

    certs = make_certificates(tmp_path)
    sock = bound_socket()
    public = f"https://127.0.0.1:{sock.getsockname()[1]}"
    path = write_toml(
        tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, public_url=public, channels=[])
    )
    async with https_jola(path, sock, certs):
        result = await run_doctor(path)  # the test's own authority is not trusted here
    assert result.returncode == 1
    assert result.line("FAIL  server.public_url:").startswith(
        f"FAIL  server.public_url: {public}/healthz: the certificate is not trusted ("
    )


async def test_a_jola_with_another_verify_token_behind_the_address_fails(
    fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """/healthz answers, but the handshake with this config's verify token is refused: another config runs."""
    certs = make_certificates(tmp_path)
    sock = bound_socket()
    public = f"https://127.0.0.1:{sock.getsockname()[1]}"
    running = live_config(sqlite(tmp_path), fake_graph.url, public_url=public, channels=[])
    running["meta"]["verify_token"] = "another-verify-token-0123456789"
    checked = live_config(sqlite(tmp_path), fake_graph.url, public_url=public, channels=[])
    if "security" in running:
        checked["security"] = running["security"]
    write_toml(tmp_path / "running.toml", running)
    path = write_toml(tmp_path / "jola.toml", checked)
    async with https_jola(tmp_path / "running.toml", sock, certs):
        result = await run_doctor(path, env={"SSL_CERT_FILE": str(certs.authority)})
    assert result.returncode == 1
    assert result.line(f"ok    server.public_url: {public}/healthz answers over HTTPS")
    assert result.line("FAIL  server.public_url:") == (
        f"FAIL  server.public_url: {public}/webhook refuses this config's meta.verify_token"
    )


# ---------------------------------------------------------------------------------------------- --json


async def test_json_reports_every_check_for_scripts(fake_graph: FakeGraph, tmp_path: Path) -> None:
    meta_knows_everything(fake_graph, "")
    channels = [CHANNELS[0], {**CHANNELS[1], "access_token": "EAAJolaRevokedToken"}]
    path = write_toml(
        tmp_path / "jola.toml", live_config(sqlite(tmp_path), fake_graph.url, channels=channels)
    )
    result = await run_doctor(path, "--json")
    assert result.returncode == 1
    report = json.loads(result.out)
    assert set(report) == {"config", "ok", "counts", "checks"}
    assert report["config"] == str(path) and report["ok"] is False
    assert set(report["counts"]) == {"ok", "warn", "fail"}
    assert report["counts"]["fail"] == sum(c["status"] == "fail" for c in report["checks"]) == 1
    for check in report["checks"]:
        assert set(check) == {"area", "subject", "status", "message", "fix", "business"}
        assert check["status"] in ("ok", "warn", "fail")
    [failed] = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed["area"] == "channels" and failed["business"] == "harbour-clinic"
    assert failed["subject"] == f"messenger {PAGE_ID}"
    assert failed["message"].startswith("Meta does not accept the access token")
    assert failed["fix"]
    areas = {c["area"] for c in report["checks"]}
    assert areas == {"secrets", "database", "public_url", "meta_app", "channels"}


async def test_json_of_a_config_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "jola.toml").write_text('[server]\ncolour = "blue"\n')
    result = await run_doctor(tmp_path / "jola.toml", "--json")
    assert result.returncode == 1
    report = json.loads(result.out)
    assert report["ok"] is False
    assert report["checks"] == [
        {
            "area": "config",
            "subject": "server.colour",
            "status": "fail",
            "message": "is not a known key",
            "fix": "correct it (every key is documented in config.example.toml), then run jola doctor again",
            "business": None,
        }
    ]
