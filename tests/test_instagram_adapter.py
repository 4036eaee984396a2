"""The Instagram adapter on its own: IG webhook JSON in, Send API bodies out, readable on every IG client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import BY_KIND, BY_OBJECT, instagram
from bot.channels.directory import ChannelDirectory, ChannelInfo
from flows.messages import (
    ChannelKind,
    DeliveryStatus,
    EchoMessage,
    InboundMessage,
    MediaRef,
    MessageType,
    Option,
    Reply,
    Sender,
    StatusUpdate,
    TemplateRef,
)
from tests.support.page_payloads import (
    IG_ACCOUNT_ID,
    IGSID,
    JSON_VALUES,
    instagram_attachment,
    instagram_echo,
    instagram_event,
    instagram_message,
    instagram_postback,
    instagram_quick_reply,
    instagram_reaction,
    instagram_seen,
    instagram_story_reply,
    instagram_text,
    page_bodies,
)
from tests.support.payloads import FIXTURES, fixture_json

CHANNEL = ChannelInfo(
    id=21, business_id="harbour-clinic", kind=ChannelKind.INSTAGRAM, external_id=IG_ACCOUNT_ID
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLIENT = Sender(user_id=IGSID)
T = 1793000000021

# Instagram's limits (PLATFORM.md §7.3; the 1000-character text limit is not re-verified, §13).
TEXT_MAX = 1000
QUICK_REPLIES_MAX = 13
TITLE_MAX = 20

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def directory() -> ChannelDirectory:
    return ChannelDirectory([CHANNEL])


def parse(body: dict[str, Any]) -> list[Any]:
    parsed = instagram.parse(body, directory())
    assert not parsed.dropped, parsed.dropped
    return parsed.items


def at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def message(mid: str, ms: int, **fields: Any) -> InboundMessage:
    return InboundMessage(
        channel=ChannelKind.INSTAGRAM,
        channel_id=21,
        business_id="harbour-clinic",
        platform_id=mid,
        sender=CLIENT,
        timestamp=at(ms),
        **fields,
    )


MID = "aWdfZmFrZV9pdGVtOjE6SUdNZXNzYWdlSUQ6MTc4NDE0MDAwMDAwMDAwMDE6MDAw"
EXPECTED: dict[str, list[InboundMessage | StatusUpdate | EchoMessage]] = {
    "instagram_text.json": [
        message(f"{MID}MQ==", 1793000000021, type=MessageType.TEXT, text="Hey! Are you open on Saturday?")
    ],
    "instagram_quick_reply.json": [
        message(
            f"{MID}Mg==",
            1793000060021,
            type=MessageType.CHOICE,
            choice_id="SLOT|2026-11-07T14:00|apt-draft-88",
            text="Sat 14:00",
        )
    ],
    "instagram_postback.json": [
        message(
            f"{MID}NA==",
            1793000062021,
            type=MessageType.CHOICE,
            choice_id="CANCEL|apt-88",
            text="Cancel booking",
        )
    ],
    "instagram_echo.json": [
        EchoMessage(
            channel=ChannelKind.INSTAGRAM,
            channel_id=21,
            business_id="harbour-clinic",
            platform_id=f"{MID}Mw==",
            recipient=CLIENT,
            timestamp=at(1793000061021),
            text="Great, Sat 7 Nov at 14:00 is reserved for you.",
        )
    ],
}

INBOUND_FIXTURES = sorted(p.name for p in FIXTURES.glob("instagram_*.json"))


# ---------------------------------------------------------------------------------------------- inbound


def test_every_inbound_fixture_has_expectations() -> None:
    """A new instagram_*.json fixture must come with expected items, or it tests nothing."""
    assert set(INBOUND_FIXTURES) == set(EXPECTED)


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_parses_to_exactly_the_expected_items(name: str) -> None:
    """Each realistic Meta payload becomes exactly these items, with nothing dropped."""
    assert parse(fixture_json(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", INBOUND_FIXTURES)
def test_fixture_items_survive_a_json_round_trip(name: str) -> None:
    """Items are stored as JSON and rebuilt by the dispatcher: nothing may change on the way."""
    for item in parse(fixture_json(name)):
        assert type(item).from_json(json.loads(json.dumps(item.to_json(), allow_nan=False))) == item


def test_instagram_is_registered_by_object_and_kind() -> None:
    """The webhook finds the adapter by `object`, the sender by channel kind."""
    assert BY_OBJECT["instagram"] is instagram
    assert BY_KIND[ChannelKind.INSTAGRAM] is instagram


def test_echo_has_no_app_id_and_is_never_a_client_message() -> None:
    """IG echoes carry no app_id: the pipeline must recognise its own by mid, never answer them."""
    (item,) = parse(instagram_echo("Booked!", mid="ig_E"))
    assert isinstance(item, EchoMessage)
    assert (item.app_id, item.recipient, item.platform_id) == (None, CLIENT, "ig_E")
    assert instagram.provider_key(item) == "ig:echo:ig_E"


def test_builders_match_the_fixtures() -> None:
    """The builders make what Meta sends, so builder-based tests mean what fixture-based ones do."""
    (built,) = parse(
        instagram_quick_reply("SLOT|2026-11-07T14:00|apt-draft-88", "Sat 14:00", mid="x", timestamp=T)
    )
    (fixture,) = parse(fixture_json("instagram_quick_reply"))
    assert (built.type, built.choice_id, built.text) == (fixture.type, fixture.choice_id, fixture.text)
    (tap,) = parse(instagram_postback("CANCEL|apt-88", "Cancel booking", mid="y"))
    assert (tap.type, tap.choice_id, tap.text) == (MessageType.CHOICE, "CANCEL|apt-88", "Cancel booking")


def test_seen_names_the_message() -> None:
    """Instagram's messaging_seen names one mid (no watermark, no deliveries on IG)."""
    (item,) = parse(instagram_seen("ig_OUT", timestamp=T))
    assert item == StatusUpdate(
        channel=ChannelKind.INSTAGRAM,
        channel_id=21,
        business_id="harbour-clinic",
        platform_id="ig_OUT",
        status=DeliveryStatus.READ,
        timestamp=at(T),
    )
    assert instagram.provider_key(item) == "ig:status:ig_OUT:read"


