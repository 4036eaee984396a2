"""A client's rights over their data, in one place the REST API, the staff app, the CLI and Meta's callbacks
all call: export everything held on them (access, portability), and erase it (keeping only anonymous
booking facts for statistics). Each is written to privacy_events with ids only."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot import audit
from bot.config import Config
from bot.encryption import keyring_for
from bot.process import CommandError, describe_database_error
from storage import channel_states
from storage import privacy as store
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def _plain(value: Any, zone: ZoneInfo) -> Any:
    """Times in the business's zone with their offset, like the rest of the API; the rest as it is."""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, dict):
        return {k: _plain(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, zone) for v in value]
    return value


async def export_client(
    db: Database, business_id: str, client_id: int, zone: ZoneInfo, *, actor: str, now: datetime
) -> dict[str, Any] | None:
    """Everything held on the client, ready for JSON; None when the business has no such client. The
    export itself is recorded (who asked, when, which client id)."""
    async with db.write() as session:
        found = await store.export_client(session, business_id, client_id)
        if found is None:
            return None
        store.record(
            session,
            business_id=business_id,
            kind="export",
            actor=actor,
            subject=client_id,
            status="done",
            now=now,
        )
        await audit.record(session, business_id, actor, "client.exported", ("client", client_id), now=now)
    log.info("event=privacy.exported business=%s client=%s actor=%s", business_id, client_id, actor)
    return {"business": business_id, "exported_at": _plain(now, zone), **_plain(found, zone)}


async def erase_client(
    db: Database,
    business_id: str,
    client_id: int,
    *,
    actor: str,
    now: datetime,
    confirmation_code: str | None = None,
) -> store.Erased | None:
    """Remove the client's personal data and messages everywhere (the inbox's own file included); None
    when the business has no such client. A later message from the same person starts a new record."""
    async with db.read() as session:
        trail = await store.inbox_trail(session, business_id, client_id)
    if trail is None:
        return None
    # The inbox first: a delivery stored meanwhile is handled onto the old record, then erased with it.
    async with db.inbox.write() as inbox:
        handled = await store.forget_inbox(inbox, trail)
    async with db.write() as session:
        if db.split_inbox:  # rows a release before the separate inbox file left in the main one
            handled |= await store.forget_inbox(session, trail)
        erased = await store.erase_client(session, business_id, client_id, handled | trail.provider_keys)
        if erased is None:
            return None
        store.record(
            session,
            business_id=business_id,
            kind="erase",
            actor=actor,
            subject=client_id,
            status="done",
            now=now,
            confirmation_code=confirmation_code,
        )
        await audit.record(session, business_id, actor, "client.erased", ("client", client_id), now=now)
    log.info(
        "event=privacy.erased business=%s client=%s actor=%s conversations=%d messages=%d kept=%d",
        business_id,
        client_id,
        actor,
        erased.conversations,
        erased.messages,
        erased.appointments_kept,
    )
    return erased


async def meta_data_deletion(db: Database, user_id: str, now: datetime) -> str:
    """Meta's data deletion callback for one platform user id: every client it names, in any business, is
    erased. Returns the confirmation code its status page answers to."""
    code = secrets.token_hex(10)
    async with db.read() as session:
        found = await store.clients_of_meta_user(session, user_id)
    erased = 0
    for business_id, client_id in found:
        if await erase_client(db, business_id, client_id, actor="meta", now=now, confirmation_code=code):
            erased += 1
    async with db.write() as session:
        store.record(
            session,
            business_id=found[0][0] if len(found) == 1 else None,
            kind="meta_deletion",
            actor="meta",
            subject=None,
            status="done" if erased else "not_found",
            now=now,
            confirmation_code=code,
        )
    log.info("event=privacy.meta_deletion clients=%d", erased)
    return code


async def meta_deauthorize(db: Database, asset_ids: set[str], now: datetime) -> int:
    """Meta's deauthorize callback: the channels of the named assets are disconnected (nothing is sent
    there until an owner turns them back on); the event is recorded either way. Returns how many
    channels were switched off."""
    async with db.write() as session:
        switched = await channel_states.switch_off(session, asset_ids, now)
        for business_id, _channel in switched or [(None, 0)]:
            store.record(
                session,
                business_id=business_id,
                kind="deauthorize",
                actor="meta",
                subject=None,
                status="channels_off" if switched else "recorded",
                now=now,
            )
    log.info("event=privacy.deauthorize channels_off=%d", len(switched))
    return len(switched)


# --- `jola client export` and `jola client erase` -------------------------------------------------------


def _business(config: Config, business: str) -> ZoneInfo:
    for b in config.businesses:
        if b.id == business:
            return ZoneInfo(b.timezone)
    known = ", ".join(b.id for b in config.businesses) or "none"
    raise CommandError(f'no business "{business}" in the config (there are: {known})')


async def _with_database(config: Config, work: Any) -> Any:
    db = Database(config.database.url, schema=config.database.postgres_schema, keyring=keyring_for(config))
    try:
        await upgrade(db)
        return await work(db)
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()


def cli_export(config: Config, business: str, client_id: int) -> str:
    """The JSON `jola client export` prints."""
    zone = _business(config, business)
    now = datetime.now(tz=ZoneInfo("UTC"))

    async def work(db: Database) -> dict[str, Any] | None:
        return await export_client(db, business, client_id, zone, actor="cli", now=now)

    found = asyncio.run(_with_database(config, work))
    if found is None:
        raise CommandError(f'no client {client_id} in business "{business}"')
    return json.dumps(found, ensure_ascii=False, indent=2)


def cli_erase(config: Config, business: str, client_id: int, *, yes: bool) -> str:
    """What `jola client erase` says once done; asks first on a terminal unless `yes`."""
    _business(config, business)
    if not yes:
        if not sys.stdin.isatty():
            raise CommandError("erasing cannot be undone: add --yes to erase without being asked")
        answer = input(f"Erase client {client_id} of {business} and all their messages? Type ERASE: ")
        if answer.strip() != "ERASE":
            raise CommandError("not erased")
    now = datetime.now(tz=ZoneInfo("UTC"))

    async def work(db: Database) -> store.Erased | None:
        return await erase_client(db, business, client_id, actor="cli", now=now)

    erased = asyncio.run(_with_database(config, work))
    if erased is None:
        raise CommandError(f'no client {client_id} in business "{business}"')
    return (
        f"client {client_id} erased: {erased.conversations} conversation(s), {erased.messages} message(s); "
        f"{erased.appointments_kept} appointment(s) kept without the client"
    )
