"""`jola business reseed`: apply the config file's business settings again, on purpose. After the first
start the database holds a business's settings and staff edit them; the file is never reapplied silently,
so this says, key by key, what applying it changes, and records the change like any other."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.business_settings import differences, document_of, save
from bot.clock import Clock
from bot.config import Config
from bot.encryption import keyring_for
from bot.process import CommandError, describe_database_error
from bot.tenants import sync_tenants
from storage import business_settings as store
from storage.db import Database
from storage.migrate import upgrade

ACTOR = "jola business reseed"


async def reseed(config: Config, *, business: str | None, dry_run: bool) -> str:
    chosen = [b for b in config.businesses if business in (None, b.id)]
    if not chosen:
        known = ", ".join(b.id for b in config.businesses) or "none"
        raise CommandError(f'no business "{business}" in the config (there are: {known})')
    clock = Clock()
    db = Database(config.database.url, schema=config.database.postgres_schema, keyring=keyring_for(config))
    said: list[str] = []
    try:
        await upgrade(db)
        await sync_tenants(db, config, clock)
        for b in chosen:
            async with db.write() as session:
                stored = await store.load(session, b.id)
                wanted = document_of(b)
                changes = differences(stored.document if stored else {}, wanted)
                if not changes:
                    said.append(f"{b.id}: the database already matches the config; nothing to change")
                    continue
                verb = "would change" if dry_run else "changed"
                said.append(f"{b.id}: {verb} {len(changes)} setting{'s' if len(changes) != 1 else ''}:")
                said += [f"  {c['key']}: {_shown(c['before'])} -> {_shown(c['after'])}" for c in changes]
                if not dry_run:
                    await save(
                        session,
                        b,
                        wanted,
                        expected_version=stored.version if stored else None,
                        section="reseed",
                        actor=ACTOR,
                        staff_id=None,
                        now=clock.now(),
                    )
    except store.StaleSettings:
        raise CommandError("the settings changed while reseeding; run it again") from None
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
    if dry_run:
        said.append("Nothing was changed (--dry-run).")
    return "\n".join(said)


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
