"""Messenger and Instagram webhook builders (ids as in the fixtures README), plus fuzz strategies."""

from __future__ import annotations

import itertools
import time
from typing import Any

from hypothesis import strategies as st

PAGE_ID = "200000000000001"
PSID = "2000000000000011"
OTHER_PSID = "2000000000000012"
APP_ID = "300000000000001"
PAGE_INBOX_APP_ID = "263902037430900"
IG_ACCOUNT_ID = "17841400000000001"
IGSID = "900000000000001"
_counter = itertools.count(1)


def _now_ms() -> int:
    return int(time.time() * 1000)


def next_mid(prefix: str = "m_TEST") -> str:
    return f"{prefix}{next(_counter):08d}"


def page_event(
    obj: str,
    account: str,
    user: str,
    content: dict[str, Any],
    *,
    timestamp: int | None = None,
    standby: bool = False,
    from_business: bool = False,
) -> dict[str, Any]:
    """One webhook body holding one event; `from_business` swaps sender and recipient (echoes)."""
    sender, recipient = (account, user) if from_business else (user, account)
    event = {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": _now_ms() if timestamp is None else timestamp,
        **content,
    }
    stamp = event["timestamp"] if isinstance(event["timestamp"], int) else _now_ms()
    entry = {"id": account, "time": stamp, "standby" if standby else "messaging": [event]}
    return {"object": obj, "entry": [entry]}


# ---------------------------------------------------------------------------------------------- Messenger


def messenger_event(
    content: dict[str, Any],
    *,
    psid: str = PSID,
    page_id: str = PAGE_ID,
    timestamp: int | None = None,
    standby: bool = False,
    from_business: bool = False,
) -> dict[str, Any]:
    return page_event(
        "page", page_id, psid, content, timestamp=timestamp, standby=standby, from_business=from_business
    )


