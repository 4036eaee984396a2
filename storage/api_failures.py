"""Wrong REST API tokens, counted per address in the table failed logins use (`login_failures`), so the
limit holds across processes. Keys are "api:" and a keyed hash of the address, never the address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginFailure

KEY_PREFIX = "api:"
MOST = 10_000  # failures read back at most (the limit is far lower; more can only come from a race)


async def note_failure(session: AsyncSession, key: str, now: datetime, since: datetime) -> list[datetime]:
    """Count one more failure under `key`; return its failures since `since`, oldest first."""
    await session.execute(insert(LoginFailure).values(key=key, failed_at=now))
    await session.execute(
        delete(LoginFailure)
        .where(LoginFailure.key == key, LoginFailure.failed_at < since)
        .execution_options(synchronize_session=False)
    )
    found = await session.scalars(
        select(LoginFailure.failed_at)
        .where(LoginFailure.key == key, LoginFailure.failed_at >= since)
        .order_by(LoginFailure.failed_at)
        .limit(MOST)
    )
    return list(found)


async def forget_old(session: AsyncSession, before: datetime) -> None:
    """Other addresses' failures that no window reaches any more."""
    await session.execute(
        delete(LoginFailure)
        .where(LoginFailure.key.startswith(KEY_PREFIX, autoescape=True), LoginFailure.failed_at < before)
        .execution_options(synchronize_session=False)
    )