def test_seen_with_only_a_watermark_is_a_watermark() -> None:
    """Should IG ever send Messenger's shape, it is read the Messenger way rather than dropped."""
    (item,) = parse(instagram_event({"read": {"watermark": T - 1}}, timestamp=T))
    assert (item.watermark, item.recipient, item.platform_id) == (True, IGSID, "")
    assert instagram.provider_key(item) == f"ig:watermark:21:{IGSID}:read:{T - 1}"


def test_reaction_and_its_removal() -> None:
    """Reactions on IG look like Messenger's: react with an emoji, unreact without."""
    (react,) = parse(instagram_reaction("ig_OUT", "❤️", timestamp=T))
    (unreact,) = parse(instagram_reaction("ig_OUT", action="unreact", timestamp=T + 1))
    assert (react.reaction_to, react.reaction_emoji) == ("ig_OUT", "❤️")
    assert (unreact.reaction_to, unreact.reaction_emoji) == ("ig_OUT", None)


def test_story_reply_keeps_the_story_as_a_reference() -> None:
    """A reply to our story: the text plus which story, as a link staff can open."""
    (item,) = parse(
        instagram_story_reply("Is this still on?", "1790", "https://cdn.invalid/s.mp4", mid="ig_S")
    )
    assert (item.type, item.text, item.detail) == (MessageType.MEDIA, "Is this still on?", "story_reply")
    assert item.media == MediaRef(kind="story", media_id="1790", url="https://cdn.invalid/s.mp4")


