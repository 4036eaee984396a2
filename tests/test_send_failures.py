"""A send that fails says why: Meta's code and subcode, and plain words, in the log line, on the stored
message (what staff and the API see), never `code=None`. Trouble on the way to Meta (a refused connection,
no answer in time, a 5xx) has words of its own.

Each client writes "hi"; the fake Graph API refuses the bot's answer as Meta would.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.graph import classify
from bot.meta_errors import CODES, REASONS
from bot.web.i18n import translate
from bot.web.reasons import plain_reason
from storage.models import Message, Outbox
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.page_payloads import PAGE_ID, PSID, messenger_text
from tests.support.payloads import PHONE_NUMBER_ID, fixture_json

ATTEMPTS = 2
CHANNELS = [
    {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "wa-token"},
    {"kind": "messenger", "page_id": PAGE_ID, "access_token": "page-token"},
]
TOKEN = {"Authorization": "Bearer api-token"}


def config(database: DatabaseTarget, graph_url: str, **sender: Any) -> Any:
    return make_config(
        database,
        graph_url,
        sender={"max_attempts": ATTEMPTS, "retry_base_seconds": 0.01, **sender},
        business={"channels": CHANNELS},
    )


@pytest.fixture
async def jola(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Jola]:
    running = await start_jola(config(database, fake_graph.url), fake_graph)
    yield running
    await running.client.close()


async def last_reply(jola: Jola) -> Message:
    async with jola.db.read() as session:
        query = select(Message).where(Message.direction == "out").order_by(Message.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one()


async def last_outbox_error(jola: Jola) -> str | None:
    async with jola.db.read() as session:
        query = select(Outbox.last_error).order_by(Outbox.id.desc()).limit(1)
        return (await session.execute(query)).scalar_one()


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "event=send.failed" in r.getMessage()]


# ------------------------------------------------------------------------------ Meta's own error bodies

# fixture, HTTP status, how many calls it takes to give up, then what is stored
FIXTURES = [
    ("error_whatsapp_131047", 400, 1, "OutsideWindow code=131047 subcode=none http=400 reason=window_closed"),
    ("error_token_expired", 401, 1, "TokenInvalid code=190 subcode=463 http=401 reason=token_expired"),
    ("error_rate_limit", 429, ATTEMPTS, "RateLimited code=130429 subcode=none http=429 reason=rate_limited"),
    (
        "error_pair_rate_limit",
        400,
        ATTEMPTS,
        "RateLimited code=131056 subcode=none http=400 reason=pair_rate_limited",
    ),
]


@pytest.mark.parametrize(("fixture", "status", "calls", "facts"), FIXTURES)
async def test_a_refused_whatsapp_send_is_stored_and_logged_with_code_subcode_and_reason(
    jola: Jola, caplog: pytest.LogCaptureFixture, fixture: str, status: int, calls: int, facts: str
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola.graph.fail_next(calls, status=status, fixture=fixture)
    await WhatsAppClient(jola).says("hi")

    assert len(jola.graph.calls) == calls
    reply = await last_reply(jola)
    code = fixture_json(fixture)["error"]["code"]
    key = facts.rsplit("reason=", 1)[1]
    assert (reply.status, reply.error_code) == ("failed", code)
    gave_up = f"gave up after {ATTEMPTS} attempts: " if calls > 1 else ""
    meta_said = fixture_json(fixture)["error"]["message"]
    assert reply.error_title == f"{gave_up}{facts}: {REASONS[key]} Meta said: {meta_said}"[:300]
    assert await last_outbox_error(jola) == reply.error_title
    lines = failure_lines(caplog)
    assert len(lines) == calls
    assert lines[-1].endswith(f"final=True error={facts}")
    assert "None" not in " ".join(lines)


async def test_a_messenger_send_outside_the_window_says_so(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    """10 with subcode 2018278: the window, not a missing permission (code 10 alone)."""
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola.graph.fail_next(1, status=400, fixture="error_messenger_outside_window")
    await jola.deliver(messenger_text("hi", psid=PSID))
    await jola.settle()

    reply = await last_reply(jola)
    assert (reply.status, reply.error_code) == ("failed", 10)
    facts = "OutsideWindow code=10 subcode=2018278 http=400 reason=window_closed_tag"
    assert reply.error_title is not None and reply.error_title.startswith(
        f"{facts}: {REASONS['window_closed_tag']}"
    )
    assert failure_lines(caplog)[-1].endswith(f"final=True error={facts}")


# Codes from PLATFORM.md's table that the fixtures do not hold, as Meta sends them.
CODE_TABLE = [
    # status, code, subcode, calls, kind, reason key
    (400, 131026, None, 1, "RecipientUnavailable", "whatsapp_undeliverable"),
    (400, 131051, None, 1, "PermanentSendError", "unsupported_type"),
    (400, 132000, None, 1, "PermanentSendError", "template_params"),
    (400, 132001, None, 1, "PermanentSendError", "template_missing"),
    (401, 190, 467, 1, "TokenInvalid", "token_invalid"),
    (401, 190, 460, 1, "TokenInvalid", "password_changed"),
    (400, 10, None, 1, "PermissionMissing", "permission_missing"),
    (403, 200, None, 1, "PermissionMissing", "permission_missing"),
    (400, 551, None, 1, "RecipientUnavailable", "user_unavailable"),
    (400, 100, None, 1, "PermanentSendError", "invalid_parameter"),
    (400, 368, None, 1, "PermanentSendError", "blocked"),
    (400, 131031, None, 1, "PermanentSendError", "account_locked"),
    (400, 424242, None, 1, "PermanentSendError", "meta_refused"),
    (429, 4, None, ATTEMPTS, "RateLimited", "rate_limited"),
    (400, 80007, None, ATTEMPTS, "RateLimited", "rate_limited"),
    (500, 131000, None, ATTEMPTS, "TransientSendError", "meta_unavailable"),
]


async def test_each_meta_code_is_stored_with_its_own_plain_reason(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    for number, (status, code, subcode, calls, kind, key) in enumerate(CODE_TABLE):
        error: dict[str, Any] = {
            "message": f"(#{code}) as Meta words it",
            "type": "OAuthException",
            "code": code,
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        jola.graph.fail_next(calls, status=status, body={"error": error})
        await WhatsAppClient(jola, wa_id=f"4520000{number:04d}").says("hi")

        reply = await last_reply(jola)
        facts = f"{kind} code={code} subcode={subcode or 'none'} http={status} reason={key}"
        assert reply.status == "failed" and reply.error_code == code, (code, reply.error_title)
        assert reply.error_title is not None and facts in reply.error_title, (code, reply.error_title)
        assert f"{facts}: {REASONS[key]} Meta said: (#{code})" in reply.error_title
        assert failure_lines(caplog)[-1].endswith(f"final=True error={facts}"), code
        staff_sees = plain_reason(reply.error_title, reply.error_code)
        assert staff_sees == REASONS[key]
        assert translate("da", staff_sees) != staff_sees, f"no Danish for {key}"


# ------------------------------------------------------------------------------ on the way to Meta


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_network_refused_never_code_none(
    database: DatabaseTarget, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola = await start_jola(config(database, f"http://127.0.0.1:{closed_port()}"), fake_graph)
    try:
        await WhatsAppClient(jola).says("hi")
        reply = await last_reply(jola)
    finally:
        await jola.client.close()
    facts = "TransientSendError code=none subcode=none reason=network_refused"
    assert (reply.status, reply.error_code) == ("failed", None)
    assert reply.error_title == (
        f"gave up after {ATTEMPTS} attempts: {facts}: {REASONS['network_refused']} (network: "
        "ClientConnectorError)"
    )
    lines = failure_lines(caplog)
    assert [line.rsplit("error=", 1)[1] for line in lines] == [facts] * ATTEMPTS
    assert "None" not in " ".join(lines)
    assert plain_reason(reply.error_title, reply.error_code) == REASONS["network_refused"]


async def test_no_answer_in_time_is_network_timeout(
    database: DatabaseTarget, fake_graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola = await start_jola(config(database, fake_graph.url, timeout_seconds=0.2), fake_graph)
    client = WhatsAppClient(jola)
    gate = fake_graph.hold(client.wa_id)  # Meta takes the call and never answers
    try:
        await client.says("hi")
        reply = await last_reply(jola)
    finally:
        gate.set()
        await jola.client.close()
    facts = "TransientSendError code=none subcode=none reason=network_timeout"
    assert reply.error_title is not None and reply.error_title.startswith(
        f"gave up after {ATTEMPTS} attempts: {facts}: {REASONS['network_timeout']}"
    )
    assert failure_lines(caplog)[-1].endswith(f"final=True error={facts}")


@pytest.mark.parametrize("body", [{}, "<html>bad gateway</html>"])
async def test_a_server_error_without_a_meta_code_is_server_error(
    jola: Jola, caplog: pytest.LogCaptureFixture, body: Any
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola.graph.fail_next(ATTEMPTS, status=502, body=body)
    await WhatsAppClient(jola).says("hi")
    reply = await last_reply(jola)
    facts = "TransientSendError code=none subcode=none http=502 reason=server_error"
    assert (
        reply.error_title
        == f"gave up after {ATTEMPTS} attempts: {facts}: {REASONS['server_error']} Meta said: HTTP 502"
    )
    assert failure_lines(caplog)[-1].endswith(f"final=True error={facts}")


async def test_a_retry_that_then_passes_leaves_the_reason_on_the_outbox_only(
    jola: Jola, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.sender")
    jola.graph.fail_next(1, status=503, body={})
    await WhatsAppClient(jola).says("hi")
    reply = await last_reply(jola)
    assert (reply.status, reply.error_code, reply.error_title) == ("sent", None, None)
    [line] = failure_lines(caplog)
    assert line.endswith(
        "final=False error=TransientSendError code=none subcode=none http=503 reason=server_error"
    )


# ------------------------------------------------------------------------------ who reads it


async def test_the_api_shows_the_stored_reason_on_the_failed_message(jola: Jola) -> None:
    jola.graph.fail_next(1, status=401, fixture="error_token_expired")
    await WhatsAppClient(jola).says("hi")
    conversations = await (await jola.client.get("/api/v1/conversations", headers=TOKEN)).json()
    conversation = conversations["conversations"][0]["id"]
    answer = await jola.client.get(f"/api/v1/conversations/{conversation}/messages", headers=TOKEN)
    [failed] = [m for m in (await answer.json())["messages"] if m["status"] == "failed"]
    assert failed["error"].startswith(
        f"TokenInvalid code=190 subcode=463 http=401 reason=token_expired: {REASONS['token_expired']}"
    )


@pytest.mark.parametrize(
    ("stored", "code", "words"),
    [
        # what this sender stores
        (
            "TokenInvalid code=190 subcode=463 http=401 reason=token_expired: ...",
            190,
            REASONS["token_expired"],
        ),
        (
            "gave up after 2 attempts: TransientSendError code=none subcode=none reason=network_timeout: ...",
            None,
            REASONS["network_timeout"],
        ),
        (
            "PermanentSendError code=none subcode=none reason=not_sent: the shop is shut",
            None,
            "the shop is shut",
        ),
        ("PermanentSendError code=none subcode=none reason=channel_gone: ...", None, REASONS["channel_gone"]),
        # a `failed` status webhook: Meta's code and title only
        ("Re-engagement message", 131047, REASONS["window_closed"]),
        ("Template name does not exist in the translation", 132001, REASONS["template_missing"]),
        # rows stored before reasons had keys
        (
            "TokenInvalid code=190 subcode=463 http=401: Error validating access token",
            190,
            REASONS["token_expired"],
        ),
        (
            "gave up after 5 attempts: TransientSendError: network: ClientConnectorError",
            None,
            REASONS["network"],
        ),
        ("internal: KeyError", None, REASONS["internal"]),
        (None, None, "Meta did not say why."),
        ("something new", None, "something new"),
    ],
)
def test_staff_read_plain_words_for_every_stored_reason(
    stored: str | None, code: int | None, words: str
) -> None:
    assert plain_reason(stored, code) == words


def test_every_code_with_words_is_classified_to_the_same_reason() -> None:
    """bot/graph.py decides what to do, bot/meta_errors.py says why: they agree on every code."""
    for (code, subcode), key in CODES.items():
        error: dict[str, Any] = {"code": code, "message": "x"}
        if subcode is not None:
            error["error_subcode"] = subcode
        found = classify(400, {"error": error})
        assert found.key == key, (code, subcode)
        assert "None" not in found.summary and re.search(rf"\bcode={code}\b", found.summary)
        assert translate("da", REASONS[key]) != REASONS[key], f"no Danish for {key}"
