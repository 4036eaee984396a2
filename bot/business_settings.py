"""A business's setup lives in the database once it has started: the config file seeds it, staff edit it
in the settings pages, and `jola business reseed` applies the file again on purpose. The channels, the API
token and the approved message templates stay in the config (they are secrets and Meta's side).

A document is the business's config keys without those; every save validates the whole document with
the config's own rules, so the pages refuse exactly what `jola check-config` refuses, at the same keys.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.config import BusinessConfig, validate_business
from storage import business_settings as store
from storage.models import Practitioner, Room, Service

KEPT_IN_CONFIG = {"id", "api_token", "api_token_sha256", "channels", "message_templates"}
BUILTINS = ("hours", "prices")


def document_of(business: BusinessConfig) -> dict[str, Any]:
    """The business's settings as stored: its config keys (see KEPT_IN_CONFIG), with the built-in answers
    placed in the answers' list (after the business's own, unless the config placed them)."""
    document = business.model_dump(mode="json", exclude=KEPT_IN_CONFIG)
    placed = {item.get("builtin") for item in document["faq"]}
    for kind in BUILTINS:
        if kind not in placed:
            document["faq"].append(
                {
                    "keywords": [],
                    "answer": "",
                    "builtin": kind,
                    "channels": ["whatsapp", "messenger", "instagram"],
                    "offer_booking": True,
                }
            )
    return document


def business_with(base: BusinessConfig, document: dict[str, Any]) -> BusinessConfig:
    """The business as `document` sets it up, with `base`'s channels and secrets (ConfigError if invalid)."""
    kept = base.model_dump(mode="python", include=KEPT_IN_CONFIG)
    return validate_business({**document, **kept})


def differences(before: Any, after: Any, key: str = "") -> list[dict[str, Any]]:
    """What changed, key by key ("services[massage].price": 450 → 500); lists of things with ids by id."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for name in list(dict.fromkeys([*before, *after])):
            found += differences(before.get(name), after.get(name), f"{key}.{name}" if key else name)
        return found
    if _by_id(before) and _by_id(after):
        old = {item["id"]: item for item in before}
        new = {item["id"]: item for item in after}
        found = []
        for ident in list(dict.fromkeys([*old, *new])):
            found += differences(old.get(ident), new.get(ident), f"{key}[{ident}]")
        if [i["id"] for i in before if i["id"] in new] != [i["id"] for i in after if i["id"] in old]:
            found.append(
                {
                    "key": f"{key} (order)",
                    "before": [i["id"] for i in before],
                    "after": [i["id"] for i in after],
                }
            )
        return found
    if before == after:
        return []
    return [{"key": key, "before": _short(before), "after": _short(after)}]


def _by_id(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "id" in i for i in value) and bool(value)


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 300:
        return text[:299] + "…"
    return value


async def seed_if_new(session: AsyncSession, business: BusinessConfig, now: datetime) -> bool:
    """A business seen for the first time gets its settings from the config file; True when seeded."""
    if await store.load(session, business.id) is not None:
        return False
    await store.seed(session, business.id, document_of(business), now)
    return True


async def save(
    session: AsyncSession,
    base: BusinessConfig,
    document: dict[str, Any],
    *,
    expected_version: int | None,
    section: str,
    actor: str,
    staff_id: int | None,
    now: datetime,
) -> tuple[BusinessConfig, int, list[dict[str, Any]]]:
    """Validate and store a whole new document (nothing half-saved: ConfigError before any write, and the
    rows the flows book against follow in the same transaction). Returns the business, the new version and
    what changed; an unchanged document stores nothing."""
    business = business_with(base, document)
    document = document_of(business)  # normalised: what was typed, as the config's rules read it
    stored = await store.load(session, base.id)
    before = stored.document if stored else {}
    changes = differences(before, document)
    if stored is not None and not changes:
        if expected_version is not None and stored.version != expected_version:
            raise store.StaleSettings(base.id)
        return business, stored.version, []
    if stored is None:
        await store.seed(session, base.id, document, now)
        version = 1
    else:
        version = await store.save(
            session,
            base.id,
            document,
            expected_version=expected_version,
            changes=changes,
            section=section,
            actor=actor,
            staff_id=staff_id,
            now=now,
        )
        await audit.settings_changed(session, base.id, staff_id, section, changes, now=now, version=version)
    await sync_resources(session, business)
    return business, version, changes


async def sync_resources(session: AsyncSession, business: BusinessConfig) -> None:
    """The rows appointments point at (services, practitioners, rooms) as the settings list them; one left
    out stays, inactive, since appointments and time off still point at it."""
    existing = {
        s.key: s for s in await session.scalars(select(Service).where(Service.business_id == business.id))
    }
    for position, s in enumerate(business.services):
        service = existing.pop(s.id, None) or Service(business_id=business.id, key=s.id)
        service.name, service.duration_minutes = s.name, s.duration_minutes
        service.position, service.active = position, s.active
        session.add(service)
    for stale in existing.values():
        stale.active = False
    for model, wanted in (
        (Practitioner, [(p.id, p.name) for p in business.practitioners]),
        (Room, [(r.id, r.name) for r in business.rooms]),
    ):
        rows = {
            r.key: r
            for r in await session.scalars(select(model).where(model.business_id == business.id))  # type: ignore[attr-defined]
        }
        for position, (key, name) in enumerate(wanted):
            row = rows.pop(key, None) or model(business_id=business.id, key=key)
            row.name, row.position, row.active = name, position, True
            session.add(row)
        for stale in rows.values():
            stale.active = False
    await session.flush()
