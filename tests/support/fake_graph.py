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


INVALID_TOKEN = {
    "error": {
        "message": "Invalid OAuth access token - Cannot parse access token",
        "type": "OAuthException",
        "code": 190,
        "fbtrace_id": "AFakeTrace",
    }
}


def _unsupported_get(node: str) -> dict[str, Any]:
    message = (
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation."
    )
    return {"error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33}}


class FakeGraph:
    """Answers like the WhatsApp Cloud API; `fail_next` queues error responses for the next calls.

    Read-only GETs (what `jola doctor` asks) answer from what a test registers: `add_node` (a phone number,
    Page, Instagram account or WhatsApp Business Account, readable with its token), `subscribe` (an app
    installed on a WABA or Page) and `add_app` (the app's webhook subscriptions, read with its app token)."""

    def __init__(self) -> None:
        self.calls: list[GraphCall] = []
        self._failures: deque[tuple[int, Any]] = deque()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._holds: dict[str, asyncio.Event] = {}
        self.url = ""
        self.nodes: dict[str, dict[str, Any]] = {}
        self.readers: dict[str, set[str]] = {}  # token -> the nodes it may read
        self.me: dict[str, str] = {}  # token -> the node GET /me answers with
        self.subscribed_apps: dict[str, list[dict[str, Any]]] = {}
        self.apps: dict[str, tuple[str, list[dict[str, Any]]]] = {}  # app id -> (secret, subscriptions)
        self.reads: list[tuple[str, str | None]] = []  # (path, token) of every GET
        self.token_facts: dict[str, dict[str, Any]] = {}  # token -> what debug_token says of it

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{version}/{asset}/messages", self._messages)
        app.router.add_get("/{version}/{node}", self._node)
        app.router.add_get("/{version}/{node}/{edge}", self._edge)
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

    def add_node(self, node_id: str, token: str | None, *, me: bool = True, **fields: Any) -> None:
        """A Graph object `token` may read (and, with `me`, the one its GET /me names)."""
        self.nodes[node_id] = {"id": node_id, **fields}
        if token is not None:
            self.readers.setdefault(token, set()).add(node_id)
            if me:
                self.me[token] = node_id

    def subscribe(
        self, node_id: str, app_id: str, name: str = "Jola", fields: list[str] | None = None
    ) -> None:
        """The app installed on a WABA (no fields) or a Page (with the fields it gets)."""
        if fields is None:
            entry: dict[str, Any] = {"whatsapp_business_api_data": {"id": app_id, "name": name}}
        else:
            entry = {"id": app_id, "name": name, "subscribed_fields": fields}
        self.subscribed_apps.setdefault(node_id, []).append(entry)

    def add_app(self, app_id: str, secret: str, subscriptions: list[dict[str, Any]]) -> None:
        """The app's webhook subscriptions ({"object", "callback_url", "fields": [names], "active"})."""
        self.apps[app_id] = (secret, subscriptions)

    def describe_token(
        self, token: str, app_id: str, scopes: list[str], expires_at: int = 0, kind: str = "SYSTEM_USER"
    ) -> None:
        """What GET /debug_token?input_token=`token` answers (asked with an app token)."""
        self.token_facts[token] = {
            "app_id": app_id,
            "type": kind,
            "is_valid": True,
            "expires_at": expires_at,
            "scopes": scopes,
        }

    def _token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        token = token or request.query.get("access_token")
        self.reads.append((request.path, token))
        return token

    async def _node(self, request: web.Request) -> web.Response:
        token = self._token(request)
        node = request.match_info["node"]
        if node == "debug_token":
            if not any(token == f"{app}|{secret}" for app, (secret, _) in self.apps.items()):
                return web.json_response(INVALID_TOKEN, status=400)
            facts = self.token_facts.get(request.query.get("input_token", ""), {"is_valid": False})
            return web.json_response({"data": facts})
        if token not in self.readers:
            return web.json_response(INVALID_TOKEN, status=400)
        if node == "me":
            node = self.me.get(token, "")
        if node not in self.readers[token] or node not in self.nodes:
            return web.json_response(_unsupported_get(node), status=400)
        wanted = [f for f in request.query.get("fields", "id").split(",") if f]
        found = self.nodes[node]
        return web.json_response({f: found[f] for f in ["id", *wanted] if f in found})

    async def _edge(self, request: web.Request) -> web.Response:
        token = self._token(request)
        node, edge = request.match_info["node"], request.match_info["edge"]
        if edge == "subscriptions" and node in self.apps:
            secret, subscriptions = self.apps[node]
            if token != f"{node}|{secret}":
                return web.json_response(INVALID_TOKEN, status=400)
            data = [
                {"active": True, **s, "fields": [{"name": f, "version": "v23.0"} for f in s["fields"]]}
                for s in subscriptions
            ]
            return web.json_response({"data": data})
        if token not in self.readers:
            return web.json_response(INVALID_TOKEN, status=400)
        if edge != "subscribed_apps" or node not in self.readers[token]:
            return web.json_response(_unsupported_get(node), status=400)
        return web.json_response({"data": self.subscribed_apps.get(node, [])})

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
