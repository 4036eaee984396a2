"""The WhatsApp adapter on its own: Meta's webhook JSON in, Graph request bodies out, within Meta's limits."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import whatsapp
from bot.channels.directory import ChannelDirectory, ChannelInfo
from flows.messages import (
    ChannelKind,
    DeliveryStatus,
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

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "meta"
PHONE_NUMBER_ID = "100000000000002"
CHANNEL = ChannelInfo(
    id=7, business_id="harbour-clinic", kind=ChannelKind.WHATSAPP, external_id=PHONE_NUMBER_ID
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ONE = Sender(user_id="US.1000000000000000001", phone="+15550000001", name="Test Customer One")
TWO = Sender(user_id="US.1000000000000000002", phone="+15550000002", name="Test Customer Two")
THREE = Sender(
    user_id="US.1000000000000000003", phone=None, name="Test Customer Three", username="@test.customer.three"
)

# Meta's outbound limits (PLATFORM.md §3), independent of the constants in the code under test.
TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
HEADER_MAX = FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
LIST_BUTTON_MAX = 20
CALLBACK_MAX = 512

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def directory() -> ChannelDirectory:
    return ChannelDirectory([CHANNEL])


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def at(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def message(wamid: str, seconds: int, sender: Sender = ONE, **fields: Any) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.WHATSAPP,
        channel_id=7,
        business_id="harbour-clinic",
        platform_id=f"wamid.{wamid}",
        sender=sender,
        timestamp=at(seconds),
        **fields,
    )


def status(wamid: str, seconds: int, state: DeliveryStatus, **fields: Any) -> StatusUpdate:
    return StatusUpdate(
        channel=ChannelKind.WHATSAPP,
        channel_id=7,
        business_id="harbour-clinic",
        platform_id=f"wamid.{wamid}",
        status=state,
        timestamp=at(seconds),
        **fields,
    )


EXPECTED: dict[str, list[InboundMessage | StatusUpdate]] = {
    "whatsapp_text.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAx",
            1793000000,
            type=MessageType.TEXT,
            text="Hi, can I book a haircut for Tuesday morning?",
        )
    ],
    "whatsapp_interactive_button_reply.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAy",
            1793000060,
            type=MessageType.CHOICE,
            choice_id="slot:2026-11-03T10:00:apt-draft-42",
            text="Tue 10:00",
            reply_to="wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwMg==",
        )
    ],
    "whatsapp_interactive_list_reply.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAz",
            1793000120,
            type=MessageType.CHOICE,
            choice_id="svc:haircut-30",
            text="Haircut (30 min)",
            reply_to="wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwMw==",
        )
    ],
    "whatsapp_template_button.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA0",
            1793003600,
            type=MessageType.CHOICE,
            choice_id="CONFIRM:apt-42",
            text="Confirm",
            reply_to="wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtVFBMLTAwMDE=",
        )
    ],
    "whatsapp_location.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA1",
            1793000180,
            type=MessageType.LOCATION,
            text="Example Salon (test), 1 Example Street, Testville",
            location=Location(
                latitude=40.7128,
                longitude=-74.006,
                name="Example Salon (test)",
                address="1 Example Street, Testville",
                url="https://maps.example.invalid/?q=example-salon",
            ),
        )
    ],
    "whatsapp_image.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA2",
            1793000240,
            type=MessageType.MEDIA,
            text="This is the style I want",
            media=MediaRef(
                kind="image",
                media_id="400000000000001",
                mime_type="image/jpeg",
                sha256="ZmFrZS1zaGEyNTYtZm9yLXRlc3RzLW9ubHktMDAwMDAwMDA=",
                caption="This is the style I want",
                url="https://lookaside.fbsbx.com/whatsapp_business/attachments/"
                "?mid=400000000000001&source=webhook&ext=1793000240&hash=FAKEHASH",
            ),
        )
    ],
    "whatsapp_status_delivered.json": [
        status(
            "RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNA==",
            1793000300,
            DeliveryStatus.DELIVERED,
            callback_data="apt-42:confirmation",
        )
    ],
    "whatsapp_status_failed.json": [
        status(
            "RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNQ==",
            1793090000,
            DeliveryStatus.FAILED,
            error_code=131047,
            error_title="Re-engagement message",
            callback_data="apt-42:reminder-24h",
        )
    ],
    "whatsapp_batch_two_messages.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA3",
            1793000400,
            ONE,
            type=MessageType.TEXT,
            text="Actually make it 11:00",
        ),
        message(
            "RkFLRToxNTU1MDAwMDAwMjpJTi0wMDAx",
            1793000401,
            TWO,
            type=MessageType.TEXT,
            text="Do you have anything on Friday?",
        ),
    ],
    "whatsapp_batch_mixed_status_and_message.json": [
        status("RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNg==", 1793000500, DeliveryStatus.READ),
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA4", 1793000501, type=MessageType.TEXT, text="Thanks, see you then"
        ),
    ],
    "whatsapp_unsupported.json": [
        message("RkFLRToxNTU1MDAwMDAwMTpJTi0wMDA5", 1793000600, type=MessageType.UNSUPPORTED, detail="poll")
    ],
    "whatsapp_reaction.json": [
        message(
            "RkFLRToxNTU1MDAwMDAwMTpJTi0wMDEw",
            1793000700,
            type=MessageType.REACTION,
            reaction_to="wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNA==",
            reaction_emoji="👍",
        )
    ],
    "whatsapp_text_username_no_phone.json": [
        message(
            "RkFLRTpVUy4xMDAwMDAwMDAwMDAwMDAwMDAzOklOLTAwMDE=",
            1793000800,
            THREE,
            type=MessageType.TEXT,
            text="Hello, I'd like to book",
        )
    ],
}

INBOUND_FIXTURES = sorted(p.name for p in FIXTURES.glob("whatsapp_*.json"))


# ---------------------------------------------------------------------------------------------- inbound


def test_every_inbound_fixture_has_expectations() -> None:
    """A new whatsapp_*.json fixture must come with expected items, or it tests nothing."""
    assert set(INBOUND_FIXTURES) == set(EXPECTED)


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_parses_to_exactly_the_expected_items(name: str) -> None:
    """Each realistic Meta payload becomes exactly these items, in order, with nothing dropped."""
    parsed = whatsapp.parse(load(name), directory())

    assert parsed.items == EXPECTED[name]
    assert not parsed.dropped


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_timestamps_are_utc(name: str) -> None:
    """Timestamps are aware UTC datetimes, so comparisons and storage never depend on the host's zone."""
    for item in whatsapp.parse(load(name), directory()).items:
        assert item.timestamp.tzinfo is not None
        assert item.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_items_survive_a_json_round_trip(name: str) -> None:
    """Items are stored as JSON in the inbox and rebuilt by the dispatcher: nothing may change on the way."""
    for item in whatsapp.parse(load(name), directory()).items:
        stored = json.loads(json.dumps(item.to_json(), allow_nan=False))
        assert type(item).from_json(stored) == item
        assert type(item).from_json(item.to_json()) == item


