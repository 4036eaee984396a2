"""The playground: the business chats with its own bot as a client would, through the real pipeline.

Each configured business gets, per channel kind, a local channel (transport "playground") that `jola serve`
dispatches like any other: a staff member's message is stored in the inbox as a delivery would be, the
flows answer it, the outbox row is "sent" by `PlaygroundTransport` (which only gives it a message id; the
staff app reads the reply from the message row and draws it as the channel would, below). Whoever writes
on these channels is a test client (`clients.test`): kept out of the inbox, the client list, the statistics
and reminders, never matched with a real client. Test bookings hold their time like any other until the
tester starts over, comes back, or a day has passed (`sweep`); then they are cancelled the normal way and
the test client's conversation, messages and identity are removed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from bot.channels import adapter_for
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.config import Config
from bot.tenants import local_channel
from flows.messages import ChannelKind, Reply, Sender
from storage.appointments import ACTIVE, change_status, list_appointments, lock_calendar
from storage.clients import find_test_clients, forget_test_clients
from storage.db import Database

log = logging.getLogger(__name__)

TRANSPORT = "playground"
KINDS = (ChannelKind.WHATSAPP, ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)
ACTOR = "playground"
KEEP = timedelta(hours=24)  # test clients older than this are swept away by housekeeping
RUN_DIGITS = 4  # one staff member's conversations are told apart by a run number of up to 4 digits
# WhatsApp test clients write from numbers in +999, a country code no one has (ITU: reserved).
FAKE_PREFIX = "+99900"


class PlaygroundTransport:
    """The "Graph API" of the playground channels: the reply is already logged with everything the page
    draws, so delivering it is only giving it a message id (the sender then marks it sent, which the
    open page hears of)."""

    async def deliver(self, channel: ChannelInfo, recipient: str, reply: Reply) -> str | None:
        if reply.kind != "message":
            return None
        return f"playground.{uuid.uuid4().hex}"


async def open_playground(
    db: Database, config: Config, clock: Clock, directory: ChannelDirectory
) -> dict[int, PlaygroundTransport]:
    """Make every business's playground channels (one per kind), add them to `directory` (so this
    process dispatches their messages) and return their transport by channel id."""
    transport = PlaygroundTransport()
    transports: dict[int, PlaygroundTransport] = {}
    for business in config.businesses:
        for kind in KINDS:
            channel = await local_channel(db, business.id, kind, clock, transport=TRANSPORT)
            directory.add(channel)
            transports[channel.id] = transport
    return transports


def channel_of(directory: ChannelDirectory, business_id: str, kind: str) -> ChannelInfo | None:
    return next(
        (
            c
            for c in directory
            if c.business_id == business_id and c.kind == kind and c.transport == TRANSPORT
        ),
        None,
    )


def first_kind(directory: ChannelDirectory, business_id: str) -> str:
    """The kind of the business's first connected channel (the one its clients most likely use)."""
    for channel in directory:
        if channel.business_id == business_id and channel.transport == "graph" and channel.kind in KINDS:
            return str(channel.kind)
    return str(ChannelKind.WHATSAPP)


# ------------------------------------------------------------------------------------------ who writes


def user_id(staff_id: int, run: int) -> str:
    """Runs are written with all their digits, so one run's id is never the start of another's."""
    return f"playground-{staff_id}-{run:0{RUN_DIGITS}d}"


def sender(kind: str, staff_id: int, run: int, name: str | None) -> Sender:
    """The test client a staff member is in one run: on WhatsApp a number in the fake range (and the name
    their profile would show), on Messenger and Instagram a scoped id, as those platforms give."""
    if kind == ChannelKind.WHATSAPP:
        phone = f"{FAKE_PREFIX}{staff_id % 10**6:06d}{run:0{RUN_DIGITS}d}"
        return Sender(user_id=user_id(staff_id, run), phone=phone, name=name)
    return Sender(user_id=user_id(staff_id, run))


def identity_prefix(staff_id: int, run: int | None = None) -> str:
    """What the test identities of this staff member's runs (or of one run) are stored under (storage
    Who.external_id)."""
    return "test:" + (user_id(staff_id, run) if run is not None else f"playground-{staff_id}-")


def conversation_key(channel: ChannelInfo, staff_id: int, run: int) -> str:
    """As InboundMessage.conversation_key has it for this run's messages."""
    return f"{channel.id}:{user_id(staff_id, run)}"


