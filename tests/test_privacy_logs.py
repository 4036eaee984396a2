"""Logs carry ids and outcomes, never phone numbers, names or message text (at the default level)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import keys
from bot.signature import sign
from storage import reminders as reminder_store
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient
from tests.support.clinic import appointments, clinic
from tests.support.fake_graph import FakeGraph, GraphCall
from tests.support.page_payloads import (
    instagram_quick_reply,
    instagram_text,
    messenger_postback,
    messenger_quick_reply,
    messenger_text,
)
from tests.support.payloads import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    fixture_bytes,
    whatsapp_button,
    whatsapp_status,
    whatsapp_text,
)
from tests.support.smtp import smtp_server
from tests.support.staff import PASSWORD, StaffBrowser, add_account
from tests.test_cli import clean_env
from tests.test_page_conversations import CHANNELS

SECRETS = (
    "15550000001",
    "Test Customer",
    "Customer One",
    "US.1000000000000000001",
    "book a massage",
    "friday at 10",
    "welcome to Harbour",
)


async def test_a_whole_conversation_logs_no_personal_data(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """Deliveries, replies, retries, failures and statuses all log; none of it names the client."""
    caplog.set_level(logging.INFO)
    client = WhatsAppClient(jola)
    jola.graph.fail_next(1, status=500)
    await client.says("Hi, I'd like to book a massage")
    jola.graph.fail_next(1, status=400, fixture="error_whatsapp_131047")
    await client.says("friday at 10")
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    await jola.deliver(whatsapp_status("wamid.FAKE000001", "failed", errors=errors))
    await jola.deliver(fixture_bytes("whatsapp_image"))
    await jola.post(b"not json")
    await jola.settle()

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "event=inbox.stored" in text and "event=send.failed" in text
    for secret in SECRETS:
        assert secret not in text


# ------------------------------------------------------------------------------ every channel, end to end


@dataclass(frozen=True)
class Person:
    """A client whose every detail is a word nothing else in the logs could hold by chance."""

    kind: str
    user_id: str  # BSUID, PSID or IGSID
    name: str
    phone: str  # E.164
    email: str
    words: tuple[str, ...]  # what they write beyond the booking itself

    @property
    def secrets(self) -> tuple[str, ...]:
        first, last = self.name.split()
        digits = self.phone.lstrip("+")
        return (
            self.user_id,
            first,
            last,
            digits,
            digits[-8:],
            self.email,
            self.email.split("@")[0],
            *self.words,
        )


PEOPLE = {
    "whatsapp": Person(
        "whatsapp", "US.7391846205571938", "Zephyrine Quillfeather", "+4571829364",
        "zephyrine.quill@example.org", ("marmalade", "xylophone"),
    ),
    "messenger": Person(
        "messenger", "7391846205571938", "Ottoline Brackenbury", "+4531415926",
        "ottoline.bracken@example.org", ("periwinkle", "trombone"),
    ),
    "instagram": Person(
        "instagram", "8462013579246801", "Cassius Wetherall", "+4527182818",
        "cassius.wether@example.org", ("tangerine", "harpsichord"),
    ),
}  # fmt: skip
STAFF_WORDS = "glockenspiel"  # in what staff write to the client
TOKEN = {"Authorization": "Bearer api-token"}


async def reminders_of(jola: Jola) -> list[reminder_store.ReminderView]:
    async with jola.db.read() as session:
        return await reminder_store.listing(session, "harbour-clinic")


ERRORS = {"whatsapp": "error_whatsapp_131047", "messenger": "error_messenger_outside_window"}


class Chat:
    """The person on their channel: writes, taps, and answers the bot's questions with their details."""

    def __init__(self, jola: Jola, person: Person) -> None:
        self.jola, self.person, self.seen = jola, person, 0
        self.address = person.phone.lstrip("+") if person.kind == "whatsapp" else person.user_id

    def _now(self) -> int:
        return int(self.jola.app[keys.CLOCK].now().timestamp())

    async def says(self, text: str) -> list[GraphCall]:
        p = self.person
        if p.kind == "whatsapp":
            body = whatsapp_text(
                text, wa_id=self.address, user_id=p.user_id, name=p.name, timestamp=self._now()
            )
        elif p.kind == "messenger":
            body = messenger_text(text, psid=p.user_id, timestamp=self._now() * 1000)
        else:
            body = instagram_text(text, igsid=p.user_id, timestamp=self._now() * 1000)
        await self.jola.deliver(body)
        return await self.replies()

    async def taps(self, title: str) -> list[GraphCall]:
        last = self.jola.graph.sent_to(self.address)[-1]
        option = last.option_ids[last.options.index(title)]
        p, now = self.person, self._now()
        if p.kind == "whatsapp":
            body = whatsapp_button(
                option, title, wa_id=self.address, user_id=p.user_id, name=p.name, timestamp=now
            )
        elif p.kind == "messenger":
            quick = last.body["message"].get("quick_replies")
            build = messenger_quick_reply if quick else messenger_postback
            body = build(option, title, psid=p.user_id, timestamp=now * 1000)
        else:
            body = instagram_quick_reply(option, title, igsid=p.user_id, timestamp=now * 1000)
        await self.jola.deliver(body)
        return await self.replies()

    async def replies(self) -> list[GraphCall]:
        await self.jola.settle()
        sent = self.jola.graph.sent_to(self.address)
        new, self.seen = sent[self.seen :], len(sent)
        return new

    async def books(self, what: str) -> None:
        """`what` ("massage friday at 10"), giving a name and phone number when asked, then confirms."""
        replies = await self.says(what)
        for _ in range(4):
            last = replies[-1]
            if "Yes, book it" in last.options:
                await self.taps("Yes, book it")
                return
            asked = (last.text or "").lower()
            if "name" in asked:
                replies = await self.says(f"It's {self.person.name}")
            elif "phone" in asked:
                replies = await self.says(f"my number is {self.person.phone}")
            else:
                raise AssertionError(f"unexpected question: {last.text}")
        raise AssertionError("never got to the summary")