def test_text_fixture_time_is_the_documented_instant() -> None:
    """Pins the seconds-as-string reading against the README's worked value, not against our own helper."""
    (item,) = whatsapp.parse(load("whatsapp_text.json"), directory()).items
    assert item.timestamp == datetime(2026, 10, 26, 7, 33, 20, tzinfo=UTC)


def test_batch_matches_contacts_by_id_not_by_position() -> None:
    """With two customers in one change, each message gets its own sender even when contacts are reordered."""
    body = load("whatsapp_batch_two_messages.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"].reverse()

    items = whatsapp.parse(body, directory()).items

    assert [(i.sender, i.text) for i in items] == [
        (ONE, "Actually make it 11:00"),
        (TWO, "Do you have anything on Friday?"),
    ]


def test_username_user_has_no_phone_and_is_keyed_on_the_bsuid() -> None:
    """A 2026 username user has empty wa_id/from: we must key on the BSUID and reply to it."""
    (item,) = whatsapp.parse(load("whatsapp_text_username_no_phone.json"), directory()).items

    assert item.sender.phone is None
    assert item.sender.key == "US.1000000000000000003"
    assert whatsapp.recipient(item.sender) == "US.1000000000000000003"


def test_recipient_is_the_phone_without_plus_when_known() -> None:
    """Replies go to the wa_id Meta gave us (digits only), which may differ from a typed number."""
    assert whatsapp.recipient(ONE) == "15550000001"


def test_unknown_phone_number_id_is_dropped_as_unknown_channel() -> None:
    """A delivery for a number we do not serve must not be attributed to any tenant."""
    body = load("whatsapp_text.json")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"

    parsed = whatsapp.parse(body, directory())

    assert parsed.items == []
    assert parsed.dropped == {"unknown_channel": 1}


