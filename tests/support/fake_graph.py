"""A fake Graph API: a real aiohttp server on 127.0.0.1 that records every call and fails on request."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.payloads import fixture_json


@dataclass
class GraphCall:
    path: str
    authorization: str | None
    body: dict[str, Any]
    message_id: str | None

    @property
    def to(self) -> str | None:
        """WhatsApp's `to`, or Messenger/Instagram's `recipient.id`."""
        recipient = self.body.get("recipient")
        return recipient.get("id") if isinstance(recipient, dict) else self.body.get("to")

    @property
    def _page_message(self) -> dict[str, Any]:
        return self.body.get("message") or {}

    @property
    def _page_buttons(self) -> list[dict[str, Any]]:
        payload = (self._page_message.get("attachment") or {}).get("payload") or {}
        return payload.get("buttons") or []

    @property
    def text(self) -> str | None:
        """What the client reads: text body, interactive body, or None."""
        if "recipient" in self.body:
            message = self._page_message
            payload = (message.get("attachment") or {}).get("payload") or {}
            return message.get("text") or payload.get("text")
        if self.body.get("type") == "text":
            return self.body["text"]["body"]
        if self.body.get("type") == "interactive":
            return self.body["interactive"]["body"]["text"]
        return None

    @property
    def options(self) -> list[str]:
        """Titles of the buttons or list rows offered."""
        if "recipient" in self.body:
            quick = self._page_message.get("quick_replies") or []
            return [q["title"] for q in quick] or [b["title"] for b in self._page_buttons]
        interactive = self.body.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [b["reply"]["title"] for b in action["buttons"]]
        if interactive.get("type") == "list":
            return [row["title"] for section in action["sections"] for row in section["rows"]]
        return []

    @property
    def option_ids(self) -> list[str]:
        if "recipient" in self.body:
            quick = self._page_message.get("quick_replies") or []
            return [q["payload"] for q in quick] or [b["payload"] for b in self._page_buttons]
        interactive = self.body.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [b["reply"]["id"] for b in action["buttons"]]
        if interactive.get("type") == "list":
            return [row["id"] for section in action["sections"] for row in section["rows"]]
        return []


class FakeGraph:
    """Answers like the WhatsApp Cloud API; `fail_next` queues error responses for the next calls."""

    def __init__(self) -> None:
        self.calls: list[GraphCall] = []
        self._failures: deque[tuple[int, Any]] = deque()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._holds: dict[str, asyncio.Event] = {}
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{version}/{asset}/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def fail_next(
        self, times: int = 1, *, status: int = 500, body: Any = None, fixture: str | None = None
    ) -> None:
        payload = fixture_json(fixture) if fixture else (body if body is not None else {"error": {"code": 1}})
        for _ in range(times):
            self._failures.append((status, payload))

    def hold(self, recipient: str) -> asyncio.Event:
        """Calls to `recipient` hang until the returned event is set (a slow platform, for one chat)."""
        self._holds[recipient] = asyncio.Event()
        return self._holds[recipient]

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
        gate = self._holds.get(body.get("to") or recipient.get("id") or "")
        if gate is not None:
            await gate.wait()
        if self._failures:
            status, payload = self._failures.popleft()
            self.calls.append(GraphCall(request.path, request.headers.get("Authorization"), body, None))
            await self._notify()
            return web.json_response(payload, status=status)
        if "recipient" in body:  # Messenger / Instagram Send API
            message_id = None if "sender_action" in body else f"m_FAKE{next(self._ids):06d}"
            call = GraphCall(request.path, request.headers.get("Authorization"), body, message_id)
            response = {"recipient_id": recipient.get("id")}
            if message_id:
                response["message_id"] = message_id
        elif body.get("status") == "read":
            call = GraphCall(request.path, request.headers.get("Authorization"), body, None)
            response: dict[str, Any] = {"success": True}
        else:
            message_id = f"wamid.FAKE{next(self._ids):06d}"
            call = GraphCall(request.path, request.headers.get("Authorization"), body, message_id)
            response = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": message_id}],
            }
        self.calls.append(call)
        await self._notify()
        return web.json_response(response)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_calls(self, count: int, timeout: float = 10.0) -> list[GraphCall]:
        """Until at least `count` calls have arrived (event-driven, no polling)."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.calls) >= count)

        await asyncio.wait_for(_wait(), timeout)
        return self.calls[:count]

    def sent_to(self, recipient: str) -> list[GraphCall]:
        return [c for c in self.calls if c.to == recipient and c.message_id]

    @staticmethod
    def dumps(call: GraphCall) -> str:
        return json.dumps(call.body, ensure_ascii=False)