@pytest.mark.parametrize("kind", sorted(PEOPLE))
async def test_whole_bookings_on_every_channel_log_no_personal_data(
    database: DatabaseTarget, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    """Book, a reply that fails, move, a reminder, the client's email confirmations, staff taking over
    and writing (API and web), cancel, an export and an erasure, with every logger at INFO (aiohttp's
    access log included): no line names the client, their number, platform id, address or words."""
    caplog.set_level(logging.INFO)
    # An in-process `jola` run earlier in the session quiets aiohttp's access log (bot/logs.py): turn it
    # back on here, as a deployment might.
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    person = PEOPLE[kind]
    async with (
        smtp_server() as mail,
        clinic(
            database,
            fake_graph,
            channels=CHANNELS,
            reminders={"lead_times": ["24h"], "whatsapp_template": "appointment_reminder"},
            sections={
                "smtp": {
                    "host": "127.0.0.1",
                    "port": mail.port,
                    "security": "none",
                    "sender": "b@harbour.example",
                }
            },
        ) as (jola, clock),
    ):
        chat = Chat(jola, person)
        fake_graph.fail_next(1, status=400, fixture=ERRORS.get(kind, "error_messenger_outside_window"))
        await chat.says(f"hi, {person.words[0]} here")
        await chat.books("massage friday at 10")
        [booked] = await appointments(jola)
        await add_account(jola, "owner@harbour.example", role="owner")
        staff = StaffBrowser(jola)
        await staff.log_in("owner@harbour.example")
        saved = await staff.post(
            f"/clients/{booked.client_id}/email", {"email": person.email, "email_reminders": "on"}
        )
        assert saved.status == 200

        await chat.says(f"can I move my appointment? {person.words[1]}")
        [summary] = await chat.says("friday at 14")
        await chat.taps(summary.options[0])
        [conversation] = (await (await jola.client.get("/api/v1/conversations", headers=TOKEN)).json())[
            "conversations"
        ]
        path = f"/api/v1/conversations/{conversation['id']}"
        assert (await jola.client.post(f"{path}/takeover", headers=TOKEN)).status == 200
        sent = await jola.client.post(
            f"{path}/messages", json={"text": f"Hi, {STAFF_WORDS} here"}, headers=TOKEN
        )
        assert sent.status == 201
        page = await staff.post(
            f"/conversations/{conversation['id']}/reply", {"text": f"{STAFF_WORDS} again"}
        )
        assert page.status == 200
        assert (await jola.client.post(f"{path}/release", headers=TOKEN)).status == 200
        await jola.settle()

        clock.current = (await reminders_of(jola))[0].due_at
        await jola.app[keys.PIPELINE].reminders.run_due()
        await jola.settle()
        await jola.app[keys.PIPELINE].mail.run_due()
        assert await mail.wait_for(1)  # "moved", to the address staff set

        await chat.says("cancel my appointment")
        await chat.taps("Yes, cancel it")
        await jola.app[keys.PIPELINE].mail.run_due()
        assert (
            await jola.client.get(f"/api/v1/clients/{booked.client_id}/export", headers=TOKEN)
        ).status == 200
        assert (await staff.get(f"/clients/{booked.client_id}/export")).status == 200
        erased = await staff.post(f"/clients/{booked.client_id}/erase", {"confirm": "ERASE"})
        assert erased.status == 200 and erased.url == "/clients"
        await staff.close()
        await jola.settle()

    # Every logger but the test's own mail server's (aiosmtpd's "mail.log" names who it received for).
    text = "\n".join(caplog.handler.format(r) for r in caplog.records if r.name != "mail.log")
    for needed in (
        "event=send.failed",
        "event=inbox.stored",
        "event=reminders.settled",
        "event=mail.settled",
        "event=staff.message_queued",
        "event=privacy.exported",
        "event=privacy.erased",
        "event=api.request",
        "event=web.request",
        "aiohttp.access",
    ):
        assert needed in text
    assert [s for s in (*person.secrets, STAFF_WORDS) if s in text] == []


# ------------------------------------------------------------------------------------------ `jola serve`

SERVE_TIMEOUT = 30.0


def serve_config(folder: Path, graph_url: str) -> Path:
    every_day = "\n".join(
        f'{day} = ["08:00-18:00"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    path = folder / "jola.toml"
    path.write_text(
        f"""
[server]
secret_key = "a-secret-key-for-the-log-test-0123456789"

[database]
url = "sqlite+aiosqlite:///{folder / "jola.db"}"

[meta]
app_secret = "{APP_SECRET}"
verify_token = "verify-token-for-the-log-test"
graph_api_url = "{graph_url}"
graph_api_version = "v23.0"
app_id = "300000000000001"

[[businesses]]
id = "harbour-clinic"
name = "Harbour Clinic"
timezone = "Europe/Copenhagen"
api_token = "api-token-for-the-log-test-0123456789"

[businesses.hours]
{every_day}

[[businesses.services]]
id = "massage"
name = "Massage"
duration_minutes = 60

[[businesses.channels]]
kind = "whatsapp"
phone_number_id = "{PHONE_NUMBER_ID}"
access_token = "wa-token"
"""
    )
    return path


async def reply_to(graph: FakeGraph, to: str, seen: int, option: str | None = None) -> GraphCall:
    """The bot's next message to `to` after the first `seen` (the next offering `option`, if given)."""
    while True:
        new = graph.sent_to(to)[seen:]
        found = [c for c in new if option is None or option in c.options]
        if found:
            return found[0]
        await graph.wait_for_calls(len(graph.calls) + 1, timeout=SERVE_TIMEOUT)


async def test_jola_serve_writes_no_personal_data_to_stderr(tmp_path: Path, fake_graph: FakeGraph) -> None:
    """The real process at its default level: a client books on WhatsApp, staff search for them by name
    and number (in query strings), read, export and erase them; stderr names none of it."""
    person = PEOPLE["whatsapp"]
    config = serve_config(tmp_path, fake_graph.url)
    staff_add = ("staff", "add", "--business", "harbour-clinic", "--email", "owner@harbour.example")
    added = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *staff_add, "--role", "owner", "--config", str(config),
        stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    _, problem = await asyncio.wait_for(added.communicate((PASSWORD + "\n").encode()), SERVE_TIMEOUT)
    assert added.returncode == 0, problem
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--config", str(config), "--port", "0",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr, env=clean_env(),
        )  # fmt: skip
    try:
        async with asyncio.timeout(SERVE_TIMEOUT):
            port = None
            while port is None:
                line = (await process.stdout.readline()).decode()  # type: ignore[union-attr]
                assert line, f"serve ended early: {stderr_path.read_text()}"
                found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                port = int(found.group(1)) if found else None
        try:
            await _a_day_of_work(f"http://127.0.0.1:{port}", fake_graph, person)
        except BaseException:
            print(stderr_path.read_text(), [c.text for c in fake_graph.calls])
            raise
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), SERVE_TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logged = stderr_path.read_text()
    assert (
        "event=api.request" in logged and "event=web.request" in logged and "event=privacy.erased" in logged
    )
    assert [s for s in (*person.secrets, STAFF_WORDS) if s in logged] == []


