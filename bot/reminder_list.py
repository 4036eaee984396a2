"""`jola reminders list`: what is due and what did not go out, per business, in the business's time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config
from bot.encryption import keyring_for
from bot.process import CommandError, describe_database_error
from storage import reminders as store
from storage.db import Database
from storage.migrate import upgrade

SHOWN = 500


async def list_reminders(config: Config, *, business: str | None) -> str:
    chosen = [b for b in config.businesses if business in (None, b.id)]
    if not chosen:
        known = ", ".join(b.id for b in config.businesses) or "none"
        raise CommandError(f'no business "{business}" in the config (there are: {known})')
    db = Database(config.database.url, schema=config.database.postgres_schema, keyring=keyring_for(config))
    lines: list[str] = []
    try:
        await upgrade(db)
        async with db.read() as session:
            for b in chosen:
                zone = ZoneInfo(b.timezone)
                pending = await store.listing(session, b.id, states=("pending",), limit=SHOWN)
                failed = await store.listing(session, b.id, states=("skipped", "failed"), limit=SHOWN)
                sent = await store.listing(session, b.id, states=("queued",), limit=SHOWN)
                undelivered = [r for r in sent if r.delivery == "failed"]
                lines.append(f"{b.id}: {len(pending)} due, {len(failed) + len(undelivered)} not sent")
                for r in pending:
                    lines.append(
                        f"  due     {_at(r.due_at, zone)}  {r.lead} before {r.service_name} at "
                        f"{_at(r.start, zone)} (appointment {r.appointment_id})"
                    )
                for r in failed:
                    lines.append(
                        f"  {r.state:<7} {_at(r.due_at, zone)}  {r.lead} before {r.service_name} at "
                        f"{_at(r.start, zone)} (appointment {r.appointment_id}): {r.reason}"
                    )
                for r in undelivered:
                    why = r.error_title or "Meta did not say why"
                    code = f" (code {r.error_code})" if r.error_code else ""
                    lines.append(
                        f"  failed  {_at(r.due_at, zone)}  {r.lead} before {r.service_name} at "
                        f"{_at(r.start, zone)} (appointment {r.appointment_id}): {r.route}: {why}{code}"
                    )
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
    return "\n".join(lines)


def _at(moment, zone: ZoneInfo) -> str:  # type: ignore[no-untyped-def]
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
