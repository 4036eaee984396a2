"""The audit log: who did what to which record, and when. Every door calls this one module (the staff app,
the REST API, the CLI, Meta's callbacks), with a single line where the thing happens, and in that thing's
transaction when it changes something, so the row and the change commit together or not at all.

A row holds ids, field names and codes, never values: not the name a client was given, nor the email
someone typed at the login (a failed login keeps the account's id when the address is an account's, and
nothing else). So an erasure has nothing to remove here, and the log may be kept as long as the business
must show who read and changed what."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from storage import audit as store
from storage.staff_accounts import StaffView

log = logging.getLogger(__name__)

# What can happen, by area; the owner's page and the API filter on these, and the page has words for each.
ACTIONS = (
    "auth.login",
    "auth.login_failed",
    "auth.login_throttled",
    "auth.logout",
    "client.viewed",
    "client.exported",
    "client.erased",
    "client.rectified",
    "client.notes_changed",
    "client.restricted",
    "client.unrestricted",
    "client.channel_stopped",
    "client.channel_started",
    "client.linked",
    "conversation.viewed",
    "conversation.taken_over",
    "conversation.handed_back",
    "conversation.assigned",
    "settings.changed",
    "account.created",
    "account.password_changed",
    "account.updated",
)
SUBJECT_TYPES = ("client", "conversation", "staff", "settings_change")
_DETAIL_ITEMS = 50
VIEW_WINDOW = timedelta(minutes=10)
_DETAIL_TEXT = 80


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a staff member (`staff` or `owner`, with their id), or the API, the command line, or
    Jola itself (`system`: Meta's data deletion callback, housekeeping)."""

    kind: str
    staff_id: int | None = None

    @classmethod
    def of(cls, staff: StaffView) -> Actor:
        return cls("owner" if staff.is_owner else "staff", staff.id)


API = Actor("api")
CLI = Actor("cli")
SYSTEM = Actor("system")


async def record(
    session: AsyncSession,
    business_id: str | None,
    actor: Actor | str,
    action: str,
    subject: tuple[str, int] | None = None,
    *,
    now: datetime,
    **detail: Any,
) -> None:
    """Append one row in `session`'s transaction. `actor` may also be the strings the privacy code and
    the appointment history use: "staff:12", "api", "cli", "meta"."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if isinstance(actor, str):
        actor, detail = await _actor_of(session, actor, detail)
    if subject is not None and subject[0] not in SUBJECT_TYPES:
        raise ValueError(f"unknown audit subject {subject[0]!r}")
    await store.append(
        session,
        business_id=business_id,
        at=now,
        actor_kind=actor.kind,
        actor_id=actor.staff_id,
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        detail=_clean(detail),
    )


async def _actor_of(session: AsyncSession, said: str, detail: dict[str, Any]) -> tuple[Actor, dict[str, Any]]:
    kind, _, ident = said.partition(":")
    if kind == "staff" and ident.isdigit():
        found = await store.staff_of(session, int(ident))
        role = found[1] if found else "staff"
        return Actor("owner" if role == "owner" else "staff", int(ident)), detail
    if kind in ("api", "cli", "system"):
        return Actor(kind), detail
    return SYSTEM, {**detail, "via": kind[:20] or "unknown"}  # "meta": Meta's data deletion callback


def _clean(detail: dict[str, Any]) -> dict[str, Any]:
    """Ids, flags, codes and field names, short, and lists of them; anything else is left out, so a value
    given here by mistake (a whole record, someone's words) never lands in the log."""
    kept: dict[str, Any] = {}
    for key, value in detail.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            items = [v for v in value[:_DETAIL_ITEMS] if _plain(v)]
            kept[key] = [v[:_DETAIL_TEXT] if isinstance(v, str) else v for v in items]
        elif _plain(value):
            kept[key] = value[:_DETAIL_TEXT] if isinstance(value, str) else value
    return kept


def _plain(value: Any) -> bool:
    return isinstance(value, (bool, int)) or (isinstance(value, str) and "@" not in value)


# --- one-line hooks for things that change nothing of their own (reading a record, a failed login) ---


async def viewed(app: web.Application, staff: StaffView, subject: tuple[str, int]) -> None:
    """A staff member opened a client's record or a conversation. Opening it again within VIEW_WINDOW (a
    reload, the live page fetching itself after each new message) is the same reading, not a new row."""
    action = f"{subject[0]}.viewed"
    now = app[keys.CLOCK].now()
    async with app[keys.DATABASE].write() as session:
        if await store.recorded_since(
            session, staff.business_id, staff.id, action, subject, now - VIEW_WINDOW
        ):
            return
        await record(session, staff.business_id, Actor.of(staff), action, subject, now=now)


async def api_did(
    app: web.Application, business_id: str, action: str, subject: tuple[str, int] | None = None, **detail: Any
) -> None:
    """The REST API (a business's token) read something."""
    async with app[keys.DATABASE].write() as session:
        await record(session, business_id, API, action, subject, now=app[keys.CLOCK].now(), **detail)


async def login_failed(
    session: AsyncSession, account_id: int | None, now: datetime, *, throttled: bool = False
) -> None:
    """A failed (or refused, `throttled`) login. Nobody is known to have tried, so the row has no actor;
    it names the account when the address was one's, and holds nothing else (never the address typed)."""
    action = "auth.login_throttled" if throttled else "auth.login_failed"
    found = await store.staff_of(session, account_id) if account_id is not None else None
    if account_id is None or found is None:
        await store.append(
            session, business_id=None, at=now, actor_kind="system", actor_id=None, action=action
        )
        return
    await record(session, found[0], SYSTEM, action, ("staff", account_id), now=now)


async def settings_changed(
    session: AsyncSession,
    business_id: str,
    staff_id: int | None,
    section: str,
    changes: list[dict[str, Any]],
    *,
    now: datetime,
    version: int | None = None,
) -> None:
    """A row pointing at the settings change just recorded (what each key was and became is there, for
    owners; here only which keys). No `staff_id`: `jola business reseed`."""
    change = await store.settings_change_id(session, business_id, version=version, staff_id=staff_id)
    await record(
        session,
        business_id,
        f"staff:{staff_id}" if staff_id is not None else CLI,
        "settings.changed",
        ("settings_change", change) if change is not None else None,
        now=now,
        section=section,
        keys=[str(c.get("key", ""))[:_DETAIL_TEXT] for c in changes],
    )


async def account_event(
    session: AsyncSession,
    action: str,
    staff_id: int | None,
    actor: Actor | str,
    *,
    now: datetime,
    **detail: Any,
) -> None:
    """An account made or changed (`jola staff add`, `jola staff passwd`, the person's own settings), in
    its business's log."""
    found = await store.staff_of(session, staff_id) if staff_id is not None else None
    if staff_id is None or found is None:
        return
    await record(session, found[0], actor, action, ("staff", staff_id), now=now, **detail)
