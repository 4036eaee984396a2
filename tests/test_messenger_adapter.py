"""The Messenger adapter on its own: Page webhook JSON in, Send API bodies out, within Meta's limits."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import BY_KIND, BY_OBJECT, messenger
from bot.channels.directory import ChannelDirectory, ChannelInfo
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
    TemplateRef,
)
from tests.support.page_payloads import (
    APP_ID,
    JSON_VALUES,
    OTHER_PSID,
    PAGE_ID,
    PAGE_INBOX_APP_ID,
    PSID,
    messenger_attachment,
    messenger_delivery,
    messenger_echo,
    messenger_event,
    messenger_message,
    messenger_postback,
    messenger_quick_reply,
    messenger_reaction,
    messenger_read,
    messenger_referral,
    messenger_text,
    page_bodies,
)
from tests.support.payloads import FIXTURES, fixture_json

CHANNEL = ChannelInfo(id=11, business_id="harbour-clinic", kind=ChannelKind.MESSENGER, external_id=PAGE_ID)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE, TWO = Sender(user_id=PSID), Sender(user_id=OTHER_PSID)
T = 1793000000011  # a Messenger timestamp: milliseconds as an integer

# Meta's Send API limits (PLATFORM.md §6), independent of the constants in the code under test.
TEXT_MAX = 2000
BUTTON_TEXT_MAX = 640
BUTTONS_MAX = 3
QUICK_REPLIES_MAX = 13
TITLE_MAX = 20
METADATA_MAX = 1000

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def directory() -> ChannelDirectory:
    return ChannelDirectory([CHANNEL])


def parse(body: dict[str, Any]) -> list[Any]:
    parsed = messenger.parse(body, directory())
    assert not parsed.dropped, parsed.dropped
    return parsed.items


def at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def message(mid: str, ms: int, sender: Sender = ONE, **fields: Any) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.MESSENGER,
        channel_id=11,
        business_id="harbour-clinic",
        platform_id=mid,
        sender=sender,
        timestamp=at(ms),
        **fields,
    )


def status(mid: str, ms: int, state: DeliveryStatus, **fields: Any) -> StatusUpdate:
    return StatusUpdate(
        channel=ChannelKind.MESSENGER,
        channel_id=11,
        business_id="harbour-clinic",
        platform_id=mid,
        status=state,
        timestamp=at(ms),
        **fields,
    )


def echo(mid: str, ms: int, **fields: Any) -> EchoMessage:
    return EchoMessage(
        channel=ChannelKind.MESSENGER,
        channel_id=11,
        business_id="harbour-clinic",
        platform_id=mid,
        recipient=ONE,
        timestamp=at(ms),
        **fields,
    )


EXPECTED: dict[str, list[InboundMessage | StatusUpdate | EchoMessage]] = {
    "messenger_text.json": [
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwMQ",
            1793000000011,
            type=MessageType.TEXT,
            text="Hi! Do you have any openings tomorrow?",
        )
    ],
    "messenger_quick_reply.json": [
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwMg",
            1793000060011,
            type=MessageType.CHOICE,
            choice_id="SLOT|2026-11-03T10:00|apt-draft-77",
            text="Tue 10:00",
        )
    ],
    "messenger_postback.json": [
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwMw",
            1793000120011,
            type=MessageType.CHOICE,
            choice_id="CONFIRM|apt-77",
            text="Confirm",
        )
    ],
    "messenger_attachment_image.json": [
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwNA",
            1793000150011,
            type=MessageType.MEDIA,
            media=MediaRef(
                kind="image", url="https://scontent.xx.fbcdn.net/v/fake/test-image.jpg?_nc_fake=1"
            ),
        )
    ],
    "messenger_batch_two_entries.json": [
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwNQ",
            1793000160011,
            type=MessageType.TEXT,
            text="Can I also bring my son?",
        ),
        message(
            "m_RkFLRS1NRVNTRU5HRVItSU4tMDAwNg",
            1793000160022,
            TWO,
            type=MessageType.TEXT,
            text="Hello, what are your prices?",
        ),
    ],
    "messenger_delivery.json": [
        status("m_RkFLRS1NRVNTRU5HRVItT1VULTAwMDE", 1793000131000, DeliveryStatus.DELIVERED)
    ],
    "messenger_read.json": [
        status("", 1793000130500, DeliveryStatus.READ, recipient=PSID, watermark=True),
    ],
    "messenger_echo.json": [
        echo(
            "m_RkFLRS1NRVNTRU5HRVItT1VULTAwMDE",
            1793000130011,
            text="You're booked for Tue 3 Nov at 10:00.",
            app_id=APP_ID,
            metadata="bot:apt-77:confirm-ack",
        )
    ],
    "messenger_standby_echo.json": [
        echo(
            "m_RkFLRS1NRVNTRU5HRVItT1VULUhVTUFOLTAwMDE",
            1793000170011,
            text="Hi, this is Sam from the front desk, taking over from the bot.",
            app_id=PAGE_INBOX_APP_ID,
            standby=True,
        )
    ],
}

INBOUND_FIXTURES = sorted(p.name for p in FIXTURES.glob("messenger_*.json"))


# ---------------------------------------------------------------------------------------------- inbound


def test_every_inbound_fixture_has_expectations() -> None:
    """A new messenger_*.json fixture must come with expected items, or it tests nothing."""
    assert set(INBOUND_FIXTURES) == set(EXPECTED)


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_parses_to_exactly_the_expected_items(name: str) -> None:
    """Each realistic Meta payload becomes exactly these items, in order, with nothing dropped."""
    assert parse(fixture_json(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_items_survive_a_json_round_trip_with_utc_times(name: str) -> None:
    """Items are stored as JSON and rebuilt by the dispatcher: nothing may change, times stay UTC."""
    for item in parse(fixture_json(name)):
        assert item.timestamp.utcoffset() == timedelta(0)
        stored = json.loads(json.dumps(item.to_json(), allow_nan=False))
        assert type(item).from_json(stored) == item


def test_text_fixture_time_is_the_documented_instant() -> None:
    """Milliseconds as an integer, pinned against the README's worked value rather than our own helper."""
    (item,) = parse(fixture_json("messenger_text"))
    assert item.timestamp == datetime(2026, 10, 26, 7, 33, 20, 11000, tzinfo=UTC)