# ----------------------------------------------------------------------------------------- clearing up


async def clear_for(
    db: Database, business_id: str, staff_id: int, now: datetime, run: int | None = None
) -> int:
    """Everything this staff member tried in the playground (or in one run of it) goes: bookings
    cancelled, conversations and test clients removed. Returns how many test clients went."""
    prefix = identity_prefix(staff_id, run)
    async with db.read() as session:
        found = await find_test_clients(session, business_id, identity_prefix=prefix)
    return await _clear(db, business_id, [client_id for _, client_id in found], now)


async def sweep(db: Database, now: datetime) -> int:
    """Housekeeping: test clients (the playground's, `jola chat`'s) made over a day ago are cleared."""
    async with db.read() as session:
        found = await find_test_clients(session, made_before=now - KEEP)
    by_business: dict[str, list[int]] = {}
    for business_id, client_id in found:
        by_business.setdefault(business_id, []).append(client_id)
    cleared = 0
    for business_id, client_ids in by_business.items():
        cleared += await _clear(db, business_id, client_ids, now)
    return cleared


async def _clear(db: Database, business_id: str, client_ids: list[int], now: datetime) -> int:
    if not client_ids:
        return 0
    async with db.write() as session:
        await lock_calendar(session, business_id)
        for client_id in client_ids:
            for appointment in await list_appointments(session, business_id, client_id=client_id, test=True):
                if appointment.status in ACTIVE:  # cancelled the normal way: kept calendars see it go
                    await change_status(
                        session,
                        business_id,
                        appointment.id,
                        to="cancelled",
                        actor=ACTOR,
                        action="cancelled",
                        now=now,
                    )
        await forget_test_clients(session, business_id, client_ids)
    log.info("event=playground.cleared business=%s clients=%d", business_id, len(client_ids))
    return len(client_ids)


# -------------------------------------------------------------------------- what the channel would show


def drawn(kind: str, reply: Reply, recipient: str) -> list[dict[str, Any]]:
    """What the client would see of `reply` on `kind`, drawn from the very request bodies the channel's
    adapter would send: one bubble per message, each with its text and what can be tapped (`buttons`:
    WhatsApp reply buttons, a Messenger button template; `list`: a WhatsApp list behind its button;
    `quick_replies`: chips under the message, Messenger and Instagram)."""
    adapter = adapter_for(kind)
    bodies = (
        adapter.render(reply, recipient, tag=reply.tag) if reply.tag else adapter.render(reply, recipient)
    )
    if kind == ChannelKind.WHATSAPP:
        return [_whatsapp(body, reply) for body in bodies]
    return [_page(body.get("message") or {}) for body in bodies]


def _whatsapp(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    kind = body.get("type")
    if kind == "text":
        return {"text": body["text"]["body"]}
    if kind == "template":
        return {"text": reply.text or body["template"]["name"], "template": body["template"]["name"]}
    interactive = body["interactive"]
    bubble: dict[str, Any] = {"text": interactive["body"]["text"]}
    if "header" in interactive:
        bubble["header"] = interactive["header"]["text"]
    if "footer" in interactive:
        bubble["footer"] = interactive["footer"]["text"]
    action = interactive["action"]
    if interactive["type"] == "button":
        bubble["buttons"] = [
            {"id": b["reply"]["id"], "title": b["reply"]["title"]} for b in action["buttons"]
        ]
    else:
        rows = [row for section in action["sections"] for row in section["rows"]]
        bubble["list"] = {
            "button": action["button"],
            "rows": [{"id": r["id"], "title": r["title"], "description": r.get("description")} for r in rows],
        }
    return bubble


def _page(message: dict[str, Any]) -> dict[str, Any]:
    """Messenger and Instagram: a text (with quick replies), or a button template."""
    attachment = message.get("attachment")
    if attachment:
        payload = attachment["payload"]
        return {
            "text": payload.get("text", ""),
            "buttons": [{"id": b["payload"], "title": b["title"]} for b in payload.get("buttons", [])],
        }
    bubble: dict[str, Any] = {"text": message.get("text", "")}
    if message.get("quick_replies"):
        bubble["quick_replies"] = [
            {"id": q["payload"], "title": q["title"]} for q in message["quick_replies"]
        ]
    return bubble
