"""Defensive reading of untrusted platform JSON, shared by the channel adapters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flows.messages import EchoMessage, InboundMessage, StatusUpdate

log = logging.getLogger(__name__)

# Longer client texts are cut: nobody types 100 kB into a chat, and we never store what we cannot show.
MAX_TEXT = 4096


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def clip_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """At most `limit` characters. A client's message keeps its start and its end (a request usually
    closes a long message); ids and titles (a smaller `limit`) keep their start."""
    text = as_str(value)
    if text is None:
        return None
    text = text.replace("\x00", "")
    if len(text) <= limit:
        return text
    if limit < MAX_TEXT:
        return text[:limit]
    half = (limit - len(_CUT)) // 2
    return text[:half] + _CUT + text[-half:]


_CUT = "\n…\n"


@dataclass
class Parsed:
    """What came out of one delivery: the items to store and counts of what was dropped (and why)."""

    items: list[InboundMessage | StatusUpdate | EchoMessage] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # a plain dict: a Counter costs a µs to make

    def drop(self, reason: str) -> None:
        reason = reason[:60]
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def guard(self, build: Callable[[], InboundMessage | StatusUpdate | EchoMessage], what: str) -> None:
        """Build one item; a malformed one is counted and logged (without its content), never raised."""
        try:
            self.items.append(build())
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as err:
            self.drop(f"malformed_{what}")
            log.info("event=webhook.item_dropped what=%s error=%s", what, type(err).__name__)