def test_messenger_is_registered_by_object_and_kind() -> None:
    """The webhook finds the adapter by `object`, the sender by channel kind."""
    assert BY_OBJECT["page"] is messenger
    assert BY_KIND[ChannelKind.MESSENGER] is messenger


@pytest.mark.parametrize("name", ["messenger_echo", "messenger_standby_echo"])
def test_echoes_never_become_client_messages(name: str) -> None:
    """An echo answered as if the client wrote it is the classic endless echo loop."""
    assert not any(isinstance(i, InboundMessage) for i in parse(fixture_json(name)))


def test_a_page_message_without_the_echo_flag_is_still_an_echo() -> None:
    """Our own Page as sender is never a client, whatever the flags say: no reply to ourselves."""
    body = fixture_json("messenger_echo")
    del body["entry"][0]["messaging"][0]["message"]["is_echo"]

    (item,) = parse(body)

    assert isinstance(item, EchoMessage)
    assert item.recipient == ONE


def test_echo_of_an_attachment_has_no_text() -> None:
    """Staff can send an image from the inbox; the echo still marks the thread as answered by a person."""
    body = messenger_echo("x", app_id=None, timestamp=T)
    msg = body["entry"][0]["messaging"][0]["message"]
    del msg["text"]
    msg["attachments"] = [{"type": "image", "payload": {"url": "https://example.invalid/a.jpg"}}]

    (item,) = parse(body)

    assert isinstance(item, EchoMessage)
    assert (item.text, item.app_id, item.standby) == (None, None, False)


def test_builders_match_the_fixtures() -> None:
    """The builders make what Meta sends, so builder-based tests mean what fixture-based ones do."""
    fixture = fixture_json("messenger_quick_reply")
    event = fixture["entry"][0]["messaging"][0]
    built = messenger_quick_reply(
        event["message"]["quick_reply"]["payload"],
        event["message"]["text"],
        mid=event["message"]["mid"],
        timestamp=event["timestamp"],
    )
    assert built["entry"][0]["messaging"] == fixture["entry"][0]["messaging"]
    assert parse(built) == EXPECTED["messenger_quick_reply.json"]


def test_user_message_on_standby_is_kept_and_marked() -> None:
    """Another app owns the thread: staff must still see the message, and the pipeline must not answer."""
    (item,) = parse(messenger_text("Hello?", mid="m_SB", timestamp=T, standby=True))
    assert item == message("m_SB", T, type=MessageType.TEXT, text="Hello?", detail="standby")


def test_postback_on_standby_is_kept_and_marked() -> None:
    """Any client event on standby carries the marker, taps included."""
    (item,) = parse(messenger_postback("YES", "Yes", mid="m_PB", timestamp=T, standby=True))
    assert (item.type, item.choice_id, item.detail) == (MessageType.CHOICE, "YES", "standby")


def test_postback_without_mid_gets_a_stable_synthetic_id() -> None:
    """Pre-v11 postbacks have no mid: a redelivery must still be recognised as the same event."""
    body = messenger_postback("CONFIRM|apt-77", "Confirm", without_mid=True, timestamp=T)

    (first,), (again,) = parse(body), parse(copy.deepcopy(body))
    (other,) = parse(messenger_postback("CANCEL|apt-77", "Cancel", without_mid=True, timestamp=T))
    (later,) = parse(messenger_postback("CONFIRM|apt-77", "Confirm", without_mid=True, timestamp=T + 1))

    assert first == again
    assert first.platform_id.startswith("postback.")
    assert len({first.platform_id, other.platform_id, later.platform_id}) == 3
    assert (first.type, first.choice_id, first.text) == (MessageType.CHOICE, "CONFIRM|apt-77", "Confirm")
    assert messenger.provider_key(first) == f"fb:msg:{first.platform_id}"


def test_postback_without_payload_is_the_title_as_text() -> None:
    """A button we did not build (no payload) still says something the flows can read."""
    body = messenger_event({"postback": {"mid": "m_P", "title": "Get Started"}}, timestamp=T)
    (item,) = parse(body)
    assert (item.type, item.text, item.choice_id) == (MessageType.TEXT, "Get Started", None)


def test_delivery_names_each_mid() -> None:
    """Two mids, two statuses, each keyed on (mid, status) so a later read is not a duplicate."""
    items = parse(messenger_delivery(T - 500, ["m_A", "m_B"], timestamp=T))

    assert items == [
        status("m_A", T, DeliveryStatus.DELIVERED),
        status("m_B", T, DeliveryStatus.DELIVERED),
    ]
    assert [messenger.provider_key(i) for i in items] == [
        "fb:status:m_A:delivered",
        "fb:status:m_B:delivered",
    ]