@pytest.mark.parametrize(
    ("kind", "payload", "media"),
    [
        ("share", {"url": "https://ig.invalid/p/1"}, MediaRef(kind="share", url="https://ig.invalid/p/1")),
        (
            "story_mention",
            {"url": "https://cdn.invalid/m.jpg"},
            MediaRef(kind="story_mention", url="https://cdn.invalid/m.jpg"),
        ),
        (
            "ig_reel",
            {"url": "https://cdn.invalid/r.mp4", "title": "Spa day", "reel_video_id": "7"},
            MediaRef(kind="ig_reel", media_id="7", caption="Spa day", url="https://cdn.invalid/r.mp4"),
        ),
        (
            "reel",
            {"url": "https://cdn.invalid/r2.mp4"},
            MediaRef(kind="reel", url="https://cdn.invalid/r2.mp4"),
        ),
    ],
    ids=["share", "story_mention", "ig_reel", "reel"],
)
def test_shared_content_is_a_reference_named_in_detail(
    kind: str, payload: dict[str, Any], media: MediaRef
) -> None:
    """Shares, mentions and reels are stored as links with what they are; nothing is downloaded."""
    (item,) = parse(instagram_attachment(kind, payload, mid="ig_A", timestamp=T))
    assert item == message("ig_A", T, type=MessageType.MEDIA, media=media, detail=kind)


def test_image_is_plain_media() -> None:
    """A photo (stickers included on IG) is media with its link and no detail."""
    (item,) = parse(instagram_attachment("image", {"url": "https://cdn.invalid/i.jpg"}))
    assert (item.media, item.detail) == (MediaRef(kind="image", url="https://cdn.invalid/i.jpg"), None)


@pytest.mark.parametrize(
    ("content", "kind", "detail"),
    [
        ({"is_deleted": True}, MessageType.SYSTEM, "deleted"),
        ({"is_unsupported": True}, MessageType.UNSUPPORTED, "unsupported"),
    ],
    ids=["deleted", "unsupported"],
)
def test_deleted_and_unsupported(content: dict[str, Any], kind: MessageType, detail: str) -> None:
    """An unsent message and something IG cannot show us are recorded as such, never as text."""
    (item,) = parse(instagram_message(content, mid="ig_D"))
    assert (item.type, item.detail) == (kind, detail)


def test_referral_on_a_message_from_an_ad() -> None:
    """An ig.me link or ad: the message keeps its text and notes where the client came from."""
    (item,) = parse(instagram_message({"text": "Hi", "referral": {"ref": "spring", "source": "ADS"}}))
    assert (item.text, item.detail) == ("Hi", "referral:ADS")


def test_unknown_account_is_dropped_as_unknown_channel() -> None:
    """A delivery for an account we do not serve must not be attributed to any tenant."""
    parsed = instagram.parse(instagram_text("hi", account_id="17841400000009999"), directory())
    assert (parsed.items, parsed.dropped) == ([], {"unknown_channel": 1})


def test_comments_are_counted_not_parsed() -> None:
    """Comment webhooks come as `changes`: counted by field, never read as DMs."""
    body = {"object": "instagram", "entry": [{"id": IG_ACCOUNT_ID, "changes": [{"field": "comments"}]}]}
    parsed = instagram.parse(body, directory())
    assert (parsed.items, parsed.dropped) == ([], {"field:comments": 1})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.update(sender={"id": "9" * 10_000}),
        lambda e: e.update(sender=[IGSID]),
        lambda e: e["message"].update(mid="m" * 10_000),
        lambda e: e["message"].update(reply_to={"story": {"id": "s" * 10_000}}),
        lambda e: e.update(timestamp="yesterday"),
        lambda e: e.update(message="hi"),
    ],
    ids=["sender 10k", "sender list", "mid 10k", "story id 10k", "timestamp text", "message string"],
)
def test_garbage_event_is_dropped_and_its_neighbour_kept(mutate: Any) -> None:
    """One broken event is counted; the good one in the same entry still arrives."""
    body = fixture_json("instagram_text")
    good = body["entry"][0]["messaging"][0]
    bad = json.loads(json.dumps(good))
    bad["message"]["reply_to"] = {"mid": "ig_Q"}
    mutate(bad)
    body["entry"][0]["messaging"].insert(0, bad)

    parsed = instagram.parse(body, directory())

    assert parsed.items == EXPECTED["instagram_text.json"]
    assert sum(parsed.dropped.values()) == 1


