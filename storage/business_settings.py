"""The business's setup as the database holds it, its version, and the record of who changed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BusinessSettings, SettingsChange


class StaleSettings(Exception):
    """Someone else saved the settings since this change was started from them."""


@dataclass(frozen=True, slots=True)
class Stored:
    document: dict[str, Any]
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ChangeView:
    at: datetime
    actor: str
    section: str
    changes: list[dict[str, Any]]


async def load(session: AsyncSession, business_id: str) -> Stored | None:
    row = await session.get(BusinessSettings, business_id, populate_existing=True)
    return None if row is None else Stored(dict(row.document), row.version, row.updated_at)


async def versions(session: AsyncSession) -> dict[str, int]:
    """Every business's settings version: one small read tells a process whether to reload anything."""
    rows = await session.execute(select(BusinessSettings.business_id, BusinessSettings.version))
    return {business_id: version for business_id, version in rows}


async def documents(session: AsyncSession, business_ids: list[str]) -> dict[str, Stored]:
    rows = await session.scalars(
        select(BusinessSettings).where(BusinessSettings.business_id.in_(business_ids))
    )
    return {r.business_id: Stored(dict(r.document), r.version, r.updated_at) for r in rows}


async def seed(session: AsyncSession, business_id: str, document: dict[str, Any], now: datetime) -> None:
    session.add(BusinessSettings(business_id=business_id, document=document, version=1, updated_at=now))
    session.add(
        SettingsChange(
            business_id=business_id,
            at=now,
            staff_id=None,
            actor="config file",
            section="all",
            version=1,
            changes=[{"key": "(all)", "before": None, "after": "set up from the config file"}],
        )
    )
    await session.flush()


async def save(
    session: AsyncSession,
    business_id: str,
    document: dict[str, Any],
    *,
    expected_version: int | None,
    changes: list[dict[str, Any]],
    section: str,
    actor: str,
    staff_id: int | None,
    now: datetime,
) -> int:
    """Store `document` as the next version; with `expected_version`, only if nobody saved since (else
    StaleSettings). The change record goes in the same transaction. Returns the new version."""
    condition = [BusinessSettings.business_id == business_id]
    if expected_version is not None:
        condition.append(BusinessSettings.version == expected_version)
    result = await session.execute(
        update(BusinessSettings)
        .where(*condition)
        .values(document=document, version=BusinessSettings.version + 1, updated_at=now)
        .returning(BusinessSettings.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        raise StaleSettings(business_id)
    session.add(
        SettingsChange(
            business_id=business_id,
            at=now,
            staff_id=staff_id,
            actor=actor[:200],
            section=section,
            version=version,
            changes=changes,
        )
    )
    await session.flush()
    return int(version)


async def record(
    session: AsyncSession,
    business_id: str,
    *,
    section: str,
    actor: str,
    staff_id: int | None,
    changes: list[dict[str, Any]],
    now: datetime,
) -> None:
    """A change kept outside the document (a practitioner's time off), recorded like any other."""
    version = await session.scalar(
        select(BusinessSettings.version).where(BusinessSettings.business_id == business_id)
    )
    session.add(
        SettingsChange(
            business_id=business_id,
            at=now,
            staff_id=staff_id,
            actor=actor[:200],
            section=section,
            version=int(version or 0),
            changes=changes,
        )
    )
    await session.flush()


async def history(session: AsyncSession, business_id: str, limit: int = 50) -> list[ChangeView]:
    rows = await session.scalars(
        select(SettingsChange)
        .where(SettingsChange.business_id == business_id)
        .order_by(SettingsChange.id.desc())
        .limit(limit)
    )
    return [ChangeView(r.at, r.actor, r.section, list(r.changes or [])) for r in rows]