@pytest.mark.parametrize("mids", [None, []], ids=["missing", "empty"])
def test_delivery_without_mids_is_a_watermark_for_the_client(mids: list[str] | None) -> None:
    """`mids` is optional: then everything sent to this client up to the watermark was delivered."""
    (item,) = parse(messenger_delivery(T - 500, mids, timestamp=T))

    assert item == status("", T - 500, DeliveryStatus.DELIVERED, recipient=PSID, watermark=True)
    assert item.conversation_key == f"status:11:to:{PSID}"
    assert messenger.provider_key(item) == f"fb:watermark:11:{PSID}:delivered:{T - 500}"


def test_read_is_a_watermark_keyed_on_client_status_and_time() -> None:
    """Reads repeat with growing watermarks; each distinct watermark is a distinct event."""
    (item,) = parse(fixture_json("messenger_read"))
    (later,) = parse(messenger_read(1793000140000, timestamp=1793000150000))

    assert messenger.provider_key(item) == f"fb:watermark:11:{PSID}:read:1793000130500"
    assert messenger.provider_key(later) == f"fb:watermark:11:{PSID}:read:1793000140000"


def test_reaction_and_its_removal() -> None:
    """A reaction names the message it is on; removing it is the same with no emoji."""
    (react,) = parse(messenger_reaction("m_OUT", "❤", timestamp=T))
    (unreact,) = parse(messenger_reaction("m_OUT", action="unreact", timestamp=T + 5))

    assert (react.type, react.reaction_to, react.reaction_emoji) == (MessageType.REACTION, "m_OUT", "❤")
    assert (unreact.type, unreact.reaction_to, unreact.reaction_emoji) == (
        MessageType.REACTION,
        "m_OUT",
        None,
    )
    assert messenger.provider_key(react) != messenger.provider_key(unreact)
    assert parse(messenger_reaction("m_OUT", "❤", timestamp=T)) == [react]  # a redelivery: same id


def test_reaction_without_emoji_falls_back_to_its_name() -> None:
    """A react event without `emoji` is still a reaction, not a removal."""
    (item,) = parse(messenger_reaction("m_OUT", None, reaction="wow", timestamp=T))
    assert item.reaction_emoji == "wow"


def test_referral_event_is_a_system_message() -> None:
    """An m.me link or ad opening the thread is logged with where the client came from."""
    (item,) = parse(messenger_referral("book-massage", "SHORTLINK", timestamp=T))

    assert item.type == MessageType.SYSTEM
    assert (item.detail, item.text) == ("referral:SHORTLINK", "book-massage")
    assert item.platform_id.startswith("referral.")


def test_referral_on_a_message_is_attached_to_it() -> None:
    """The first message after an ad carries the referral: one item, marked with its source."""
    body = messenger_message({"text": "Hi", "referral": {"source": "ADS", "type": "OPEN_THREAD"}}, mid="m_R")
    (item,) = parse(body)
    assert (item.type, item.text, item.detail) == (MessageType.TEXT, "Hi", "referral:ADS")


def test_referral_on_a_postback_is_attached_to_it() -> None:
    """Get Started from an ad: the tap keeps its payload and gains the source."""
    body = messenger_postback("GET_STARTED", "Get Started", timestamp=T)
    body["entry"][0]["messaging"][0]["postback"]["referral"] = {"ref": "x", "source": "ADS"}
    (item,) = parse(body)
    assert (item.choice_id, item.detail) == ("GET_STARTED", "referral:ADS")


def test_inline_reply_keeps_the_quoted_mid() -> None:
    """A swipe-reply to one of our messages says which one."""
    (item,) = parse(messenger_message({"text": "This one", "reply_to": {"mid": "m_OUT"}}, mid="m_X"))
    assert (item.text, item.reply_to) == ("This one", "m_OUT")


@pytest.mark.parametrize(
    ("kind", "payload", "media"),
    [
        ("video", {"url": "https://v.invalid/1.mp4"}, MediaRef(kind="video", url="https://v.invalid/1.mp4")),
        ("audio", {"url": "https://a.invalid/1.mp4"}, MediaRef(kind="audio", url="https://a.invalid/1.mp4")),
        ("file", {"url": "https://f.invalid/1.pdf"}, MediaRef(kind="file", url="https://f.invalid/1.pdf")),
        (
            "sticker",
            {"url": "https://s.invalid/1.png", "sticker_id": 369239263222822},
            MediaRef(kind="sticker", media_id="369239263222822", url="https://s.invalid/1.png"),
        ),
        (
            "image",
            {"url": "https://s.invalid/2.png", "sticker_id": 369239263222822},
            MediaRef(kind="sticker", media_id="369239263222822", url="https://s.invalid/2.png"),
        ),
    ],
    ids=["video", "audio", "file", "sticker", "legacy sticker"],
)
def test_attachments_are_kept_as_references(kind: str, payload: dict[str, Any], media: MediaRef) -> None:
    """Media stay links for staff to open; nothing is downloaded while parsing."""
    (item,) = parse(messenger_attachment(kind, payload, mid="m_M", timestamp=T))
    assert item == message("m_M", T, type=MessageType.MEDIA, media=media)


