"""What the platform tells us about our own messages: delivery statuses, and echoes of what the business
side sent. Both may arrive before the sender has recorded the message id they refer to, so they can wait.

Receipts take a lane of their own in the dispatcher (bot/dispatch.py): they never wait in line ahead of a
client's message, and one that cannot be matched yet is set aside (`Deferred`) for a while, a few times,
and then given up (`GivenUp`), counted and logged once per batch by the dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.messages import STATUS_RANK, EchoMessage, StatusUpdate
from storage.conversations import mark_read_up_to, outbound_by_platform_id, save_statuses

log = logging.getLogger(__name__)

_RANK = {str(k): v for k, v in STATUS_RANK.items()}
# A status can arrive before the sender has recorded the message id it refers to; wait for it a little:
# at most STATUS_RETRIES more looks, 1 + 2 + 4 + 8 + 16 s apart, and none once it is STATUS_PATIENCE old (a
# backlog may have kept it waiting longer than its backoff). Then it is given up: a status for a message we
# never sent (another app on the number, or a probe) would otherwise be looked at again and again.
STATUS_RETRIES = 5
STATUS_PATIENCE = timedelta(minutes=2)
ECHO_RETRIES = 4  # about 15 s for the sender to record the message id an echo of ours carries


class Deferred(Exception):
    """Not yet: try this event again after `seconds` (e.g. a status that beat its message's send record)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deferred {seconds}s")
        self.seconds = seconds


class GivenUp(Deferred):
    """Not again: the event is set aside for good (`reason`, no personal data); the dispatcher marks it
    done, counts it (jola_dispatched_events{outcome="given_up"}) and logs one line per batch."""

    def __init__(self, reason: str) -> None:
        super().__init__(0.0)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Event:
    """An inbox row as the handler needs it."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    age: float = 0.0  # seconds since the inbox stored it, as of the dispatcher's pass


async def sort_echoes(
    session: AsyncSession, items: list[tuple[Event, EchoMessage]], app_id: str | None
) -> tuple[set[int], dict[int, Deferred]]:
    """Which echoes are a person's (event ids), and which to look at again. Ours carry our app id
    (Messenger) or a message id the sender recorded (Instagram echoes carry no app id, and may beat
    the send's record: they wait a little before they count as a person's)."""
    known = await outbound_by_platform_id(
        session, {echo.channel_id for _, echo in items}, {echo.platform_id for _, echo in items}
    )
    people: set[int] = set()
    deferred: dict[int, Deferred] = {}
    for event, echo in items:
        if (bool(app_id) and echo.app_id == app_id) or (echo.channel_id, echo.platform_id) in known:
            continue
        # Without an app id to compare (Instagram's echoes, or meta.app_id not configured), only the
        # sender's record tells ours apart: give it time to be written.
        if (echo.app_id is None or not app_id) and event.attempts < ECHO_RETRIES:
            deferred[event.id] = Deferred(2.0**event.attempts)
            continue
        people.add(event.id)
    return people, deferred


async def apply_statuses(
    session: AsyncSession, items: list[tuple[Event, StatusUpdate]]
) -> dict[int, Deferred]:
    """Apply what can be matched to our messages; returns the statuses to look at again (`Deferred`) and
    the ones given up (`GivenUp`: their message still unknown after the retries or the patience)."""
    for _, update in items:
        if update.watermark:
            key = f"{update.channel_id}:{update.recipient}"
            await mark_read_up_to(session, key, str(update.status), update.timestamp, _RANK)
    items = [(e, u) for e, u in items if not u.watermark]
    known = await outbound_by_platform_id(
        session, {u.channel_id for _, u in items}, {u.platform_id for _, u in items}
    )
    deferred: dict[int, Deferred] = {}
    changes: dict[int, dict[str, Any]] = {}
    for event, update in items:
        message = known.get((update.channel_id, update.platform_id))
        if message is None:
            deferred[event.id] = _unknown(event)
            continue
        current = changes.get(message.id, {}).get("b_status", message.status)
        if _RANK.get(str(update.status), -1) > _RANK.get(current, -1):
            failed = update.status == "failed"
            changes[message.id] = {
                "b_id": message.id,
                "b_status": str(update.status),
                "b_at": update.timestamp,
                "b_code": update.error_code if failed else None,
                "b_title": update.error_title if failed else None,
            }
        if update.status == "failed":
            log.warning(
                "event=status.failed channel=%s message=%s code=%s",
                update.channel_id,
                message.id,
                update.error_code,
            )
    await save_statuses(session, list(changes.values()))
    return deferred


def _unknown(event: Event) -> Deferred:
    """A status whose message we do not know (yet): looked at again later, or given up. One first look is
    always had, however old (stored before a restart, its message may be known by now)."""
    too_old = event.age >= STATUS_PATIENCE.total_seconds()
    if event.attempts >= STATUS_RETRIES or (too_old and event.attempts > 0):
        return GivenUp("unknown_message")
    return Deferred(2.0**event.attempts)