def messenger_message(message: dict[str, Any], *, mid: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return messenger_event({"message": {"mid": mid or next_mid(), **message}}, **kwargs)


def messenger_text(text: str, **kwargs: Any) -> dict[str, Any]:
    return messenger_message({"text": text}, **kwargs)


def messenger_quick_reply(payload: str, title: str, **kwargs: Any) -> dict[str, Any]:
    return messenger_message({"text": title, "quick_reply": {"payload": payload}}, **kwargs)


def messenger_attachment(kind: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return messenger_message({"attachments": [{"type": kind, "payload": payload}]}, **kwargs)


def messenger_postback(
    payload: str, title: str, *, mid: str | None = None, without_mid: bool = False, **kwargs: Any
) -> dict[str, Any]:
    postback: dict[str, Any] = {"title": title, "payload": payload}
    if not without_mid:
        postback["mid"] = mid or next_mid()
    return messenger_event({"postback": postback}, **kwargs)


def messenger_reaction(
    mid: str, emoji: str | None = "❤", *, action: str = "react", reaction: str = "love", **kwargs: Any
) -> dict[str, Any]:
    content: dict[str, Any] = {"mid": mid, "action": action}
    if action == "react":
        content["reaction"] = reaction
        if emoji is not None:
            content["emoji"] = emoji
    return messenger_event({"reaction": content}, **kwargs)


def messenger_delivery(watermark: int, mids: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
    delivery: dict[str, Any] = {"watermark": watermark}
    if mids is not None:
        delivery["mids"] = mids
    return messenger_event({"delivery": delivery}, **kwargs)


def messenger_read(watermark: int, **kwargs: Any) -> dict[str, Any]:
    return messenger_event({"read": {"watermark": watermark}}, **kwargs)


def messenger_referral(ref: str, source: str = "SHORTLINK", **kwargs: Any) -> dict[str, Any]:
    return messenger_event({"referral": {"ref": ref, "source": source, "type": "OPEN_THREAD"}}, **kwargs)


def messenger_echo(
    text: str,
    *,
    app_id: int | None = int(APP_ID),
    metadata: str | None = None,
    mid: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"is_echo": True, "mid": mid or next_mid(), "text": text}
    if app_id is not None:
        message["app_id"] = app_id
    if metadata is not None:
        message["metadata"] = metadata
    return messenger_event({"message": message}, from_business=True, **kwargs)


# ---------------------------------------------------------------------------------------------- Instagram


def instagram_event(
    content: dict[str, Any],
    *,
    igsid: str = IGSID,
    account_id: str = IG_ACCOUNT_ID,
    timestamp: int | None = None,
    standby: bool = False,
    from_business: bool = False,
) -> dict[str, Any]:
    return page_event(
        "instagram",
        account_id,
        igsid,
        content,
        timestamp=timestamp,
        standby=standby,
        from_business=from_business,
    )


def instagram_message(message: dict[str, Any], *, mid: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return instagram_event({"message": {"mid": mid or next_mid("aWdfVEVTVA"), **message}}, **kwargs)


def instagram_text(text: str, **kwargs: Any) -> dict[str, Any]:
    return instagram_message({"text": text}, **kwargs)


def instagram_quick_reply(payload: str, title: str, **kwargs: Any) -> dict[str, Any]:
    return instagram_message({"text": title, "quick_reply": {"payload": payload}}, **kwargs)


def instagram_attachment(kind: str, payload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return instagram_message({"attachments": [{"type": kind, "payload": payload}]}, **kwargs)


def instagram_story_reply(text: str, story_id: str, url: str, **kwargs: Any) -> dict[str, Any]:
    return instagram_message({"text": text, "reply_to": {"story": {"id": story_id, "url": url}}}, **kwargs)


def instagram_postback(payload: str, title: str, *, mid: str | None = None, **kwargs: Any) -> dict[str, Any]:
    postback = {"mid": mid or next_mid("aWdfVEVTVA"), "title": title, "payload": payload}
    return instagram_event({"postback": postback}, **kwargs)


def instagram_seen(mid: str, **kwargs: Any) -> dict[str, Any]:
    return instagram_event({"read": {"mid": mid}}, **kwargs)


def instagram_reaction(
    mid: str, emoji: str | None = "❤️", *, action: str = "react", **kwargs: Any
) -> dict[str, Any]:
    content: dict[str, Any] = {"mid": mid, "action": action}
    if action == "react":
        content["reaction"] = "love"
        if emoji is not None:
            content["emoji"] = emoji
    return instagram_event({"reaction": content}, **kwargs)


def instagram_echo(text: str, *, mid: str | None = None, **kwargs: Any) -> dict[str, Any]:
    message = {"mid": mid or next_mid("aWdfVEVTVA"), "text": text, "is_echo": True}
    return instagram_event({"message": message}, from_business=True, **kwargs)


# ---------------------------------------------------------------------------------------------- fuzzing

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_GOOD_IDS = st.sampled_from([PAGE_ID, PSID, IG_ACCOUNT_ID, IGSID]) | st.text(
    "abcXYZ_-=019", min_size=1, max_size=30
)
_IDS = _GOOD_IDS | _GOOD_IDS | st.sampled_from(["", "0", "x" * 10_000]) | JSON_VALUES
_USERS = st.sampled_from([PSID, IGSID]) | st.sampled_from([PSID, IGSID, PAGE_ID, IG_ACCOUNT_ID]) | _IDS
_GOOD_TIMES = st.integers(1_600_000_000_000, 1_900_000_000_000)
_TIMES = (
    _GOOD_TIMES | _GOOD_TIMES | st.integers(-(10**20), 10**20) | st.sampled_from(["1793000000011", "nan"])
)
_TIMES = _TIMES | JSON_VALUES
_ATTACHMENT = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["image", "video", "audio", "file", "sticker", "location", "share", "ig_reel"]
        )
        | JSON_VALUES,
        "payload": st.fixed_dictionaries(
            {},
            optional={
                "url": JSON_VALUES,
                "sticker_id": JSON_VALUES,
                "title": JSON_VALUES,
                "coordinates": st.fixed_dictionaries({}, optional={"lat": JSON_VALUES, "long": JSON_VALUES})
                | JSON_VALUES,
            },
        )
        | JSON_VALUES,
    },
)
_MESSAGE = st.fixed_dictionaries(
    {"mid": _IDS},
    optional={
        "text": st.text(max_size=50) | st.text(max_size=50) | JSON_VALUES,
        "is_echo": st.booleans() | JSON_VALUES,
        "app_id": _IDS,
        "metadata": JSON_VALUES,
        "quick_reply": st.fixed_dictionaries({"payload": st.text(max_size=20) | JSON_VALUES}) | JSON_VALUES,
        "attachments": st.lists(_ATTACHMENT, min_size=1, max_size=3) | st.lists(_ATTACHMENT | JSON_VALUES),
        "reply_to": st.fixed_dictionaries({}, optional={"mid": _IDS, "story": JSON_VALUES}) | JSON_VALUES,
        "referral": JSON_VALUES,
        "is_deleted": st.booleans(),
        "is_unsupported": st.booleans(),
    },
)
_CONTENT = st.fixed_dictionaries(
    {},
    optional={
        "mid": _IDS,
        "mids": st.lists(_IDS, max_size=3) | JSON_VALUES,
        "watermark": _TIMES,
        "payload": JSON_VALUES,
        "title": JSON_VALUES,
        "action": st.sampled_from(["react", "unreact"]) | JSON_VALUES,
        "emoji": JSON_VALUES,
        "source": JSON_VALUES,
        "ref": JSON_VALUES,
    },
)
_KINDS = ["message", "postback", "reaction", "delivery", "read", "referral", "optin", "whatever"]


@st.composite
def page_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event that reaches deep into the parser: plausible structure, mostly plausible values."""
    event: dict[str, Any] = {
        "sender": {"id": draw(_USERS)},
        "recipient": {"id": draw(_USERS)},
        "timestamp": draw(_TIMES),
    }
    kind = draw(st.sampled_from(_KINDS))
    event[kind] = draw(_MESSAGE if kind == "message" else _CONTENT)
    return event


def page_bodies(obj: str, account: str) -> st.SearchStrategy[dict[str, Any]]:
    """Whole webhook bodies for `obj` and our account: events in messaging and standby, junk beside them."""
    entry = st.fixed_dictionaries(
        {"id": st.just(account), "messaging": st.lists(page_events(), min_size=1, max_size=3)},
        optional={"standby": st.lists(page_events() | JSON_VALUES, max_size=2), "changes": JSON_VALUES},
    )
    return st.fixed_dictionaries({"object": st.just(obj), "entry": st.lists(entry, min_size=1, max_size=2)})