def test_fallback_attachment_is_a_reference_with_its_title() -> None:
    """A shared link arrives as a fallback attachment: kept with what it is."""
    body = messenger_message(
        {"attachments": [{"type": "fallback", "title": "Our prices", "url": "https://x.invalid/p"}]}
    )
    (item,) = parse(body)
    assert item.media == MediaRef(kind="fallback", caption="Our prices", url="https://x.invalid/p")
    assert item.detail == "fallback"


def test_unknown_attachment_type_is_kept_as_other() -> None:
    """A type Meta adds tomorrow is still stored (with its name), not dropped."""
    (item,) = parse(messenger_attachment("hologram", {"url": "https://h.invalid"}))
    assert (item.type, item.media.kind, item.detail) == (MessageType.MEDIA, "other", "attachment:hologram")


def test_location_attachment() -> None:
    """A shared location becomes a Location, like WhatsApp's."""
    payload = {"coordinates": {"lat": 55.6761, "long": 12.5683}}
    body = messenger_message({"attachments": [{"type": "location", "title": "Pin", "payload": payload}]})
    (item,) = parse(body)
    assert item.type == MessageType.LOCATION
    assert item.location == Location(latitude=55.6761, longitude=12.5683, name="Pin")


def test_several_attachments_become_one_item_each() -> None:
    """Three photos in one message: all three reach staff, with distinct keys; at most ten are kept."""
    pictures = [{"type": "image", "payload": {"url": f"https://p.invalid/{i}"}} for i in range(12)]
    items = parse(messenger_message({"attachments": pictures[:3]}, mid="m_3"))
    many = parse(messenger_message({"attachments": pictures}, mid="m_12"))

    assert [i.platform_id for i in items] == ["m_3", "m_3#1", "m_3#2"]
    assert [i.media.url for i in items] == [f"https://p.invalid/{i}" for i in range(3)]
    assert len(many) == 10


def test_deleted_message_does_not_collide_with_the_original() -> None:
    """The deletion carries the deleted message's mid; keyed on it alone it would be swallowed as a dup."""
    (item,) = parse(messenger_message({"is_deleted": True}, mid="m_GONE"))
    assert (item.type, item.detail, item.reply_to) == (MessageType.SYSTEM, "deleted", "m_GONE")
    assert messenger.provider_key(item) != "fb:msg:m_GONE"


@pytest.mark.parametrize(
    ("content", "detail"), [({"is_unsupported": True}, "unsupported"), ({}, "empty")], ids=["flag", "empty"]
)
def test_unsupported_or_empty_message(content: dict[str, Any], detail: str) -> None:
    """Something Meta cannot show us is recorded as unsupported, so the client can be told."""
    (item,) = parse(messenger_message(content))
    assert (item.type, item.detail) == (MessageType.UNSUPPORTED, detail)


def test_unknown_page_is_dropped_as_unknown_channel() -> None:
    """A delivery for a Page we do not serve must not be attributed to any tenant."""
    parsed = messenger.parse(messenger_text("hi", page_id="999999999999999"), directory())
    assert (parsed.items, parsed.dropped) == ([], {"unknown_channel": 1})


def test_same_id_on_another_channel_kind_is_not_this_page() -> None:
    """Channels are looked up by (kind, id): an Instagram account with that id is not our Page."""
    other = ChannelInfo(id=12, business_id="b", kind=ChannelKind.INSTAGRAM, external_id=PAGE_ID)
    parsed = messenger.parse(messenger_text("hi"), ChannelDirectory([other]))
    assert (parsed.items, parsed.dropped) == ([], {"unknown_channel": 1})


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"optin": {"ref": "x"}}, "event:optin"),
        ({"pass_thread_control": {"new_owner_app_id": "1"}}, "event:pass_thread_control"),
        ({"brand_new_thing": {}}, "event:unknown"),
        ({}, "event:unknown"),
    ],
    ids=["optin", "handover", "unknown", "nothing"],
)
def test_events_we_do_not_handle_are_counted(content: dict[str, Any], reason: str) -> None:
    """Unhandled kinds are counted by name (unknown names are not echoed into metrics)."""
    parsed = messenger.parse(messenger_event(content), directory())
    assert (parsed.items, parsed.dropped) == ([], {reason: 1})


def test_page_reacting_is_not_a_client_event() -> None:
    """Only a message from our Page is an echo; other events with our Page as sender are counted, not read."""
    body = messenger_reaction("m_IN", psid=PAGE_ID)
    parsed = messenger.parse(body, directory())
    assert (parsed.items, parsed.dropped) == ([], {"own_event": 1})


def test_changes_entries_are_counted_by_field() -> None:
    """A Page subscribed to feed changes gets `changes`, not `messaging`: counted, never parsed."""
    body = {"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": {}}]}]}
    parsed = messenger.parse(body, directory())
    assert (parsed.items, parsed.dropped) == ([], {"field:feed": 1})


VALID = fixture_json("messenger_text")["entry"][0]["messaging"][0]
HUGE = "x" * 10_000


def _mutated(change: dict[str, Any], base: dict[str, Any] = VALID) -> dict[str, Any]:
    event = copy.deepcopy(base)
    for key, value in change.items():
        if value is ...:
            event.pop(key, None)
        else:
            event[key] = value
    return event