async def _a_day_of_work(base: str, graph: FakeGraph, person: Person) -> None:
    wa_id = person.phone.lstrip("+")
    who = {"wa_id": wa_id, "user_id": person.user_id, "name": person.name}
    token = {"Authorization": "Bearer api-token-for-the-log-test-0123456789"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def deliver(body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)}
            async with http.post(f"{base}/webhook", data=raw, headers=headers) as response:
                assert response.status == 200

        await deliver(whatsapp_text(f"hi, {person.words[0]} here", **who))
        await reply_to(graph, wa_id, 0)
        seen = len(graph.sent_to(wa_id))
        await deliver(whatsapp_text(f"massage tomorrow at 10, {person.words[1]}", **who))
        summary = await reply_to(graph, wa_id, seen, "Yes, book it")
        seen = len(graph.sent_to(wa_id))
        option = summary.option_ids[summary.options.index("Yes, book it")]
        await deliver(whatsapp_button(option, "Yes, book it", **who))
        await reply_to(graph, wa_id, seen)

        query = {"phone": person.phone, "q": person.name}
        async with http.get(f"{base}/api/v1/clients", params=query, headers=token) as response:
            [client] = (await response.json())["clients"]
        async with http.get(f"{base}/login") as response:
            csrf = re.search(r'name="csrf_token" value="([^"]*)"', await response.text()).group(1)  # type: ignore[union-attr]
        form = {"email": "owner@harbour.example", "password": PASSWORD, "csrf_token": csrf}
        async with http.post(f"{base}/login", data=form) as response:
            page = await response.text()
            assert response.status == 200 and "csrf" in page
        for path, params in (("/clients", {"q": person.name}), ("/inbox", {"q": person.phone})):
            async with http.get(base + path, params=params, headers={"Accept": "text/html"}) as response:
                assert person.name in await response.text()
        async with http.get(f"{base}/api/v1/conversations", headers=token) as response:
            [conversation] = (await response.json())["conversations"]
        staff_text = {"text": f"Hi, {STAFF_WORDS} here"}
        async with http.post(
            f"{base}/api/v1/conversations/{conversation['id']}/messages", json=staff_text, headers=token
        ) as response:
            assert response.status == 201
        async with http.get(f"{base}/api/v1/clients/{client['id']}/export", headers=token) as response:
            assert (
                person.email not in await response.text()
            )  # never given: the words below must not be either
        async with http.delete(f"{base}/api/v1/clients/{client['id']}", headers=token) as response:
            assert response.status == 204
