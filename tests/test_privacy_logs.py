"""Logs carry ids and outcomes, never phone numbers, names or message text (at the default level)."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Jola, WhatsAppClient
from tests.support.payloads import fixture_bytes, whatsapp_status

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
