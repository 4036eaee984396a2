"""`jola chat`: be a client of the business in this terminal, through the same inbox → dispatch → flow →
outbox path a webhook takes; a terminal channel stands in for the Graph API."""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.clock import Clock
from bot.config import Config
from bot.encryption import keyring_for
from bot.metrics import Metrics
from bot.pipeline import Pipeline
from bot.process import CommandError, describe_database_error
from bot.profiles import Profiles
from bot.tenants import local_channel, sync_tenants
from flows.messages import ChannelKind, InboundMessage, MessageType, Option, Reply, Sender
from storage.db import Database
from storage.inbox import NewEvent
from storage.migrate import upgrade

DEFAULT_PHONE = "+4512345678"
QUIT = {"/quit", "/exit", "/q"}


class TerminalTransport:
    """Prints what the bot says; options become numbered choices the person can answer with a number."""

    def __init__(self, out: TextIO, business_name: str) -> None:
        self._out = out
        self._name = business_name
        self._ids = itertools.count(1)
        self.options: tuple[Option, ...] = ()

    async def deliver(self, channel: ChannelInfo, recipient: str, reply: Reply) -> str | None:
        if reply.kind != "message":
            return None
        lines = [f"{self._name}: {reply.text}"]
        for number, option in enumerate(reply.options, start=1):
            suffix = f" ({option.description})" if option.description else ""
            lines.append(f"  {number}. {option.title}{suffix}")
        self.options = reply.options  # a number answers the latest message only, never an older list
        self._out.write("\n".join(lines) + "\n")
        self._out.flush()
        return f"terminal.{next(self._ids)}"


def _sender(kind: str, as_id: str | None) -> Sender:
    if kind == ChannelKind.WHATSAPP:
        phone = as_id or DEFAULT_PHONE
        digits = phone.lstrip("+")
        if not digits.isdigit():
            raise CommandError(f'--as "{phone}" is not a phone number like +4512345678')
        return Sender(phone=f"+{digits}")
    return Sender(user_id=as_id or "terminal-client")


def _message(channel: ChannelInfo, sender: Sender, line: str, options: tuple[Option, ...]) -> InboundMessage:
    fields: dict[str, object] = {"type": MessageType.TEXT, "text": line}
    if line.isdigit() and 1 <= int(line) <= len(options):
        option = options[int(line) - 1]
        fields = {"type": MessageType.CHOICE, "text": option.title, "choice_id": option.id}
    return InboundMessage(
        channel=channel.kind,
        channel_id=channel.id,
        business_id=channel.business_id,
        platform_id=f"terminal.{uuid.uuid4().hex}",
        sender=sender,
        timestamp=Clock().now(),
        **fields,  # type: ignore[arg-type]
    )


async def _read_line(prompt: str, out: TextIO) -> str | None:
    out.write(prompt)
    out.flush()
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        out.write("\n")
        return None
    if not sys.stdin.isatty():
        out.write(line if line.endswith("\n") else line + "\n")  # piped input: keep the transcript readable
    return line.strip()


async def chat(
    config: Config, *, channel: str, as_id: str | None, business_id: str | None, out: TextIO = sys.stdout
) -> None:
    if not config.businesses:
        raise CommandError("the config has no [[businesses]] to talk to")
    try:
        business = config.business(business_id) if business_id else config.businesses[0]
    except KeyError:
        raise CommandError(f'no business with id "{business_id}" in the config') from None
    sender = _sender(channel, as_id)
    clock = Clock()
    db = Database(
        config.database.url,
        schema=config.database.postgres_schema,
        synchronous=config.database.sqlite_synchronous,
        keyring=keyring_for(config),
    )
    try:
        await upgrade(db)
        await sync_tenants(db, config, clock)
        terminal = await local_channel(db, business.id, channel, clock)
        profiles = Profiles(config)
        await profiles.refresh_now(db)
    except (SQLAlchemyError, OSError) as err:
        await db.dispose()
        raise CommandError(describe_database_error(config, err)) from None
    transport = TerminalTransport(out, business.name)
    pipeline = Pipeline(
        db,
        config,
        clock,
        Metrics(),
        ChannelDirectory([terminal]),
        profiles,
        {terminal.id: transport},
    )
    await pipeline.start()
    out.write(
        f"You are a client of {business.name} on {channel}, as {sender.key}. "
        "Answer with text or an option's number; /quit leaves.\n"
    )
    try:
        while True:
            line = await _read_line("You: ", out)
            if line is None or line in QUIT:
                break
            if not line:
                continue
            message = _message(terminal, sender, line, transport.options)
            await pipeline.inbox.store(
                [
                    NewEvent(
                        provider_key=f"terminal:{message.platform_id}",
                        business_id=message.business_id,
                        channel_id=terminal.id,
                        conversation_key=message.conversation_key,
                        kind="message",
                        payload=message.to_json(),
                    )
                ]
            )
            await pipeline.settle()
    finally:
        await pipeline.stop()
        await db.dispose()
