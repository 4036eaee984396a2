"""WhatsApp Cloud API adapter: webhook JSON -> InboundMessage/StatusUpdate, Reply -> Graph request bodies."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.channels.parsing import Parsed, as_dict, as_list, as_str, clip_text
from bot.channels.text_limits import fit, split_text
from flows.messages import (
    ChannelKind,
    DeliveryStatus,
    InboundMessage,
    Location,
    MediaRef,
    MessageType,
    Reply,
    Sender,
    StatusUpdate,
    utc_from_timestamp,
)

log = logging.getLogger(__name__)

OBJECT = "whatsapp_business_account"
KIND = ChannelKind.WHATSAPP

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
HEADER_LIMIT = 60
FOOTER_LIMIT = 60
BUTTON_TITLE_LIMIT = 20
MAX_BUTTONS = 3
LIST_BUTTON_LIMIT = 20
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_ROWS = 10
CALLBACK_LIMIT = 512
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
ID_LIMIT = 200  # wamids are ~60 characters, BSUIDs up to 3 + 128
_DIGITS = re.compile(r"[0-9]{4,20}")


# ---------------------------------------------------------------------------------------------- inbound


def parse(body: dict[str, Any], directory: ChannelDirectory) -> Parsed:
    """Every entry, change, message and status of one delivery; a bad item never sinks the others."""
    parsed = Parsed()
    for entry in as_list(body.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            change = as_dict(change)
            field = as_str(change.get("field"))
            if field != "messages":
                parsed.drop(f"field:{field or 'missing'}")
                continue
            _parse_value(as_dict(change.get("value")), directory, parsed)
    return parsed


def _parse_value(value: dict[str, Any], directory: ChannelDirectory, parsed: Parsed) -> None:
    phone_number_id = as_str(as_dict(value.get("metadata")).get("phone_number_id"))
    channel = directory.find(KIND, phone_number_id) if phone_number_id else None
    if channel is None:
        parsed.drop("unknown_channel")
        return
    for error in as_list(value.get("errors")):
        log.warning("event=whatsapp.error channel=%s code=%s", channel.id, as_dict(error).get("code"))
    contacts = list(_contacts(as_list(value.get("contacts"))))
    for item in as_list(value.get("messages")):
        parsed.guard(lambda item=item: _message(as_dict(item), contacts, channel), "message")
    for item in as_list(value.get("statuses")):
        parsed.guard(lambda item=item: _status(as_dict(item), channel), "status")


def _contacts(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        item = as_dict(item)
        profile = as_dict(item.get("profile"))
        yield {
            "wa_id": as_str(item.get("wa_id")),
            "user_id": as_str(item.get("user_id")),
            "name": as_str(profile.get("name")),
            "username": clip_text(profile.get("username"), 128),
        }


def _phone(wa_id: str | None) -> str | None:
    digits = (wa_id or "").strip().lstrip("+")
    return f"+{digits}" if _DIGITS.fullmatch(digits) else None


def _id(value: Any, what: str, limit: int = ID_LIMIT) -> str | None:
    """A platform id we store and key on; an absurd one makes the item malformed, not the insert fail."""
    text = as_str(value)
    if text is not None and len(text) > limit:
        raise ValueError(f"{what} longer than {limit}")
    return text or None


def _message(item: dict[str, Any], contacts: list[dict[str, Any]], channel: ChannelInfo) -> InboundMessage:
    wamid = _id(item.get("id"), "message id")
    if not wamid:
        raise ValueError("message without id")
    wa_id = _id(item.get("from"), "from", 32)
    user_id = _id(item.get("from_user_id"), "from_user_id", 160)
    contact = next(
        (c for c in contacts if (user_id and c["user_id"] == user_id) or (wa_id and c["wa_id"] == wa_id)),
        None,
    )
    if contact is None and len(contacts) == 1 and not (wa_id or user_id):
        contact = contacts[0]
    contact = contact or {}
    sender = Sender(
        user_id=user_id or _id(contact.get("user_id"), "user_id", 160),
        phone=_phone(wa_id or contact.get("wa_id")),
        name=clip_text(contact.get("name"), 200),
        username=contact.get("username"),
    )
    if not sender.key:
        raise ValueError("message without sender")
    kind = as_str(item.get("type")) or ""
    fields: dict[str, Any] = {"type": MessageType.UNKNOWN, "detail": kind[:40] or None}
    if kind == "text":
        fields = {"type": MessageType.TEXT, "text": clip_text(as_dict(item.get("text")).get("body"))}
    elif kind == "interactive":
        fields = _interactive(as_dict(item.get("interactive")))
    elif kind == "button":
        button = as_dict(item.get("button"))
        fields = {
            "type": MessageType.CHOICE,
            "choice_id": clip_text(button.get("payload"), 1000),
            "text": clip_text(button.get("text"), 200),
        }
    elif kind == "location":
        fields = _location(as_dict(item.get("location")))
    elif kind in MEDIA_TYPES:
        media = as_dict(item.get(kind))
        fields = {
            "type": MessageType.MEDIA,
            "text": clip_text(media.get("caption")),
            "media": MediaRef(
                kind=kind,
                media_id=as_str(media.get("id")),
                mime_type=as_str(media.get("mime_type")),
                sha256=as_str(media.get("sha256")),
                caption=clip_text(media.get("caption")),
                filename=clip_text(media.get("filename"), 255),
                url=clip_text(media.get("url"), 2000),
            ),
        }
    elif kind == "reaction":
        reaction = as_dict(item.get("reaction"))
        fields = {
            "type": MessageType.REACTION,
            "reaction_to": as_str(reaction.get("message_id")),
            "reaction_emoji": clip_text(reaction.get("emoji"), 16) or "",
        }
    elif kind == "contacts":
        fields = {"type": MessageType.CONTACTS}
    elif kind == "system":
        fields = {"type": MessageType.SYSTEM, "detail": as_str(as_dict(item.get("system")).get("type"))}
    elif kind == "unsupported":
        detail = as_str(as_dict(item.get("unsupported")).get("type")) or "unsupported"
        fields = {"type": MessageType.UNSUPPORTED, "detail": detail[:40]}
    return InboundMessage(
        channel=KIND,
        channel_id=channel.id,
        business_id=channel.business_id,
        platform_id=wamid,
        sender=sender,
        timestamp=utc_from_timestamp(item.get("timestamp")),
        reply_to=as_str(as_dict(item.get("context")).get("id")),
        **fields,
    )


def _interactive(interactive: dict[str, Any]) -> dict[str, Any]:
    kind = as_str(interactive.get("type"))
    if kind in ("button_reply", "list_reply"):
        reply = as_dict(interactive.get(kind))
        return {
            "type": MessageType.CHOICE,
            "choice_id": clip_text(reply.get("id"), 256),
            "text": clip_text(reply.get("title"), 200),
        }
    return {"type": MessageType.UNSUPPORTED, "detail": f"interactive:{kind}"[:40]}


def _location(location: dict[str, Any]) -> dict[str, Any]:
    latitude, longitude = float(location["latitude"]), float(location["longitude"])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also refuses nan/inf (not valid JSON)
        raise ValueError("location out of range")
    place = Location(
        latitude=latitude,
        longitude=longitude,
        name=clip_text(location.get("name"), 300),
        address=clip_text(location.get("address"), 500),
        url=clip_text(location.get("url"), 2000),
    )
    text = ", ".join(part for part in (place.name, place.address) if part) or None
    return {"type": MessageType.LOCATION, "location": place, "text": text}


def _status(item: dict[str, Any], channel: ChannelInfo) -> StatusUpdate:
    wamid = _id(item.get("id"), "status id")
    if not wamid:
        raise ValueError("status without id")
    error = as_dict(next(iter(as_list(item.get("errors"))), None))
    code = error.get("code")
    return StatusUpdate(
        channel=KIND,
        channel_id=channel.id,
        business_id=channel.business_id,
        platform_id=wamid,
        status=DeliveryStatus.parse(as_str(item.get("status"))),
        timestamp=utc_from_timestamp(item.get("timestamp")),
        error_code=int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
        error_title=clip_text(error.get("title") or error.get("message"), 300),
        callback_data=clip_text(item.get("biz_opaque_callback_data"), CALLBACK_LIMIT),
    )


def provider_key(item: InboundMessage | StatusUpdate) -> str:
    if isinstance(item, StatusUpdate):
        return f"wa:status:{item.platform_id}:{item.status}"
    return f"wa:msg:{item.platform_id}"


# ---------------------------------------------------------------------------------------------- outbound


def endpoint(graph_api_url: str, version: str, channel: ChannelInfo) -> str:
    return f"{graph_api_url}/{version}/{channel.external_id}/messages"


def recipient(sender: Sender) -> str:
    """Reply to the id Meta gave us: the phone number (wa_id) where we have it, else the BSUID."""
    return sender.phone.lstrip("+") if sender.phone else (sender.user_id or "")


def render(reply: Reply, to: str) -> list[dict[str, Any]]:
    """The request bodies, in order, that say `reply` on WhatsApp."""
    if reply.kind in ("mark_read", "typing"):
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": reply.reply_to,
        }
        if reply.kind == "typing":
            body["typing_indicator"] = {"type": "text"}
        return [body]
    if reply.template is not None:
        bodies = [_envelope(to, "template", {"template": _template(reply)}, quote=reply.reply_to)]
    else:
        bodies = _messages(reply, to)
    if reply.callback_data:
        bodies[-1]["biz_opaque_callback_data"] = reply.callback_data[:CALLBACK_LIMIT]
    return bodies


def _messages(reply: Reply, to: str) -> list[dict[str, Any]]:
    text = reply.text
    if len(reply.options) > MAX_ROWS:
        # More choices than a list holds: the rest stay readable in the text, never silently lost.
        text = text.rstrip() + "\n\n" + "\n".join(f"• {o.title}" for o in reply.options[MAX_ROWS:])
    if reply.options:
        # The options' message holds at most BODY_LIMIT; what comes before it goes first, in full-size texts.
        *lead, body_text = split_text(text, BODY_LIMIT) if text.strip() else ["…"]
        chunks = split_text("\n".join(lead), TEXT_LIMIT) if lead else []
    elif not reply.text.strip():
        raise ValueError("a reply with neither text nor options")
    else:
        chunks, body_text = split_text(reply.text, TEXT_LIMIT), None
    bodies = [
        _envelope(
            to,
            "text",
            {"text": {"preview_url": False, "body": chunk}},
            quote=reply.reply_to if i == 0 else None,
        )
        for i, chunk in enumerate(chunks)
    ]
    if body_text is not None:
        interactive = {"interactive": _interactive_body(reply, body_text)}
        bodies.append(_envelope(to, "interactive", interactive, quote=None if chunks else reply.reply_to))
    return bodies


def _envelope(to: str, kind: str, content: dict[str, Any], quote: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }
    if quote:
        body["context"] = {"message_id": quote}
    body.update(content)
    return body


def _interactive_body(reply: Reply, body_text: str) -> dict[str, Any]:
    options = reply.options
    interactive: dict[str, Any]
    if len(options) <= MAX_BUTTONS and all(len(o.title) <= BUTTON_TITLE_LIMIT for o in options):
        interactive = {
            "type": "button",
            "body": {"text": body_text},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": o.id, "title": o.title}} for o in options]
            },
        }
    else:
        rows = []
        for option in options[:MAX_ROWS]:  # the rest are listed in the text by _messages
            row: dict[str, Any] = {"id": option.id, "title": fit(option.title, ROW_TITLE_LIMIT)}
            description = option.description
            if not description and len(option.title) > ROW_TITLE_LIMIT:
                description = option.title  # the full title, so nothing is lost to the cut
            if description:
                row["description"] = fit(description, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        interactive = {
            "type": "list",
            "body": {"text": body_text},
            "action": {
                "button": fit(reply.options_label or "", LIST_BUTTON_LIMIT) or "Options",
                "sections": [{"rows": rows}],
            },
        }
    if reply.header and reply.header.strip():
        interactive["header"] = {"type": "text", "text": fit(reply.header, HEADER_LIMIT)}
    if reply.footer and reply.footer.strip():
        interactive["footer"] = {"text": fit(reply.footer, FOOTER_LIMIT)}
    return interactive


def _template(reply: Reply) -> dict[str, Any]:
    template = reply.template
    assert template is not None
    components: list[dict[str, Any]] = []
    if template.body_params:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in template.body_params]}
        )
    for index, payload in enumerate(template.button_payloads):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if components:
        body["components"] = components
    return body


def sent_message_id(response: dict[str, Any]) -> str | None:
    """The wamid Meta assigned, from a send response."""
    messages = as_list(response.get("messages"))
    return as_str(as_dict(messages[0]).get("id")) if messages else None
