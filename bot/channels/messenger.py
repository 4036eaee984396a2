"""Messenger adapter: Page webhook JSON -> items, Reply -> Send API bodies (buttons or quick replies)."""

from __future__ import annotations

from typing import Any

from bot.channels import page_events
from bot.channels.directory import ChannelDirectory
from bot.channels.page_events import endpoint, recipient, sent_message_id
from bot.channels.parsing import Parsed
from bot.channels.text_limits import split_text
from flows.messages import ChannelKind, EchoMessage, InboundMessage, Reply, StatusUpdate, TemplateRef

# The same on both Page-style channels; part of this adapter's interface.
__all__ = ["endpoint", "parse", "provider_key", "recipient", "render", "sent_message_id", "utility_message"]

OBJECT = "page"
KIND = ChannelKind.MESSENGER
PREFIX = "fb"

TEXT_LIMIT = 2000  # PLATFORM.md §6, not re-verified
BUTTON_TEXT_LIMIT = 640
MAX_BUTTONS = 3


def parse(body: dict[str, Any], directory: ChannelDirectory) -> Parsed:
    """Every event of one delivery; the entry id is the Page id that names the channel."""
    return page_events.parse(body, directory, KIND)


def provider_key(item: InboundMessage | StatusUpdate | EchoMessage) -> str:
    return page_events.provider_key(item, PREFIX)


def render(reply: Reply, to: str, *, tag: str | None = None) -> list[dict[str, Any]]:
    """The request bodies, in order, that say `reply` on Messenger; `tag` for sends outside the window."""
    action = page_events.sender_action(reply, to)
    if action is not None:
        return action
    if reply.template is not None:
        return [utility_message(reply.template, to)]
    text = page_events.words(reply)
    if not reply.options:
        messages = [{"text": chunk} for chunk in split_text(text, TEXT_LIMIT)]
    else:
        messages = _with_options(reply, text)
    if reply.callback_data:  # comes back on every echo: tells our sends from a person's in the inbox
        for message in messages:
            message["metadata"] = reply.callback_data[: page_events.METADATA_LIMIT]
    return [page_events.envelope(to, message, tag) for message in messages]


def utility_message(template: TemplateRef, to: str) -> dict[str, Any]:
    """A Page-owned utility message template, the way Meta allows a reminder outside the 24-hour window.
    Each postback button was approved with the payload `{{1}}`; its parameter is the whole payload
    (`confirm:<id>`...), so a tap arrives as the same postback the in-window buttons send."""
    components: list[dict[str, Any]] = []
    if template.body_params:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in template.body_params]}
        )
    for index, button in enumerate(template.button_payloads):
        text = [{"type": "text", "text": button}]
        components.append({"type": "button", "sub_type": "postback", "index": index, "parameters": text})
    payload: dict[str, Any] = {
        "template_type": "utility_messages",
        "name": template.name,
        "language": {"code": template.language},
    }
    if components:
        payload["components"] = components
    return {
        "recipient": {"id": to},
        "messaging_type": "UTILITY",
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


def _with_options(reply: Reply, text: str) -> list[dict[str, Any]]:
    """Up to three options as buttons under a short text, else quick replies on the last text."""
    options = reply.options
    # Options beyond the quick-reply limit, and titles cut to fit, stay readable in the text.
    listed = [o for i, o in enumerate(options) if i >= page_events.MAX_QUICK_REPLIES or page_events.is_cut(o)]
    if listed:
        text = "\n\n".join(p for p in (text, "\n".join(f"• {o.title.strip()}" for o in listed)) if p)
    text = text or "…"
    if len(options) <= MAX_BUTTONS and len(text) <= BUTTON_TEXT_LIMIT:
        buttons = [{"type": "postback", "title": page_events.title(o), "payload": o.id} for o in options]
        payload = {"template_type": "button", "text": text, "buttons": buttons}
        return [{"attachment": {"type": "template", "payload": payload}}]
    *head, last = split_text(text, TEXT_LIMIT)
    return [{"text": chunk} for chunk in head] + [
        {"text": last, "quick_replies": page_events.quick_replies(options)}
    ]