MALFORMED: dict[str, tuple[dict[str, Any], str]] = {
    "no sender": (_mutated({"sender": ...}), "malformed_message"),
    "sender a list": (_mutated({"sender": [PSID]}), "malformed_message"),
    "sender id of 10k": (_mutated({"sender": {"id": HUGE}}), "malformed_message"),
    "timestamp text": (_mutated({"timestamp": "abc"}), "malformed_message"),
    "timestamp missing": (_mutated({"timestamp": ...}), "malformed_message"),
    "timestamp overflow": (_mutated({"timestamp": 1e300}), "malformed_message"),
    "timestamp far future": (_mutated({"timestamp": 10**20}), "malformed_message"),
    "message a list": (_mutated({"message": ["hi"]}), "malformed_message"),
    "no mid": (_mutated({"message": {"text": "hi"}}), "malformed_message"),
    "mid of 10k": (_mutated({"message": {"mid": HUGE, "text": "hi"}}), "malformed_message"),
    "mid an object": (_mutated({"message": {"mid": {"a": 1}, "text": "hi"}}), "malformed_message"),
    "reply_to mid of 10k": (
        _mutated({"message": {"mid": "m_x", "text": "hi", "reply_to": {"mid": HUGE}}}),
        "malformed_message",
    ),
    "attachment not an object": (
        _mutated({"message": {"mid": "m_x", "attachments": ["image"]}}),
        "malformed_message",
    ),
    "location off the globe": (
        _mutated(
            {"message": {"mid": "m_x", "attachments": [{"type": "location", "payload": {"coordinates": {}}}]}}
        ),
        "malformed_message",
    ),
    "postback a string": (_mutated({"message": ..., "postback": "CONFIRM"}), "malformed_postback"),
    "postback empty": (_mutated({"message": ..., "postback": {"mid": "m_p"}}), "malformed_postback"),
    "reaction without mid": (_mutated({"message": ..., "reaction": {"emoji": "x"}}), "malformed_reaction"),
    "delivery mid junk": (
        _mutated({"message": ..., "delivery": {"mids": [None], "watermark": T}}),
        "malformed_delivery",
    ),
    "read watermark text": (_mutated({"message": ..., "read": {"watermark": "soon"}}), "malformed_read"),
    "read a list": (_mutated({"message": ..., "read": []}), "malformed_read"),
    "referral a list": (_mutated({"message": ..., "referral": []}), "malformed_referral"),
    "echo without recipient": (
        _mutated({"recipient": ..., "message": {"mid": "m_e", "is_echo": True}}),
        "malformed_echo",
    ),
    "echo mid of 10k": (_mutated({"message": {"mid": HUGE, "is_echo": True}}), "malformed_echo"),
}


@pytest.mark.parametrize(("bad", "reason"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_event_is_dropped_without_sinking_its_neighbours(bad: dict[str, Any], reason: str) -> None:
    """One broken event is counted and skipped; the valid events around it in the same delivery arrive."""
    body = fixture_json("messenger_batch_two_entries")
    body["entry"][0]["messaging"].append(bad)

    parsed = messenger.parse(body, directory())

    assert parsed.items == EXPECTED["messenger_batch_two_entries.json"]
    assert parsed.dropped == {reason: 1}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"entry": "x"},
        {"entry": {"id": PAGE_ID}},
        {"entry": [None, 1, "x", [], {"id": PAGE_ID, "messaging": "x"}]},
        {"entry": [{"id": PAGE_ID, "messaging": [None, 1, "x", [], {}]}]},
        {"entry": [{"id": [PAGE_ID], "messaging": [VALID]}]},
        {"entry": [{"id": PAGE_ID, "standby": {"0": VALID}, "messaging": [[VALID]]}]},
    ],
    ids=["empty", "entry string", "entry object", "junk entries", "junk events", "id list", "nested lists"],
)
def test_shapeless_delivery_yields_nothing_and_does_not_raise(body: dict[str, Any]) -> None:
    """A signed but nonsensical body is acknowledged as empty, never a 500 that gets the Page unsubscribed."""
    assert messenger.parse(body, directory()).items == []


def test_huge_text_is_clipped_and_nul_removed() -> None:
    """Nobody types 100 kB; PostgreSQL cannot hold NUL: neither may make a delivery unstorable."""
    (item,) = parse(messenger_text("a\x00b" + "cd" * 51_200))
    assert item.text is not None and len(item.text) <= 4096 and "\x00" not in item.text
    assert item.text.startswith("abcd") and item.text.endswith("cdcd")


def test_huge_payload_and_titles_are_clipped() -> None:
    """Postback payloads and titles are bounded too (payload: 1000, Meta's own limit)."""
    (item,) = parse(messenger_postback("p" * 5000, "t" * 5000))
    assert (len(item.choice_id), len(item.text)) == (1000, 200)


def test_keys_never_collide_across_kinds() -> None:
    """A message, its echo, and statuses about one mid are different inbox rows."""
    mid = "m_SAME"
    (msg,) = parse(messenger_text("x", mid=mid))
    (own,) = parse(messenger_echo("x", mid=mid))
    (delivered,) = parse(messenger_delivery(T, [mid]))
    keys = {messenger.provider_key(msg), messenger.provider_key(own), messenger.provider_key(delivered)}
    assert keys == {"fb:msg:m_SAME", "fb:echo:m_SAME", "fb:status:m_SAME:delivered"}


def _assert_storable(item: Any) -> None:
    stored = json.loads(json.dumps(item.to_json(), allow_nan=False))
    assert type(item).from_json(stored) == item
    assert len(messenger.provider_key(item)) <= 300
    assert len(item.platform_id) <= 200
    assert len(item.conversation_key) <= 240


