"""A client's rights to have their record corrected (GDPR art. 16) and its processing restricted (art. 18),
and to object per channel ("stop"), as staff carry them out, from the staff app or the REST API alike: one
set of rules, each change in the audit log (which fields changed, never what they held).

While a client is restricted their data stays, and their messages are still stored and shown to staff
(flagged, with the reason), but the bot answers nothing and no reminder, notice or email goes out
(bot/handling.py, bot/reminders.py, bot/notices.py, storage/emails.py); lifting it returns all to normal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.audit import Actor
from storage import client_changes as store
from storage.clients import looks_like_email

NAME_LIMIT = 200
NOTE_LIMIT = 200
LOCALES = ("en", "da")
RESTRICTION_REASONS = ("client_asked", "accuracy_contested", "objection_pending", "other")
CHANNELS = ("whatsapp", "messenger", "instagram")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEPARATORS = re.compile(r"[\s\-().]")
_E164 = re.compile(r"\+\d{8,15}")

# What is wrong with a value, by code, in the words the API answers with (the staff app says them in the
# person's language: templates/web/client.html).
PROBLEMS = {
    "name_long": f"name must be at most {NAME_LIMIT} characters",
    "name_bad": "name must be one line of text",
    "phone_bad": "phone must be an E.164 number: + and the country code, 8 to 15 digits in all",
    "email_bad": "email must be one plain email address",
    "locale_bad": f"locale must be one of {', '.join(LOCALES)}",
    "reason_bad": f"restricted_reason must be one of {', '.join(RESTRICTION_REASONS)}",
    "note_needed": "restricted_note must say why when the reason is other",
    "note_bad": f"restricted_note must be one line of at most {NOTE_LIMIT} characters",
    "type": "must be a string or null",
}


class Invalid(Exception):
    """Some values cannot be taken; `problems` maps each field to a code of PROBLEMS."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {PROBLEMS.get(v, v)}" for k, v in problems.items()))
        self.problems = problems


def read_details(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The details given (name, phone, email, locale; each optional), checked and in the form they are
    stored in: trimmed, a phone as "+4512345678", an empty value as None. Invalid lists every problem."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field, check in (("name", _name), ("phone", _phone), ("email", _email), ("locale", _locale)):
        if field not in raw:
            continue
        given = raw[field]
        if given is not None and not isinstance(given, str):
            problems[field] = "type"
            continue
        text = (given or "").strip()
        if not text:
            values[field] = None
            continue
        found = check(text)
        if found.startswith("!"):
            problems[field] = found[1:]
        else:
            values[field] = found
    if problems:
        raise Invalid(problems)
    return values


def _name(text: str) -> str:
    if _CONTROL.search(text):
        return "!name_bad"
    return "!name_long" if len(text) > NAME_LIMIT else " ".join(text.split())


def _phone(text: str) -> str:
    cleaned = _SEPARATORS.sub("", text)
    return cleaned if _E164.fullmatch(cleaned) else "!phone_bad"


def _email(text: str) -> str:
    return text if looks_like_email(text) else "!email_bad"


def _locale(text: str) -> str:
    return text if text in LOCALES else "!locale_bad"


def read_restriction(reason: object, note: object) -> tuple[str, str | None]:
    """A reason from RESTRICTION_REASONS and the staff member's few words (needed with "other"; kept on
    the record for staff, never in the logs or the audit log)."""
    problems: dict[str, str] = {}
    if not isinstance(reason, str) or reason not in RESTRICTION_REASONS:
        problems["restricted_reason"] = "reason_bad"
    words = note.strip() if isinstance(note, str) else ""
    wrong = note is not None and not isinstance(note, str)
    if wrong or len(words) > NOTE_LIMIT or _CONTROL.search(words):
        problems["restricted_note"] = "note_bad"
    elif reason == "other" and not words:
        problems["restricted_note"] = "note_needed"
    if problems:
        raise Invalid(problems)
    return str(reason), words or None


@dataclass(frozen=True, slots=True)
class Corrected:
    """Which fields a correction changed (empty: it matched the record already)."""

    fields: list[str]


async def correct(
    session: AsyncSession,
    business_id: str,
    client_id: int,
    values: dict[str, Any],
    actor: Actor | str,
    now: datetime,
) -> Corrected | None:
    """Write the checked `values` (read_details's, and `email_reminders`: bool) onto the record; None when
    the business has no such client. Only what differs is written, and audited by field name."""
    before = await store.details_of(session, business_id, client_id)
    if before is None:
        return None
    changed = {k: v for k, v in values.items() if getattr(before, k) != v}
    if changed:
        await store.write_details(session, client_id, changed, now)
        await audit.record(
            session,
            business_id,
            actor,
            "client.rectified",
            ("client", client_id),
            now=now,
            fields=sorted(changed),
        )
    return Corrected(sorted(changed))


async def restrict(
    session: AsyncSession,
    business_id: str,
    client_id: int,
    reason: str,
    note: str | None,
    actor: Actor | str,
    now: datetime,
) -> bool:
    """Restrict the processing of the client's data (or change why); False when there is no such client."""
    if await store.details_of(session, business_id, client_id) is None:
        return False
    was = await store.restriction_of(session, business_id, client_id)
    if was is not None and (was.reason, was.note) == (reason, note):
        return True
    by = actor if isinstance(actor, str) else _said(actor)
    await store.set_restriction(
        session, client_id, store.Restriction(was.at if was else now, reason, note, by), now
    )
    await audit.record(
        session,
        business_id,
        actor,
        "client.restricted",
        ("client", client_id),
        now=now,
        reason=reason,
        changed=was is not None or None,
    )
    return True


async def lift(
    session: AsyncSession, business_id: str, client_id: int, actor: Actor | str, now: datetime
) -> bool:
    """Processing goes on as before (the bot answers their next message); False when there is no such
    client."""
    if await store.details_of(session, business_id, client_id) is None:
        return False
    if await store.restriction_of(session, business_id, client_id) is None:
        return True
    await store.set_restriction(session, client_id, None, now)
    await audit.record(session, business_id, actor, "client.unrestricted", ("client", client_id), now=now)
    return True


async def channel(
    session: AsyncSession,
    business_id: str,
    client_id: int,
    kind: str,
    stop: bool,
    actor: Actor | str,
    now: datetime,
) -> bool:
    """Staff record the client's "stop" (objection) or "start" on one channel, as if the client had
    written it there; False when the client is not known on that channel."""
    changed = await store.channel_stop(session, business_id, client_id, kind, stop, now)
    if changed is None:
        return False
    if changed:
        action = "client.channel_stopped" if stop else "client.channel_started"
        await audit.record(session, business_id, actor, action, ("client", client_id), now=now, channel=kind)
    return True


def _said(actor: Actor) -> str:
    """The actor as the record keeps it ("staff:12", "api")."""
    return f"staff:{actor.staff_id}" if actor.staff_id is not None else actor.kind
