"""What Messenger and Instagram share: `entry[].messaging[]`/`standby[]` events in, Send API bodies out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.channels.parsing import Parsed, as_dict, as_list, as_str, clip_text
from bot.channels.text_limits import fit
from flows.messages import (
    ChannelKind,
    DeliveryStatus,
    EchoMessage,
    InboundMessage,
    Location,
    MediaRef,
    MessageType,
    Option,
    Reply,
    Sender,
    StatusUpdate,
    utc_from_timestamp,
)

# Our columns: platform ids 200, user ids 160, provider keys 300. Real mids are ~40 (Messenger) to ~160
# (Instagram) characters, PSIDs/IGSIDs ~16-20 digits; anything far longer is not Meta's.
MID_LIMIT = 190
USER_ID_LIMIT = 128
APP_ID_LIMIT = 32
PAYLOAD_LIMIT = 1000
TITLE_LIMIT = 200
URL_LIMIT = 2000
METADATA_LIMIT = 1000
MAX_ATTACHMENTS = 10
MAX_MIDS = 100
QUICK_REPLY_TITLE_LIMIT = 20
MAX_QUICK_REPLIES = 13

PLAIN_MEDIA = frozenset({"image", "video", "audio", "file", "sticker"})
# Shared or referenced content: kept as a reference, with what it is in `detail`.
REFERENCED_MEDIA = frozenset({"share", "story_mention", "ig_reel", "reel", "ig_post", "fallback", "template"})
EVENT_KINDS = ("message", "postback", "reaction", "delivery", "read", "referral")
# Documented events we do not act on: counted by name. Any other key is counted as "event:unknown".
HANDOVER_EVENTS = frozenset({"pass_thread_control", "take_thread_control", "request_thread_control"})
OTHER_EVENTS = frozenset({"optin", "account_linking", "app_roles", "message_edit", "messaging_feedback"})
POLICY_EVENTS = frozenset({"policy_enforcement", "policy-enforcement", "response_feedback", "game_play"})
IGNORED_EVENTS = HANDOVER_EVENTS | OTHER_EVENTS | POLICY_EVENTS | {"checkout_update", "payment"}
SENDER_ACTIONS = {"mark_read": "mark_seen", "typing": "typing_on"}


@dataclass(frozen=True, slots=True)
class _Context:
    """The fields every event carries, read and bounded once per item."""

    channel: ChannelInfo
    standby: bool
    sender: str
    recipient: str | None
    timestamp: datetime


# ---------------------------------------------------------------------------------------------- inbound


def parse(body: dict[str, Any], directory: ChannelDirectory, kind: ChannelKind) -> Parsed:
    """Every event of every entry; the entry id names the channel; a bad event never sinks the others."""
    parsed = Parsed()
    for entry in as_list(as_dict(body).get("entry")):
        entry = as_dict(entry)
        for change in as_list(entry.get("changes")):
            parsed.drop(f"field:{as_str(as_dict(change).get('field')) or 'missing'}")
        events = [(e, False) for e in as_list(entry.get("messaging"))]
        events += [(e, True) for e in as_list(entry.get("standby"))]
        if not events:
            continue
        account = as_str(entry.get("id"))
        channel = directory.find(kind, account) if account else None
        if channel is None:
            parsed.drop("unknown_channel")
            continue
        for event, standby in events:
            _event(as_dict(event), channel, standby, parsed)
    return parsed


def _event(event: dict[str, Any], channel: ChannelInfo, standby: bool, parsed: Parsed) -> None:
    kind = next((k for k in EVENT_KINDS if k in event), None)
    content = event.get(kind) if kind else None
    context = partial(_context, event, channel, standby)
    ours = as_str(as_dict(event.get("sender")).get("id")) == channel.external_id
    if kind == "message" and (as_dict(content).get("is_echo") is True or ours):
        parsed.guard(lambda: _echo(context(), _obj(content)), "echo")  # never a client's message
    elif kind is None:
        key = next((k for k in event if k not in ("sender", "recipient", "timestamp")), "")
        parsed.drop(f"event:{key}" if key in IGNORED_EVENTS else "event:unknown")
    elif ours:
        parsed.drop("own_event")
    elif kind == "message":
        count = min(len(as_list(as_dict(content).get("attachments"))), MAX_ATTACHMENTS) or 1
        for index in range(count):
            parsed.guard(lambda i=index: _message(context(), _obj(content), i), "message")
    elif kind in ("delivery", "read"):
        _receipt(kind, as_dict(content), context, parsed)
    else:
        parsed.guard(lambda: BUILDERS[kind](context(), _obj(content)), kind)


def _context(event: dict[str, Any], channel: ChannelInfo, standby: bool) -> _Context:
    sender = _id(as_dict(event.get("sender")).get("id"), "sender", USER_ID_LIMIT)
    if not sender:
        raise ValueError("event without sender")
    return _Context(
        channel=channel,
        standby=standby,
        sender=sender,
        recipient=_id(as_dict(event.get("recipient")).get("id"), "recipient", USER_ID_LIMIT),
        timestamp=utc_from_timestamp(event.get("timestamp")),
    )


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("event content is not an object")
    return value


def _id(value: Any, what: str, limit: int = MID_LIMIT) -> str | None:
    """A platform id we store and key on; an absurd one makes the item malformed, not the insert fail."""
    text = as_str(value)
    if text is not None and len(text) > limit:
        raise ValueError(f"{what} longer than {limit}")
    return text or None


def _mid(value: Any) -> str:
    mid = _id(value, "mid")
    if not mid:
        raise ValueError("message without mid")
    return mid


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _synthetic(what: str, ctx: _Context, *parts: str | None) -> str:
    """A stable id for events Meta gives none: the same redelivered event gets the same id."""
    seed = "|".join([ctx.sender, str(_ms(ctx.timestamp)), *(p or "" for p in parts)])
    return f"{what}.{hashlib.sha256(seed.encode('utf-8', 'replace')).hexdigest()[:32]}"


def _inbound(ctx: _Context, platform_id: str, type: MessageType, **fields: Any) -> InboundMessage:
    if ctx.standby:
        fields["detail"] = "standby"  # another app (or the inbox) owns the thread: stored, never answered
    return InboundMessage(
        channel=ctx.channel.kind,
        channel_id=ctx.channel.id,
        business_id=ctx.channel.business_id,
        platform_id=platform_id,
        sender=Sender(user_id=ctx.sender),
        timestamp=ctx.timestamp,
        type=type,
        **fields,
    )


def _referral(value: Any) -> str | None:
    referral = as_dict(value)
    if not referral:
        return None
    return f"referral:{(as_str(referral.get('source')) or 'unknown')[:40]}"


def _message(ctx: _Context, message: dict[str, Any], index: int) -> InboundMessage:
    mid = _mid(message.get("mid"))
    text = clip_text(message.get("text"))
    reply_to = as_dict(message.get("reply_to"))
    quoted = _id(reply_to.get("mid"), "reply_to")
    if message.get("is_deleted") is True:  # its mid is the deleted message's: a key of its own
        return _inbound(ctx, f"{mid}#deleted", MessageType.SYSTEM, detail="deleted", reply_to=mid)
    fields: dict[str, Any]
    attachments = as_list(message.get("attachments"))
    payload = clip_text(as_dict(message.get("quick_reply")).get("payload"), PAYLOAD_LIMIT)
    if message.get("is_unsupported") is True:
        fields = {"type": MessageType.UNSUPPORTED, "detail": "unsupported", "text": text}
    elif payload:
        fields = {"type": MessageType.CHOICE, "choice_id": payload, "text": clip_text(text, TITLE_LIMIT)}
    elif attachments:
        fields = _attachment(_obj(attachments[index]), text)
    elif as_dict(reply_to.get("story")):
        fields = _story_reply(as_dict(reply_to.get("story")), text)
    elif text is not None:
        fields = {"type": MessageType.TEXT, "text": text}
    else:
        fields = {"type": MessageType.UNSUPPORTED, "detail": "empty"}
    if fields.get("detail") is None:
        fields["detail"] = _referral(message.get("referral"))
    return _inbound(ctx, mid if index == 0 else f"{mid}#{index}", reply_to=quoted, **fields)


def _attachment(attachment: dict[str, Any], text: str | None) -> dict[str, Any]:
    kind = as_str(attachment.get("type")) or ""
    payload = as_dict(attachment.get("payload"))
    title = clip_text(payload.get("title"), TITLE_LIMIT) or clip_text(attachment.get("title"), TITLE_LIMIT)
    url = clip_text(payload.get("url"), URL_LIMIT) or clip_text(attachment.get("url"), URL_LIMIT)
    if kind == "location":
        return _location(as_dict(payload.get("coordinates")), title, url)
    if kind == "image" and payload.get("sticker_id") is not None:
        kind = "sticker"  # the legacy sticker shape, sent until 30 Aug 2026
    detail = None if kind in PLAIN_MEDIA else kind if kind in REFERENCED_MEDIA else f"attachment:{kind}"
    media_id = next(
        (payload[k] for k in ("sticker_id", "reel_video_id", "ig_post_media_id", "id") if k in payload), None
    )
    media = MediaRef(
        kind=kind if detail is None or kind in REFERENCED_MEDIA else "other",
        media_id=_id(media_id, "media id"),
        caption=title,
        url=url,
    )
    return {"type": MessageType.MEDIA, "media": media, "text": text, "detail": detail and detail[:40]}


def _story_reply(story: dict[str, Any], text: str | None) -> dict[str, Any]:
    """An Instagram reply to our story: the story is kept as a reference, never fetched."""
    media = MediaRef(
        kind="story", media_id=_id(story.get("id"), "story id"), url=clip_text(story.get("url"), URL_LIMIT)
    )
    return {"type": MessageType.MEDIA, "media": media, "text": text, "detail": "story_reply"}


def _location(coordinates: dict[str, Any], title: str | None, url: str | None) -> dict[str, Any]:
    latitude, longitude = float(coordinates["lat"]), float(coordinates["long"])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also refuses nan/inf
        raise ValueError("location out of range")
    place = Location(latitude=latitude, longitude=longitude, name=title, url=url)
    return {"type": MessageType.LOCATION, "location": place, "text": title}


def _postback(ctx: _Context, postback: dict[str, Any]) -> InboundMessage:
    payload = clip_text(postback.get("payload"), PAYLOAD_LIMIT)
    title = clip_text(postback.get("title"), TITLE_LIMIT)
    if not payload and not title:
        raise ValueError("postback without payload")
    # Postbacks carry a mid since Graph v11; older or odd ones get a stable id of their own.
    platform_id = _id(postback.get("mid"), "postback mid") or _synthetic("postback", ctx, payload, title)
    kind = MessageType.CHOICE if payload else MessageType.TEXT
    detail = _referral(postback.get("referral"))
    return _inbound(ctx, platform_id, kind, choice_id=payload, text=title, detail=detail)


def _reaction(ctx: _Context, reaction: dict[str, Any]) -> InboundMessage:
    target = _mid(reaction.get("mid"))
    action = (as_str(reaction.get("action")) or "react")[:16]
    emoji = None
    if action != "unreact":
        emoji = clip_text(reaction.get("emoji"), 16) or clip_text(reaction.get("reaction"), 16) or ""
    platform_id = _synthetic("reaction", ctx, target, action, emoji)
    return _inbound(ctx, platform_id, MessageType.REACTION, reaction_to=target, reaction_emoji=emoji)


def _referral_event(ctx: _Context, referral: dict[str, Any]) -> InboundMessage:
    ref = clip_text(referral.get("ref"), TITLE_LIMIT)
    detail = _referral(referral) or "referral:unknown"
    platform_id = _synthetic("referral", ctx, detail, ref)
    return _inbound(ctx, platform_id, MessageType.SYSTEM, text=ref, detail=detail)


BUILDERS: dict[str, Callable[[_Context, dict[str, Any]], InboundMessage]] = {
    "postback": _postback,
    "reaction": _reaction,
    "referral": _referral_event,
}


def _receipt(kind: str, content: dict[str, Any], context: Callable[[], _Context], parsed: Parsed) -> None:
    """Delivery/read: per mid where Meta names them, else one "up to the watermark" for the client."""
    status = DeliveryStatus.DELIVERED if kind == "delivery" else DeliveryStatus.READ
    mids = as_list(content.get("mids"))[:MAX_MIDS] if kind == "delivery" else []
    if kind == "read" and content.get("mid") is not None:
        mids = [content.get("mid")]  # Instagram's messaging_seen names the message
    for mid in mids:
        parsed.guard(lambda mid=mid: _status(context(), _mid(mid), status), kind)
    if not mids:
        parsed.guard(lambda: _watermark(context(), status, content.get("watermark")), kind)


def _status(ctx: _Context, mid: str, status: DeliveryStatus) -> StatusUpdate:
    return StatusUpdate(
        channel=ctx.channel.kind,
        channel_id=ctx.channel.id,
        business_id=ctx.channel.business_id,
        platform_id=mid,
        status=status,
        timestamp=ctx.timestamp,
    )


def _watermark(ctx: _Context, status: DeliveryStatus, watermark: Any) -> StatusUpdate:
    return StatusUpdate(
        channel=ctx.channel.kind,
        channel_id=ctx.channel.id,
        business_id=ctx.channel.business_id,
        platform_id="",
        status=status,
        timestamp=utc_from_timestamp(watermark),
        recipient=ctx.sender,  # the client: everything we sent them up to the watermark
        watermark=True,
    )


def _echo(ctx: _Context, message: dict[str, Any]) -> EchoMessage:
    client = ctx.recipient
    if not client or client == ctx.channel.external_id:
        raise ValueError("echo without a client")
    return EchoMessage(
        channel=ctx.channel.kind,
        channel_id=ctx.channel.id,
        business_id=ctx.channel.business_id,
        platform_id=_mid(message.get("mid")),
        recipient=Sender(user_id=client),
        timestamp=ctx.timestamp,
        text=clip_text(message.get("text")),
        app_id=_id(message.get("app_id"), "app_id", APP_ID_LIMIT),
        metadata=clip_text(message.get("metadata"), METADATA_LIMIT),
        standby=ctx.standby,
    )


def provider_key(item: InboundMessage | StatusUpdate | EchoMessage, prefix: str) -> str:
    """The dedupe key: mids for messages and echoes, (mid, status) or the watermark for receipts."""
    if isinstance(item, EchoMessage):
        return f"{prefix}:echo:{item.platform_id}"
    if isinstance(item, StatusUpdate):
        if item.watermark:
            stamp = _ms(item.timestamp)
            return f"{prefix}:watermark:{item.channel_id}:{item.recipient}:{item.status}:{stamp}"
        return f"{prefix}:status:{item.platform_id}:{item.status}"
    return f"{prefix}:msg:{item.platform_id}"


# ---------------------------------------------------------------------------------------------- outbound


def endpoint(graph_api_url: str, version: str, channel: ChannelInfo) -> str:
    return f"{graph_api_url}/{version}/{channel.external_id}/messages"


def recipient(sender: Sender) -> str:
    """Messenger and Instagram address the client by the scoped id Meta gave us (PSID / IGSID)."""
    return sender.user_id or ""


def sent_message_id(response: dict[str, Any]) -> str | None:
    """The mid Meta assigned, from a send response; echoes and receipts refer to it."""
    return as_str(as_dict(response).get("message_id"))


def sender_action(reply: Reply, to: str) -> list[dict[str, Any]] | None:
    """Mark seen / typing: sent alone, never with a message, and no messaging_type."""
    action = SENDER_ACTIONS.get(reply.kind)
    return [{"recipient": {"id": to}, "sender_action": action}] if action else None


def words(reply: Reply) -> str:
    """All a reply says as one text (header and footer folded in: these channels have neither)."""
    if reply.template is not None and not reply.text.strip():
        raise ValueError("a WhatsApp template means nothing on Messenger or Instagram")
    parts = (reply.header, reply.text, reply.footer)
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    if not text and not reply.options:
        raise ValueError("a reply with neither text nor options")
    return text


def envelope(to: str, message: dict[str, Any], tag: str | None = None) -> dict[str, Any]:
    """One Send API body: RESPONSE inside the window, MESSAGE_TAG + tag outside it."""
    body: dict[str, Any] = {"recipient": {"id": to}, "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE"}
    if tag:
        body["tag"] = tag
    body["message"] = message
    return body


def title(option: Option) -> str:
    """An option's title as a tap target: one line, at most 20 characters, never empty."""
    return fit(" ".join(option.title.split()), QUICK_REPLY_TITLE_LIMIT) or "…"


def is_cut(option: Option) -> bool:
    return title(option) != " ".join(option.title.split())


def quick_replies(options: tuple[Option, ...]) -> list[dict[str, Any]]:
    return [{"content_type": "text", "title": title(o), "payload": o.id} for o in options[:MAX_QUICK_REPLIES]]
