"""Webhook payload builders and the Meta fixtures (copied from shared/meta/fixtures, byte for byte)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta"
PHONE_NUMBER_ID = "100000000000002"
APP_SECRET = "test_app_secret_do_not_use"
_counter = itertools.count(1)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / (name if name.endswith(".json") else f"{name}.json")).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def fresh_fixture(name: str, now: float | None = None) -> Any:
    """A fixture as if sent just now: its timestamps (seconds as text, or milliseconds) moved to `now`,
    so the 24-hour window is open for the bot's answer."""
    moment = time.time() if now is None else now

    def fresh(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: fresh(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fresh(v, key) for v in value]
        if key in ("timestamp", "time", "watermark"):
            if isinstance(value, str) and value.isdigit():
                return str(int(moment))
            if isinstance(value, int) and not isinstance(value, bool):
                return int(moment * 1000) if value > 10**11 else int(moment)
        return value

    return fresh(fixture_json(name))


def _envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": value}]}],
    }


def whatsapp_message(
    content: dict[str, Any],
    *,
    wa_id: str = "15550000001",
    user_id: str | None = "US.1000000000000000001",
    name: str | None = "Test Customer One",
    wamid: str | None = None,
    timestamp: int | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    contact: dict[str, Any] = {"wa_id": wa_id}
    if name:
        contact["profile"] = {"name": name}
    if user_id:
        contact["user_id"] = user_id
    message = {
        "from": wa_id,
        "id": wamid or f"wamid.TEST{next(_counter):08d}",
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        **content,
    }
    if user_id:
        message["from_user_id"] = user_id
    return _envelope({"contacts": [contact], "messages": [message]}, phone_number_id)


def whatsapp_text(text: str, **kwargs: Any) -> dict[str, Any]:
    return whatsapp_message({"type": "text", "text": {"body": text}}, **kwargs)


def whatsapp_button(option_id: str, title: str, **kwargs: Any) -> dict[str, Any]:
    return whatsapp_message(
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": option_id, "title": title}},
        },
        **kwargs,
    )


def whatsapp_status(
    wamid: str, status: str, *, timestamp: int = 1793000100, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": "15550000001",
    }
    if errors:
        item["errors"] = errors
    return _envelope({"statuses": [item]})