@FAST
@given(body=page_bodies("page", PAGE_ID))
def test_parse_never_raises_on_any_event_shape(body: dict[str, Any]) -> None:
    """Whatever Meta (or a bug) sends, parse returns, and every item it yields is storable and keyable."""
    for item in messenger.parse(body, directory()).items:
        _assert_storable(item)


@FAST
@given(body=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
def test_parse_never_raises_on_arbitrary_json(body: dict[str, Any]) -> None:
    """Completely arbitrary JSON objects are read as nothing, never as an exception."""
    messenger.parse(body, directory())
    messenger.parse({"object": "page", "entry": [body]}, directory())


@FAST
@given(
    key=st.sampled_from(["sender", "recipient", "timestamp", "message", "postback", "delivery", "read"]),
    value=JSON_VALUES,
    fixture=st.sampled_from(INBOUND_FIXTURES),
)
def test_any_json_in_any_fixture_field_never_raises(key: str, value: Any, fixture: str) -> None:
    """Any value in any field of a realistic event: parse returns, items stay storable."""
    body = fixture_json(fixture)
    for entry in body["entry"]:
        for event in entry.get("messaging", []) + entry.get("standby", []):
            event[key] = value
    for item in messenger.parse(body, directory()).items:
        _assert_storable(item)


# ---------------------------------------------------------------------------------------------- outbound


def assert_within_limits(body: dict[str, Any]) -> None:
    """Fail unless `body` is a request Meta accepts as far as shapes, sizes and counts go (PLATFORM.md §6)."""
    assert body["recipient"]["id"]
    if "sender_action" in body:
        assert set(body) == {"recipient", "sender_action"}
        assert body["sender_action"] in ("mark_seen", "typing_on", "typing_off")
        return
    assert body["messaging_type"] in ("RESPONSE", "UPDATE", "MESSAGE_TAG")
    assert ("tag" in body) == (body["messaging_type"] == "MESSAGE_TAG")
    message = body["message"]
    assert ("text" in message) != ("attachment" in message)
    assert len(message.get("metadata", "")) <= METADATA_MAX
    if "text" in message:
        assert 1 <= len(message["text"]) <= TEXT_MAX
        assert message["text"].strip()
    else:
        payload = message["attachment"]["payload"]
        assert (message["attachment"]["type"], payload["template_type"]) == ("template", "button")
        assert 1 <= len(payload["text"]) <= BUTTON_TEXT_MAX
        assert 1 <= len(payload["buttons"]) <= BUTTONS_MAX
        for button in payload["buttons"]:
            assert button["type"] == "postback"
            assert 1 <= len(button["title"]) <= TITLE_MAX
            assert button["payload"]
    if "quick_replies" in message:
        assert "text" in message
        assert 1 <= len(message["quick_replies"]) <= QUICK_REPLIES_MAX
        for quick in message["quick_replies"]:
            assert quick["content_type"] == "text"
            assert 1 <= len(quick["title"]) <= TITLE_MAX
            assert quick["payload"]


def options(*titles: str) -> tuple[Option, ...]:
    return tuple(Option(id=f"opt-{i}", title=title) for i, title in enumerate(titles))


def squash(text: str) -> str:
    """The text without any whitespace: splitting may move line breaks and spaces, never other characters."""
    return "".join(text.split())


def said(bodies: list[dict[str, Any]]) -> str:
    """Everything the client reads, in order: texts and button-template texts."""
    parts = []
    for body in bodies:
        message = body.get("message", {})
        if "text" in message:
            parts.append(message["text"])
        elif "attachment" in message:
            parts.append(message["attachment"]["payload"]["text"])
    return "\n".join(parts)


def taps(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(payload, title) of the buttons or quick replies on one body."""
    message = body["message"]
    if "attachment" in message:
        return [(b["payload"], b["title"]) for b in message["attachment"]["payload"]["buttons"]]
    return [(q["payload"], q["title"]) for q in message.get("quick_replies", [])]


def test_three_options_render_as_a_button_template_like_the_fixture() -> None:
    """Up to three options under a text of at most 640 characters become postback buttons."""
    expected = fixture_json("outbound_messenger_button_template")
    payload = expected["message"]["attachment"]["payload"]
    reply = Reply(
        text=payload["text"],
        options=tuple(Option(id=b["payload"], title=b["title"]) for b in payload["buttons"]),
        callback_data=expected["message"]["metadata"],
    )

    assert messenger.render(reply, PSID) == [expected]


def test_more_options_render_as_quick_replies_like_the_fixture() -> None:
    """Four or more options become quick replies, shaped exactly like Meta's documented example."""
    expected = fixture_json("outbound_messenger_quick_replies")
    fixture_options = tuple(
        Option(id=q["payload"], title=q["title"]) for q in expected["message"]["quick_replies"]
    )
    reply = Reply(
        text=expected["message"]["text"],
        options=(*fixture_options, Option(id="SLOT|2026-11-03T15:00|apt-draft-77", title="15:00")),
        callback_data=expected["message"]["metadata"],
    )

    (body,) = messenger.render(reply, PSID)

    assert_within_limits(body)
    assert {k: v for k, v in body.items() if k != "message"} == {
        k: v for k, v in expected.items() if k != "message"
    }
    got, want = body["message"], expected["message"]
    assert (got["text"], got["metadata"]) == (want["text"], want["metadata"])
    assert got["quick_replies"][:3] == want["quick_replies"]
    assert len(got["quick_replies"]) == 4


def test_typing_renders_like_the_fixture() -> None:
    """A sender action goes alone: no message, no messaging_type."""
    expected = fixture_json("outbound_messenger_sender_action")
    assert messenger.render(Reply(text="", kind="typing"), PSID) == [expected]


def test_mark_read_is_mark_seen() -> None:
    """Messenger marks the whole thread seen; no mid is needed (unlike WhatsApp)."""
    reply = Reply(text="", kind="mark_read", reply_to="m_IN", callback_data="ignored")
    assert messenger.render(reply, PSID) == [{"recipient": {"id": PSID}, "sender_action": "mark_seen"}]


def test_tag_renders_like_the_human_agent_fixture() -> None:
    """Outside the 24-hour window a human answers with MESSAGE_TAG + HUMAN_AGENT."""
    expected = fixture_json("outbound_messenger_human_agent_tag")
    reply = Reply(text=expected["message"]["text"])
    assert messenger.render(reply, PSID, tag="HUMAN_AGENT") == [expected]


def test_tag_applies_to_every_body_of_a_split_reply() -> None:
    """Each part of a long tagged answer is outside the window too."""
    bodies = messenger.render(Reply(text="word " * 900, options=options(*"ABCDE")), PSID, tag="HUMAN_AGENT")
    assert len(bodies) == 3
    assert all((b["messaging_type"], b["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT") for b in bodies)


def test_button_title_of_20_characters_is_kept_whole() -> None:
    """The 20-character limit is inclusive; a boundary slip would cut a title that fits."""
    (body,) = messenger.render(Reply(text="Pick", options=options("x" * 20, "Two")), PSID)
    assert_within_limits(body)
    assert taps(body) == [("opt-0", "x" * 20), ("opt-1", "Two")]
    assert body["message"]["attachment"]["payload"]["text"] == "Pick"


def test_a_long_title_is_cut_and_listed_whole_in_the_text() -> None:
    """A title over 20 characters is cut on the button, so the full title is also said in the text."""
    long_title = "Deep tissue massage with hot stones"
    (body,) = messenger.render(Reply(text="Which one?", options=options("Haircut", long_title)), PSID)

    assert_within_limits(body)
    ((_, cut),) = [t for t in taps(body) if t[0] == "opt-1"]
    assert cut.endswith("…") and len(cut) <= TITLE_MAX
    assert body["message"]["attachment"]["payload"]["text"] == f"Which one?\n\n• {long_title}"


@pytest.mark.parametrize("count", [4, 9, 13])
def test_four_to_thirteen_options_are_all_quick_replies(count: int) -> None:
    """More than three buttons do not exist; up to 13 quick replies do, and the text stays as written."""
    reply = Reply(text="Pick a time", options=options(*(f"10:{i:02d}" for i in range(count))))

    (body,) = messenger.render(reply, PSID)

    assert_within_limits(body)
    assert body["message"]["text"] == "Pick a time"
    assert taps(body) == [(f"opt-{i}", f"10:{i:02d}") for i in range(count)]


def test_fifteen_options_show_thirteen_and_list_the_other_two_in_the_text() -> None:
    """Quick replies hold 13; the rest must stay readable rather than silently vanish."""
    titles = [f"Service {i}" for i in range(1, 16)]

    (body,) = messenger.render(Reply(text="Our services:", options=options(*titles)), PSID)

    assert_within_limits(body)
    assert [t for _, t in taps(body)] == titles[:13]
    assert body["message"]["text"] == "Our services:\n\n• Service 14\n• Service 15"


def test_three_options_under_a_long_text_become_quick_replies() -> None:
    """A button template holds 640 characters; above that the same options ride on a plain text."""
    text = "Please read this first. " * 40  # 960 characters
    (body,) = messenger.render(Reply(text=text, options=options("Yes", "No")), PSID)

    assert_within_limits(body)
    assert body["message"]["text"] == text.strip()
    assert taps(body) == [("opt-0", "Yes"), ("opt-1", "No")]


def test_long_text_with_options_sends_the_head_first_and_options_last() -> None:
    """Over 2000 characters: plain texts first, the quick replies on the last one, nothing lost."""
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 8 for i in range(20))
    assert len(text) > TEXT_MAX

    bodies = messenger.render(Reply(text=text, options=options("Yes", "No")), PSID)

    assert len(bodies) >= 3
    for body in bodies:
        assert_within_limits(body)
    assert ["quick_replies" in b["message"] for b in bodies] == [False] * (len(bodies) - 1) + [True]
    assert squash(said(bodies)) == squash(text)


def test_text_over_2000_is_split_without_loss() -> None:
    """A long answer is several texts of at most 2000, with every character kept in order."""
    text = "\n\n".join(f"Line {i} " + "word " * 40 for i in range(30))
    bodies = messenger.render(Reply(text=text), PSID)

    assert len(bodies) >= 3
    for body in bodies:
        assert_within_limits(body)
    assert squash(said(bodies)) == squash(text)


def test_text_without_any_break_is_hard_split() -> None:
    """Even one 5000-character word must be cut into sendable pieces rather than refused by Meta."""
    bodies = messenger.render(Reply(text="x" * 5000), PSID)
    assert [len(b["message"]["text"]) for b in bodies] == [2000, 2000, 1000]


def test_callback_data_is_metadata_on_every_message_and_cut_to_1000() -> None:
    """Metadata comes back on each echo: it is how our own sends are told from a person's."""
    bodies = messenger.render(Reply(text="x" * 4500, callback_data="c" * 1200), PSID)
    assert [b["message"]["metadata"] for b in bodies] == ["c" * 1000] * 3


def test_header_and_footer_are_folded_into_the_text() -> None:
    """Messenger has no header or footer: said as the first and last paragraph instead of dropped."""
    reply = Reply(text="Body", header="Your booking", footer="Reply STOP to opt out", options=options("A"))
    (body,) = messenger.render(reply, PSID)
    text = body["message"]["attachment"]["payload"]["text"]
    assert text == "Your booking\n\nBody\n\nReply STOP to opt out"


def test_blank_text_with_options_still_has_a_text() -> None:
    """A button template needs a text; an empty one gets a placeholder instead of a refused send."""
    (body,) = messenger.render(Reply(text=" \n ", options=options("A")), PSID)
    assert_within_limits(body)
    assert body["message"]["attachment"]["payload"]["text"] == "…"


def test_blank_titles_are_never_sent_empty() -> None:
    """Meta refuses an empty title; a blank one becomes a visible placeholder."""
    (body,) = messenger.render(Reply(text="Pick", options=options(" ", "\n", *"ABCD")), PSID)
    assert_within_limits(body)


def test_a_template_on_messenger_is_a_utility_message_whose_buttons_carry_the_payloads() -> None:
    """Outside the window Messenger takes a Page-owned utility template; a tag beside it is not sent with
    it (the tag is the sender's fallback, a separate send)."""
    template = TemplateRef(
        name="appointment_update", language="en_US", body_params=("Anna",), button_payloads=("confirm:7",)
    )
    reply = Reply(text="See you tomorrow at 10:00", template=template, tag="CONFIRMED_EVENT_UPDATE")
    (body,) = messenger.render(reply, PSID, tag=reply.tag)

    assert body == {
        "recipient": {"id": PSID},
        "messaging_type": "UTILITY",
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "utility_messages",
                    "name": "appointment_update",
                    "language": {"code": "en_US"},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]},
                        {
                            "type": "button",
                            "sub_type": "postback",
                            "index": 0,
                            "parameters": [{"type": "text", "text": "confirm:7"}],
                        },
                    ],
                },
            }
        },
    }