def test_huge_text_is_clipped() -> None:
    """Texts are bounded before they reach the inbox."""
    (item,) = parse(instagram_text("z" * 50_000 + "!"))
    assert item.text is not None and len(item.text) <= 4096 and item.text.endswith("z!")


@FAST
@given(body=page_bodies("instagram", IG_ACCOUNT_ID))
def test_parse_never_raises_on_any_event_shape(body: dict[str, Any]) -> None:
    """Whatever arrives, parse returns, and every item it yields is storable and keyable."""
    for item in instagram.parse(body, directory()).items:
        assert type(item).from_json(json.loads(json.dumps(item.to_json(), allow_nan=False))) == item
        assert len(instagram.provider_key(item)) <= 300
        assert len(item.platform_id) <= 200


@FAST
@given(body=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
def test_parse_never_raises_on_arbitrary_json(body: dict[str, Any]) -> None:
    """Completely arbitrary JSON objects are read as nothing, never as an exception."""
    instagram.parse(body, directory())
    instagram.parse({"object": "instagram", "entry": [body]}, directory())


# ---------------------------------------------------------------------------------------------- outbound


def assert_within_limits(body: dict[str, Any]) -> None:
    """Fail unless `body` is a request Instagram accepts as far as shapes, sizes and counts go."""
    assert body["recipient"]["id"]
    if "sender_action" in body:
        assert set(body) == {"recipient", "sender_action"}
        return
    message = body["message"]
    assert set(message) <= {"text", "quick_replies"}  # no templates, no metadata on IG
    assert 1 <= len(message["text"]) <= TEXT_MAX
    assert message["text"].strip()
    for quick in message.get("quick_replies", []):
        assert quick["content_type"] == "text"
        assert 1 <= len(quick["title"]) <= TITLE_MAX
        assert quick["payload"]
    assert len(message.get("quick_replies", [])) <= QUICK_REPLIES_MAX


def options(*titles: str) -> tuple[Option, ...]:
    return tuple(Option(id=f"opt-{i}", title=title) for i, title in enumerate(titles))


def squash(text: str) -> str:
    return "".join(text.split())


def test_options_are_quick_replies_and_a_numbered_list_in_the_text() -> None:
    """IG on the web shows no quick replies: the choices are always readable in the text as well."""
    reply = Reply(text="Which treatment?", options=options("Massage", "Physiotherapy"), callback_data="cb")

    assert instagram.render(reply, IGSID) == [
        {
            "recipient": {"id": IGSID},
            "messaging_type": "RESPONSE",
            "message": {
                "text": "Which treatment?\n\n1. Massage\n2. Physiotherapy",
                "quick_replies": [
                    {"content_type": "text", "title": "Massage", "payload": "opt-0"},
                    {"content_type": "text", "title": "Physiotherapy", "payload": "opt-1"},
                ],
            },
        }
    ]


def test_plain_text_is_just_text() -> None:
    """No options: one text body, as on Messenger (without metadata)."""
    assert instagram.render(Reply(text="See you!", callback_data="cb"), IGSID) == [
        {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE", "message": {"text": "See you!"}}
    ]


def test_fifteen_options_give_thirteen_quick_replies_and_all_fifteen_in_the_text() -> None:
    """Quick replies stop at 13; the numbered list never does."""
    titles = [f"Treatment with a long name {i}" for i in range(1, 16)]

    bodies = instagram.render(Reply(text="Pick one:", options=options(*titles)), IGSID)

    for body in bodies:
        assert_within_limits(body)
    quick = bodies[-1]["message"]["quick_replies"]
    assert [q["payload"] for q in quick] == [f"opt-{i}" for i in range(13)]
    text = "\n".join(b["message"]["text"] for b in bodies)
    for i, title in enumerate(titles, 1):
        assert f"{i}. {title}" in text


def test_text_over_1000_is_split_with_the_options_last() -> None:
    """Instagram's 1000-character limit: the head goes first, the list and quick replies last."""
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor " * 10 for i in range(10))

    bodies = instagram.render(Reply(text=text, options=options("Yes", "No")), IGSID)

    assert len(bodies) >= 2
    for body in bodies:
        assert_within_limits(body)
    assert ["quick_replies" in b["message"] for b in bodies] == [False] * (len(bodies) - 1) + [True]
    assert squash("".join(b["message"]["text"] for b in bodies)) == squash(f"{text}1. Yes2. No")


def test_sender_actions() -> None:
    """Instagram supports mark_seen and typing_on, sent alone."""
    assert instagram.render(Reply(text="", kind="mark_read"), IGSID) == [
        {"recipient": {"id": IGSID}, "sender_action": "mark_seen"}
    ]
    assert instagram.render(Reply(text="", kind="typing"), IGSID) == [
        {"recipient": {"id": IGSID}, "sender_action": "typing_on"}
    ]


def test_human_agent_tag() -> None:
    """HUMAN_AGENT is the one tag Instagram documents (7 days, a person answering)."""
    (body,) = instagram.render(Reply(text="Sam here, following up."), IGSID, tag="HUMAN_AGENT")
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_template_reply_says_its_text_or_refuses() -> None:
    """A WhatsApp template means nothing on Instagram."""
    template = TemplateRef(name="appointment_reminder_v1", language="en_US")
    (body,) = instagram.render(Reply(text="Tomorrow 10:00", template=template), IGSID)
    assert body["message"] == {"text": "Tomorrow 10:00"}
    with pytest.raises(ValueError):
        instagram.render(Reply(text="", template=template), IGSID)


def test_send_helpers() -> None:
    """Same Send API edge and response as Messenger, addressed to the IGSID."""
    assert instagram.endpoint("https://graph.facebook.com", "v26.0", CHANNEL) == (
        "https://graph.facebook.com/v26.0/17841400000000001/messages"
    )
    assert instagram.recipient(CLIENT) == IGSID
    assert instagram.sent_message_id({"recipient_id": IGSID, "message_id": "ig_M"}) == "ig_M"
    assert instagram.sent_message_id({"error": 1}) is None


CHARS = st.characters(exclude_categories=("Cs",))
TITLE = st.text(CHARS, min_size=1, max_size=60).filter(lambda t: t.strip())


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    titles = draw(st.lists(TITLE, max_size=16))
    text = draw(
        st.text(CHARS, max_size=120)
        | st.builds(lambda u, n: u * n, st.text(CHARS, min_size=1), st.integers(0, 80))
    )
    if not titles:
        text = draw(TITLE) + text
    return Reply(text=text, options=tuple(Option(id=f"opt-{i}", title=t) for i, t in enumerate(titles)))


@FAST
@given(reply=replies())
def test_every_rendered_body_is_within_limits_and_every_option_is_in_the_text(reply: Reply) -> None:
    """Whatever a flow says: every body fits, every character is sent, every option is readable."""
    bodies = instagram.render(reply, IGSID)

    for body in bodies:
        assert_within_limits(body)
    everything = squash("".join(b["message"]["text"] for b in bodies))
    assert everything.startswith(squash(reply.text))
    for i, option in enumerate(reply.options, 1):
        assert squash(f"{i}. {option.title}") in everything
    if reply.options:
        quick = bodies[-1]["message"]["quick_replies"]
        assert [q["payload"] for q in quick] == [o.id for o in reply.options[:QUICK_REPLIES_MAX]]
