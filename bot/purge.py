"""`jola purge`: retention by hand. Per business and kind, what goes (or with --dry-run, would go) by the
business's retention settings as the database holds them, with how many and the oldest date."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.config import Config
from bot.process import CommandError, describe_database_error
from bot.profiles import Profiles
from bot.retention import KindOutcome, purge_business
from storage.db import Database
from storage.migrate import upgrade

NAMES = {"messages": "messages", "inbound_events": "raw deliveries from Meta"}
VERBS = {  # (done, dry run)
    "messages": ("went", "would go"),
    "inbound_events": ("emptied", "would be emptied"),
}


async def purge(config: Config, *, business: str | None, dry_run: bool, clock: Clock | None = None) -> str:
    chosen = [b for b in config.businesses if business in (None, b.id)]
    if not chosen:
        known = ", ".join(b.id for b in config.businesses) or "none"
        raise CommandError(f'no business "{business}" in the config (there are: {known})')
    now = (clock or Clock()).now()
    db = Database(config.database.url, schema=config.database.postgres_schema)
    said: list[str] = []
    try:
        await upgrade(db)
        profiles = Profiles(config)
        await profiles.refresh_now(db)  # the settings as staff left them, not the file's
        for b in chosen:
            outcome = await purge_business(
                db, b.id, profiles.settings(b.id).retention, now, dry_run=dry_run, actor="cli"
            )
            said.append(f"{b.id}:")
            said += [f"  {_line(kind, ZoneInfo(b.timezone), dry_run)}" for kind in outcome.kinds]
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
    if dry_run:
        said.append("Nothing was changed (--dry-run).")
    return "\n".join(said)


def _line(found: KindOutcome, zone: ZoneInfo, dry_run: bool) -> str:
    name = NAMES[found.kind]
    if found.age is None:
        return f'{name}: kept (retention "off")'
    head = f"{name} older than {_span(found.age)}"
    if not found.count:
        return f"{head}: none"
    verb = VERBS[found.kind][1 if dry_run else 0]
    return f"{head}: {found.count} {verb}, the oldest from {_day(found.oldest, zone)}"


def _span(age: timedelta) -> str:
    days, hours = divmod(int(age.total_seconds()) // 3600, 24)
    if hours or not days:
        hours += days * 24
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}"


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d") if moment else "?"
