"""Instagram adapter: IG webhook JSON -> items, Reply -> Send API bodies (quick replies plus a text list)."""

from __future__ import annotations

from typing import Any

from bot.channels import page_events
from bot.channels.directory import ChannelDirectory
from bot.channels.page_events import endpoint, recipient, sent_message_id
from bot.channels.parsing import Parsed
from bot.channels.text_limits import split_text
from flows.messages import ChannelKind, EchoMessage, InboundMessage, Reply, StatusUpdate

# The same on both Page-style channels; part of this adapter's interface.
__all__ = ["endpoint", "parse", "provider_key", "recipient", "render", "sent_message_id"]

OBJECT = "instagram"
KIND = ChannelKind.INSTAGRAM
PREFIX = "ig"

TEXT_LIMIT = 1000  # PLATFORM.md §13 lists it as not re-verified; the stricter figure is the safe one


def parse(body: dict[str, Any], directory: ChannelDirectory) -> Parsed:
    """Every event of one delivery; the entry id is our IG professional account id."""
    return page_events.parse(body, directory, KIND)


def provider_key(item: InboundMessage | StatusUpdate | EchoMessage) -> str:
    return page_events.provider_key(item, PREFIX)


def render(reply: Reply, to: str, *, tag: str | None = None) -> list[dict[str, Any]]:
    """The request bodies, in order, that say `reply` on Instagram; `tag` for sends outside the window.

    No metadata: whether Instagram takes and echoes it is unverified, and an unknown field may be refused.
    """
    action = page_events.sender_action(reply, to)
    if action is not None:
        return action
    text = page_events.words(reply)
    if not reply.options:
        return [page_events.envelope(to, {"text": chunk}, tag) for chunk in split_text(text, TEXT_LIMIT)]
    # Instagram on the web shows no quick replies (nor templates): the options are always in the text too.
    numbered = "\n".join(f"{i}. {' '.join(o.title.split())}" for i, o in enumerate(reply.options, 1))
    *head, last = split_text("\n\n".join(p for p in (text, numbered) if p), TEXT_LIMIT)
    bodies = [page_events.envelope(to, {"text": chunk}, tag) for chunk in head]
    last_message = {"text": last, "quick_replies": page_events.quick_replies(reply.options)}
    return [*bodies, page_events.envelope(to, last_message, tag)]