def test_missing_metadata_is_dropped_as_unknown_channel() -> None:
    """Without metadata we cannot route the change to a tenant, so it is dropped, not guessed."""
    body = load("whatsapp_text.json")
    del body["entry"][0]["changes"][0]["value"]["metadata"]

    parsed = whatsapp.parse(body, directory())

    assert parsed.items == []
    assert parsed.dropped == {"unknown_channel": 1}


def test_non_messages_field_is_dropped_and_does_not_sink_the_messages_change() -> None:
    """Other subscribed fields (template status, account updates) are counted, not parsed as messages."""
    body = load("whatsapp_text.json")
    changes = body["entry"][0]["changes"]
    changes.insert(0, {"field": "message_template_status_update", "value": {"event": "APPROVED"}})
    changes.append({"value": {}})

    parsed = whatsapp.parse(body, directory())

    assert parsed.items == EXPECTED["whatsapp_text.json"]
    assert parsed.dropped == {"field:message_template_status_update": 1, "field:missing": 1}


def _mutated(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(base)
    for key, value in change.items():
        if value is ...:
            item.pop(key, None)
        else:
            item[key] = value
    return item


VALID_TEXT = load("whatsapp_text.json")["entry"][0]["changes"][0]["value"]["messages"][0]
VALID_LOCATION = load("whatsapp_location.json")["entry"][0]["changes"][0]["value"]["messages"][0]

MALFORMED_MESSAGES = {
    "missing id": _mutated(VALID_TEXT, {"id": ...}),
    "empty id": _mutated(VALID_TEXT, {"id": ""}),
    "id is an object": _mutated(VALID_TEXT, {"id": {"x": 1}}),
    "timestamp abc": _mutated(VALID_TEXT, {"timestamp": "abc"}),
    "timestamp missing": _mutated(VALID_TEXT, {"timestamp": ...}),
    "timestamp nan": _mutated(VALID_TEXT, {"timestamp": "nan"}),
    "timestamp far future (OSError)": _mutated(VALID_TEXT, {"timestamp": "1e20"}),
    "timestamp overflow": _mutated(VALID_TEXT, {"timestamp": "1e300"}),
    "no sender": _mutated(VALID_TEXT, {"from": ..., "id": "wamid.nosender"}),
    "location without latitude": _mutated(
        VALID_LOCATION, {"location": {k: v for k, v in VALID_LOCATION["location"].items() if k != "latitude"}}
    ),
    "location latitude text": _mutated(VALID_LOCATION, {"location": {"latitude": "north", "longitude": 1}}),
    "location latitude nan": _mutated(VALID_LOCATION, {"location": {"latitude": "nan", "longitude": 1}}),
    "location longitude inf": _mutated(VALID_LOCATION, {"location": {"latitude": 1, "longitude": "inf"}}),
    "location not an object": _mutated(VALID_LOCATION, {"location": "here"}),
}


@pytest.mark.parametrize("bad", list(MALFORMED_MESSAGES.values()), ids=list(MALFORMED_MESSAGES))
def test_malformed_message_is_dropped_without_sinking_its_neighbours(bad: dict[str, Any]) -> None:
    """One broken item is counted and skipped; the valid items around it in the same delivery still arrive."""
    body = load("whatsapp_batch_two_messages.json")
    messages = body["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(1, bad)

    parsed = whatsapp.parse(body, directory())

    assert parsed.items == EXPECTED["whatsapp_batch_two_messages.json"]
    assert parsed.dropped == {"malformed_message": 1}


@pytest.mark.parametrize(
    "bad",
    [{"status": "read", "timestamp": "1793000500"}, {"id": "wamid.x", "status": "read", "timestamp": "abc"}],
    ids=["missing id", "timestamp abc"],
)
def test_malformed_status_is_dropped_without_sinking_its_neighbours(bad: dict[str, Any]) -> None:
    """A broken status is counted as malformed_status; the message in the other change still arrives."""
    body = load("whatsapp_batch_mixed_status_and_message.json")
    body["entry"][0]["changes"][0]["value"]["statuses"].insert(0, bad)

    parsed = whatsapp.parse(body, directory())

    assert parsed.items == EXPECTED["whatsapp_batch_mixed_status_and_message.json"]
    assert parsed.dropped == {"malformed_status": 1}


@pytest.mark.parametrize(
    "garbage",
    [
        {"messages": "not a list"},
        {"messages": {"0": VALID_TEXT}},
        {"messages": [None, 1, "x", []]},
        {"statuses": "nope"},
        {"contacts": "garbage", "messages": "also garbage"},
    ],
    ids=["messages string", "messages object", "message items not objects", "statuses string", "both"],
)
def test_structural_garbage_in_one_change_leaves_the_other_change_intact(garbage: dict[str, Any]) -> None:
    """Wrong JSON shapes never raise; the well-formed change in the same POST is still parsed."""
    body = load("whatsapp_batch_mixed_status_and_message.json")
    body["entry"][0]["changes"][0]["value"].update(garbage)

    parsed = whatsapp.parse(body, directory())

    assert parsed.items[-1] == EXPECTED["whatsapp_batch_mixed_status_and_message.json"][-1]


@pytest.mark.parametrize(
    "contacts",
    ["garbage", [1, None, "x", {"profile": "not an object", "wa_id": 5}], {"wa_id": "15550000001"}],
    ids=["string", "mixed junk items", "object instead of list"],
)
def test_garbage_contacts_fall_back_to_the_message_sender(contacts: Any) -> None:
    """Contacts are only a name lookup: when unusable, the sender still comes from `from`."""
    body = load("whatsapp_text.json")
    body["entry"][0]["changes"][0]["value"]["contacts"] = contacts

    parsed = whatsapp.parse(body, directory())

    (item,) = parsed.items
    assert item.sender == Sender(phone="+15550000001")
    assert item.text == "Hi, can I book a haircut for Tuesday morning?"


@pytest.mark.parametrize(
    "body", [{}, {"entry": "x"}, {"entry": [None, 1, {"changes": "x"}, {"changes": [None, 1, "x"]}]}]
)
def test_empty_or_shapeless_delivery_yields_nothing_and_does_not_raise(body: dict[str, Any]) -> None:
    """A signed but nonsensical body is acknowledged as empty, never a 500 that Meta would retry forever."""
    parsed = whatsapp.parse(body, directory())
    assert parsed.items == []


def test_huge_text_is_clipped_to_4096_characters_keeping_its_end() -> None:
    """Nobody types 100 kB; we store at most what a reply could show, so the inbox cannot be bloated. The
    end is kept as well as the start: a long message usually closes with what the client wants."""
    body = load("whatsapp_text.json")
    huge = "ab" * 51_200 + " massage on monday at 10?"
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = huge

    (item,) = whatsapp.parse(body, directory()).items

    assert len(item.text) <= 4096
    assert item.text.startswith("abab") and item.text.endswith(" massage on monday at 10?")
    assert "\n…\n" in item.text


def test_nul_characters_are_removed_from_text() -> None:
    """PostgreSQL text cannot hold NUL, so a NUL in a message must not make the whole delivery unstorable."""
    body = load("whatsapp_text.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "a\x00b"

    (item,) = whatsapp.parse(body, directory()).items

    assert item.text == "ab"


def test_message_provider_key_is_the_wamid() -> None:
    """Meta redelivers the same message; the wamid-based key is what makes the redelivery a duplicate."""
    (item,) = whatsapp.parse(load("whatsapp_text.json"), directory()).items
    assert whatsapp.provider_key(item) == "wa:msg:wamid.RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAx"


def test_status_provider_keys_distinguish_each_status_of_one_message() -> None:
    """sent, delivered and read of one wamid are three events, so their keys must not collide."""
    body = load("whatsapp_status_delivered.json")
    statuses = body["entry"][0]["changes"][0]["value"]["statuses"]
    statuses[:] = [dict(statuses[0], status=s) for s in ("sent", "delivered", "read")]

    keys = [whatsapp.provider_key(item) for item in whatsapp.parse(body, directory()).items]

    wamid = "wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNA=="
    assert keys == [f"wa:status:{wamid}:sent", f"wa:status:{wamid}:delivered", f"wa:status:{wamid}:read"]


def test_message_and_status_keys_never_collide() -> None:
    """A status about a wamid and a message with that wamid are different inbox rows."""
    (msg,) = whatsapp.parse(load("whatsapp_text.json"), directory()).items
    stat = status("RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAx", 1, DeliveryStatus.READ)
    assert msg.platform_id == stat.platform_id
    assert whatsapp.provider_key(msg) != whatsapp.provider_key(stat)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
TEXT_PATH_KEYS = [
    "id",
    "from",
    "timestamp",
    "type",
    "text",
    "context",
    "location",
    "image",
    "reaction",
    "button",
]


@FAST
@given(key=st.sampled_from(TEXT_PATH_KEYS), value=JSON_VALUES, fixture=st.sampled_from(INBOUND_FIXTURES))
def test_any_json_in_any_message_field_never_raises_and_stays_storable(
    key: str, value: Any, fixture: str
) -> None:
    """Whatever JSON value sits in a field, parse never raises and every item stays strict-JSON storable."""
    body = load(fixture)
    value_obj = body["entry"][0]["changes"][-1]["value"]
    for group in ("messages", "statuses"):
        for item in value_obj.get(group, []):
            item[key] = value

    parsed = whatsapp.parse(body, directory())

    for item in parsed.items:
        stored = json.loads(json.dumps(item.to_json(), allow_nan=False))
        assert type(item).from_json(stored) == item


# ---------------------------------------------------------------------------------------------- outbound


def assert_within_limits(body: dict[str, Any]) -> None:
    """Fail unless `body` is a request Meta accepts as far as sizes and counts go (PLATFORM.md §3)."""
    assert body["messaging_product"] == "whatsapp"
    if "status" in body:  # mark read / typing: no message content
        assert body["status"] == "read"
        return
    assert body["recipient_type"] == "individual"
    assert body["to"]
    assert len(body.get("biz_opaque_callback_data", "")) <= CALLBACK_MAX
    kind = body["type"]
    if kind == "text":
        assert 1 <= len(body["text"]["body"]) <= TEXT_MAX
        assert body["text"]["body"].strip()
    elif kind == "interactive":
        interactive = body["interactive"]
        assert 1 <= len(interactive["body"]["text"]) <= INTERACTIVE_BODY_MAX
        if "header" in interactive:
            assert interactive["header"]["type"] == "text"
            assert 1 <= len(interactive["header"]["text"]) <= HEADER_MAX
        if "footer" in interactive:
            assert 1 <= len(interactive["footer"]["text"]) <= FOOTER_MAX
        if interactive["type"] == "button":
            buttons = interactive["action"]["buttons"]
            assert 1 <= len(buttons) <= BUTTONS_MAX
            assert len({b["reply"]["id"] for b in buttons}) == len(buttons)
            for button in buttons:
                assert button["type"] == "reply"
                assert 1 <= len(button["reply"]["title"]) <= BUTTON_TITLE_MAX
                assert 1 <= len(button["reply"]["id"]) <= BUTTON_ID_MAX
        else:
            assert interactive["type"] == "list"
            action = interactive["action"]
            assert 1 <= len(action["button"]) <= LIST_BUTTON_MAX
            rows = [row for section in action["sections"] for row in section["rows"]]
            assert 1 <= len(rows) <= ROWS_MAX
            assert len({r["id"] for r in rows}) == len(rows)
            for row in rows:
                assert 1 <= len(row["title"]) <= ROW_TITLE_MAX
                assert 1 <= len(row["id"]) <= ROW_ID_MAX
                assert len(row.get("description", "")) <= ROW_DESCRIPTION_MAX
    else:
        assert kind == "template"


def options(*titles: str) -> tuple[Option, ...]:
    return tuple(Option(id=f"opt-{i}", title=title) for i, title in enumerate(titles))


def squash(text: str) -> str:
    """The text without any whitespace: splitting may move line breaks and spaces, never other characters."""
    return "".join(text.split())


def said(bodies: list[dict[str, Any]]) -> str:
    """Everything the client reads, in order: text bodies and interactive bodies."""
    parts = []
    for body in bodies:
        if body["type"] == "text":
            parts.append(body["text"]["body"])
        elif body["type"] == "interactive":
            parts.append(body["interactive"]["body"]["text"])
    return "\n".join(parts)


def test_text_reply_renders_like_the_fixture() -> None:
    """The plain text body uses exactly Meta's field names and shape, with quote and callback data."""
    expected = load("outbound_whatsapp_text.json")
    reply = Reply(
        text=expected["text"]["body"],
        reply_to="wamid.RkFLRToxNTU1MDAwMDAwMTpJTi0wMDAx",
        callback_data="apt-draft-42:offer-slots",
    )

    assert whatsapp.render(reply, "15550000001") == [expected]


def test_three_short_options_render_as_reply_buttons_like_the_fixture() -> None:
    """Up to three options with titles of at most 20 characters become reply buttons."""
    expected = load("outbound_whatsapp_buttons.json")
    reply = Reply(
        text=expected["interactive"]["body"]["text"],
        header="Your booking",
        footer="Reply STOP to opt out",
        options=(
            Option(id="CONFIRM:apt-42", title="Confirm"),
            Option(id="RESCHEDULE:apt-42", title="Reschedule"),
            Option(id="CANCEL:apt-42", title="Cancel"),
        ),
    )

    assert whatsapp.render(reply, "15550000001") == [expected]


def test_button_title_of_exactly_20_characters_still_renders_as_buttons() -> None:
    """The 20-character limit is inclusive; a boundary slip would needlessly demote to a list."""
    (body,) = whatsapp.render(Reply(text="Pick", options=options("x" * 20, "Two")), "1")
    assert body["interactive"]["type"] == "button"
    assert_within_limits(body)


@pytest.mark.parametrize("count", [4, 7, 10])
def test_four_to_ten_options_render_as_a_list(count: int) -> None:
    """More than three options do not fit in buttons, so they go into a single list with all rows."""
    reply = Reply(
        text="Pick a time", options=options(*(f"10:{i:02d}" for i in range(count))), options_label="Times"
    )

    (body,) = whatsapp.render(reply, "15550000001")

    assert_within_limits(body)
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Times"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [(r["id"], r["title"]) for r in rows] == [(f"opt-{i}", f"10:{i:02d}") for i in range(count)]


def test_list_matches_the_fixture_shape() -> None:
    """Same field names as Meta's documented list (one untitled section: titles are needed only when >1)."""
    fixture = load("outbound_whatsapp_list.json")
    fixture_rows = [r for section in fixture["interactive"]["action"]["sections"] for r in section["rows"]]
    reply = Reply(
        text=fixture["interactive"]["body"]["text"],
        header=fixture["interactive"]["header"]["text"],
        footer=fixture["interactive"]["footer"]["text"],
        options_label=fixture["interactive"]["action"]["button"],
        options=(
            *(Option(id=r["id"], title=r["title"], description=r["description"]) for r in fixture_rows),
            Option(id="slot:2026-11-04T10:00", title="10:00", description="Stylist: any"),
        ),
    )

    (body,) = whatsapp.render(reply, "15550000001")

    assert_within_limits(body)
    assert {k: v for k, v in body.items() if k != "interactive"} == {
        k: v for k, v in fixture.items() if k != "interactive"
    }
    got, want = body["interactive"], fixture["interactive"]
    assert {k: got[k] for k in ("type", "header", "body", "footer")} == {
        k: want[k] for k in ("type", "header", "body", "footer")
    }
    assert got["action"]["button"] == want["action"]["button"]
    assert got["action"]["sections"][0]["rows"][:3] == fixture_rows


def test_a_long_title_demotes_buttons_to_a_list_and_keeps_the_full_title() -> None:
    """A title over 20 characters cannot be a button; in the list it is cut to 24 but kept whole below."""
    long_title = "Deep tissue massage with hot stones"
    reply = Reply(text="Which one?", options=options("Haircut", long_title))

    (body,) = whatsapp.render(reply, "15550000001")

    assert_within_limits(body)
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert body["interactive"]["type"] == "list"
    assert rows[0] == {"id": "opt-0", "title": "Haircut"}
    assert len(rows[1]["title"]) <= ROW_TITLE_MAX
    assert rows[1]["title"].endswith("…")
    assert rows[1]["description"] == long_title


def test_a_21_to_24_character_title_is_a_list_row_uncut() -> None:
    """Between the button and row limits the title fits a row whole, so no description is needed."""
    title = "Physiotherapy session"  # 21 characters
    (body,) = whatsapp.render(Reply(text="Which?", options=options(title)), "1")
    assert body["interactive"]["action"]["sections"][0]["rows"] == [{"id": "opt-0", "title": title}]


def test_twelve_options_show_ten_rows_and_list_the_other_two_in_the_body() -> None:
    """A list holds ten rows; the rest must stay readable (and typeable) rather than silently vanish."""
    titles = [f"Service {i}" for i in range(1, 13)]
    reply = Reply(text="Our services:", options=options(*titles))

    (body,) = whatsapp.render(reply, "15550000001")

    assert_within_limits(body)
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == titles[:10]
    assert body["interactive"]["body"]["text"] == "Our services:\n\n• Service 11\n• Service 12"


def test_options_beyond_ten_are_not_lost_when_the_body_is_already_long() -> None:
    """Regression: with a ~1000-character body the overflow titles used to be cut off by the 1024 limit."""
    titles = [f"Treatment number {i}" for i in range(1, 16)]
    text = "Please choose. " * 66  # 990 characters
    reply = Reply(text=text, options=options(*titles))

    bodies = whatsapp.render(reply, "15550000001")

    for body in bodies:
        assert_within_limits(body)
    assert bodies[-1]["type"] == "interactive"
    everything = squash(said(bodies))
    assert everything.startswith(squash(text))
    for title in titles[10:]:
        assert squash(f"• {title}") in everything


def test_long_body_with_options_sends_leading_text_then_the_interactive() -> None:
    """The interactive body holds 1024 characters; the rest goes first as text, quoting only once."""
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 8 for i in range(12)]
    text = "\n\n".join(paragraphs)
    assert len(text) > INTERACTIVE_BODY_MAX
    reply = Reply(text=text, options=options("Yes", "No"), reply_to="wamid.IN")

    bodies = whatsapp.render(reply, "15550000001")

    assert len(bodies) >= 2
    assert [b["type"] for b in bodies] == ["text"] * (len(bodies) - 1) + ["interactive"]
    for body in bodies:
        assert_within_limits(body)
    assert squash(said(bodies)) == squash(text)
    assert bodies[0]["context"] == {"message_id": "wamid.IN"}
    assert all("context" not in b for b in bodies[1:])


def test_text_over_4096_is_split_into_several_messages_without_loss() -> None:
    """A long answer is sent as several texts, each within 4096, with every character kept in order."""
    text = "\n\n".join(f"Line {i} " + "word " * 40 for i in range(60))
    assert len(text) > 2 * TEXT_MAX

    bodies = whatsapp.render(Reply(text=text, callback_data="cb"), "15550000001")

    assert len(bodies) >= 3
    assert all(b["type"] == "text" for b in bodies)
    for body in bodies:
        assert_within_limits(body)
    assert squash("".join(b["text"]["body"] for b in bodies)) == squash(text)
    assert [b.get("biz_opaque_callback_data") for b in bodies] == [None] * (len(bodies) - 1) + ["cb"]


def test_text_without_any_break_is_hard_split() -> None:
    """Even one 10 000-character word must be cut into sendable pieces rather than rejected by Meta."""
    text = "x" * 10_000
    bodies = whatsapp.render(Reply(text=text), "1")
    assert [len(b["text"]["body"]) for b in bodies] == [4096, 4096, 1808]


def test_header_and_footer_are_cut_to_60_characters() -> None:
    """Header and footer above 60 characters would make Meta refuse the whole message."""
    reply = Reply(text="Body", options=options("A", "B"), header="H" * 80, footer="word " * 30)

    (body,) = whatsapp.render(reply, "1")

    assert_within_limits(body)
    assert len(body["interactive"]["header"]["text"]) == HEADER_MAX
    assert len(body["interactive"]["footer"]["text"]) <= FOOTER_MAX
    assert body["interactive"]["footer"]["text"].endswith("…")


def test_blank_header_footer_and_label_are_left_out_or_defaulted() -> None:
    """Regression: whitespace-only header/footer/list label used to render as empty strings Meta refuses."""
    reply = Reply(text="Body", options=options(*"ABCDE"), header="  ", footer="\n", options_label=" ")

    (body,) = whatsapp.render(reply, "1")

    assert_within_limits(body)
    assert "header" not in body["interactive"]
    assert "footer" not in body["interactive"]
    assert body["interactive"]["action"]["button"] == "Options"


def test_blank_text_with_options_still_has_a_body() -> None:
    """Interactive messages require a body; an empty one gets a placeholder instead of a rejected send."""
    (body,) = whatsapp.render(Reply(text=" \n ", options=options("A")), "1")
    assert_within_limits(body)
    assert body["interactive"]["body"]["text"] == "…"


def test_template_reply_renders_like_the_fixture() -> None:
    """Reminders outside the window: body params, quick-reply payloads by index string, callback data."""
    expected = load("outbound_whatsapp_template.json")
    reply = Reply(
        text="",
        template=TemplateRef(
            name="appointment_reminder_v1",
            language="en_US",
            body_params=("Test Customer One", "Haircut", "Tue 3 Nov, 10:00"),
            button_payloads=("CONFIRM:apt-42", "RESCHEDULE:apt-42", "CANCEL:apt-42"),
        ),
        callback_data="apt-42:reminder-24h",
    )

    assert whatsapp.render(reply, "15550000001") == [expected]


def test_template_without_parameters_has_no_components() -> None:
    """A fixed-text template must not send an empty components list."""
    (body,) = whatsapp.render(Reply(text="", template=TemplateRef(name="hello", language="en")), "1")
    assert body["template"] == {"name": "hello", "language": {"code": "en"}}


def test_typing_renders_like_the_fixture() -> None:
    """Typing is a mark-read with an indicator, sent to the messages endpoint without a recipient."""
    expected = load("outbound_whatsapp_mark_read_typing.json")
    reply = Reply(text="", kind="typing", reply_to=expected["message_id"])

    assert whatsapp.render(reply, "15550000001") == [expected]


def test_mark_read_renders_like_the_fixture_without_the_indicator() -> None:
    """A plain mark-read is the same body minus typing_indicator."""
    expected = load("outbound_whatsapp_mark_read_typing.json")
    del expected["typing_indicator"]
    reply = Reply(text="", kind="mark_read", reply_to=expected["message_id"], callback_data="ignored")

    assert whatsapp.render(reply, "15550000001") == [expected]


def test_callback_data_is_cut_to_512() -> None:
    """Meta refuses biz_opaque_callback_data above 512 characters."""
    (body,) = whatsapp.render(Reply(text="hi", callback_data="c" * 600), "1")
    assert body["biz_opaque_callback_data"] == "c" * 512


def test_sent_message_id_reads_the_send_response() -> None:
    """The wamid from the send response is what later status webhooks refer to."""
    assert whatsapp.sent_message_id(load("response_whatsapp_send.json")) == (
        "wamid.RkFLRToxNTU1MDAwMDAwMTpPVVQtMDAwNw=="
    )


@pytest.mark.parametrize(
    "response", [{}, {"messages": []}, {"messages": "x"}, {"messages": [1]}, {"success": True}]
)
def test_sent_message_id_is_none_for_odd_responses(response: dict[str, Any]) -> None:
    """A surprising 200 body must not crash the sender; it just has no id to record."""
    assert whatsapp.sent_message_id(response) is None


def test_endpoint_is_the_phone_number_messages_edge() -> None:
    """Sends go to /<version>/<phone_number_id>/messages, as the fixtures README documents."""
    url = whatsapp.endpoint("https://graph.facebook.com", "v26.0", CHANNEL)
    assert url == "https://graph.facebook.com/v26.0/100000000000002/messages"


# Random unicode without surrogates (unencodable) but with all kinds of whitespace, emoji and combining marks.
CHARS = st.characters(exclude_categories=("Cs",))
SHORT = st.text(CHARS, max_size=120)
LONG = st.builds(lambda unit, n: unit * n, st.text(CHARS, min_size=1, max_size=60), st.integers(0, 250))
WORDY = st.builds(
    lambda words, n: (" ".join(words) + "\n") * n,
    st.lists(st.text(CHARS, max_size=12), max_size=30),
    st.integers(0, 60),
)
TITLE = st.text(CHARS, min_size=1, max_size=90).filter(lambda t: t.strip())
MAYBE = st.none() | st.text(CHARS, max_size=90)


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    titles = draw(st.lists(TITLE, min_size=0, max_size=15))
    text = draw(st.one_of(SHORT, LONG, WORDY))
    if not titles:
        text = draw(TITLE) + text  # a reply without options must say something
    return Reply(
        text=text,
        options=tuple(
            Option(id=f"opt-{i}", title=t, description=draw(st.none() | st.text(CHARS, max_size=100)))
            for i, t in enumerate(titles)
        ),
        options_label=draw(MAYBE),
        header=draw(MAYBE),
        footer=draw(MAYBE),
        callback_data=draw(st.none() | st.text(CHARS, max_size=600)),
        reply_to=draw(st.none() | st.just("wamid.IN")),
    )


@FAST
@given(reply=replies())
def test_every_rendered_body_is_within_meta_limits(reply: Reply) -> None:
    """Whatever a flow says, every request we build fits Meta's limits, so none is refused for size."""
    bodies = whatsapp.render(reply, "15550000001")

    assert bodies
    for body in bodies:
        assert_within_limits(body)
    assert [b["type"] for b in bodies[:-1]] == ["text"] * (len(bodies) - 1)
    assert sum("context" in b for b in bodies) == (1 if reply.reply_to else 0)


@FAST
@given(reply=replies())
def test_rendering_loses_no_text_and_no_option(reply: Reply) -> None:
    """Splitting and list overflow may move whitespace, but every character and option reaches the client."""
    bodies = whatsapp.render(reply, "15550000001")

    everything = squash(said(bodies))
    assert everything.startswith(squash(reply.text))
    if not reply.options:
        assert everything == squash(reply.text)
        return
    interactive = bodies[-1]["interactive"]
    if interactive["type"] == "button":
        shown = [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    else:
        shown = [r["id"] for s in interactive["action"]["sections"] for r in s["rows"]]
    assert shown == [o.id for o in reply.options[: len(shown)]]
    for option in reply.options[len(shown) :]:
        assert squash(option.title) in everything