def test_empty_reply_is_refused() -> None:
    """Nothing to say is a flow bug, surfaced rather than sent as an empty message."""
    with pytest.raises(ValueError):
        messenger.render(Reply(text="  "), PSID)


def test_sent_message_id_reads_the_send_response() -> None:
    """The mid from the send response is what echoes and deliveries refer to."""
    assert (
        messenger.sent_message_id(fixture_json("response_messenger_send"))
        == "m_RkFLRS1NRVNTRU5HRVItT1VULTAwMDI"
    )


@pytest.mark.parametrize("response", [{}, {"message_id": None}, {"message_id": ["x"]}, {"success": True}])
def test_sent_message_id_is_none_for_odd_responses(response: dict[str, Any]) -> None:
    """A surprising 200 body must not crash the sender; it just has no id to record."""
    assert messenger.sent_message_id(response) is None


def test_endpoint_and_recipient() -> None:
    """Sends go to /<version>/<page id>/messages, addressed to the PSID."""
    assert messenger.endpoint("https://graph.facebook.com", "v26.0", CHANNEL) == (
        "https://graph.facebook.com/v26.0/200000000000001/messages"
    )
    assert messenger.recipient(ONE) == PSID


CHARS = st.characters(exclude_categories=("Cs",))
SHORT = st.text(CHARS, max_size=120)
LONG = st.builds(lambda unit, n: unit * n, st.text(CHARS, min_size=1, max_size=60), st.integers(0, 120))
WORDY = st.builds(
    lambda words, n: (" ".join(words) + "\n") * n,
    st.lists(st.text(CHARS, max_size=12), max_size=30),
    st.integers(0, 30),
)
TITLE = st.text(CHARS, min_size=1, max_size=60).filter(lambda t: t.strip())


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    titles = draw(st.lists(TITLE, max_size=16))
    text = draw(st.one_of(SHORT, LONG, WORDY))
    if not titles:
        text = draw(TITLE) + text  # a reply without options must say something
    return Reply(
        text=text,
        options=tuple(Option(id=f"opt-{i}", title=t) for i, t in enumerate(titles)),
        callback_data=draw(st.none() | st.text(CHARS, max_size=1200)),
    )


@FAST
@given(reply=replies(), tag=st.none() | st.just("HUMAN_AGENT"))
def test_every_rendered_body_is_within_meta_limits(reply: Reply, tag: str | None) -> None:
    """Whatever a flow says, every request fits Meta's limits, and only the last one carries taps."""
    bodies = messenger.render(reply, PSID, tag=tag)

    assert bodies
    for body in bodies:
        assert_within_limits(body)
        assert body.get("tag") == tag
    assert not any(taps(b) for b in bodies[:-1])


@FAST
@given(reply=replies())
def test_rendering_loses_no_text_and_no_option(reply: Reply) -> None:
    """Every character reaches the client; every option is a tap or, when cut or over 13, said in the text."""
    bodies = messenger.render(reply, PSID)

    everything = squash(said(bodies))
    assert everything.startswith(squash(reply.text))
    shown = taps(bodies[-1])
    assert [p for p, _ in shown] == [o.id for o in reply.options[: len(shown)]]
    for option, (_, title) in zip(reply.options, shown, strict=False):
        if title != " ".join(option.title.split()):
            assert squash(option.title) in everything
    for option in reply.options[len(shown) :]:
        assert squash(option.title) in everything
