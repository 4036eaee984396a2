"""Retention (issue 18): per business, messages and raw Meta deliveries past the business's age are removed
by the hourly job `jola serve` runs, or by `jola purge` (--dry-run says what would go); what is still
needed (recent messages, a reply not yet sent, a delivery not yet handled, the conversation's state, the
appointments) stays, and the staff app's pages still read well afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from bot import keys
from bot.config import ConfigError, parse_config, validate_business
from bot.retention import RetentionWorker, purge_business
from storage.db import Database
from storage.models import Conversation, InboundEvent, Message, Outbox, PrivacyEvent
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient, make_config, start_jola
from tests.support.clinic import WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import whatsapp_message
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

CLINIC, SALON = "harbour-clinic", "seaside-salon"
SALON_NUMBER = "100000000000009"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Copenhagen
EVENTS = InboundEvent.__table__


async def two_businesses(
    database: DatabaseTarget, graph: FakeGraph, clock: SettableClock, **clinic: Any
) -> Jola:
    """The clinic and a salon with a WhatsApp number of its own, on a clock the test moves."""
    config = make_config(database, graph.url, business={"hours": WEEKDAYS, **clinic})
    data = config.model_dump()
    salon = {**data["businesses"][0], "id": SALON, "name": "Seaside Salon", "api_token": "salon-token"}
    salon["channels"] = [{"kind": "whatsapp", "phone_number_id": SALON_NUMBER, "access_token": "t"}]
    salon["retention"] = {"messages": "365d", "inbound_events": "3d"}
    data["businesses"].append(salon)
    return await start_jola(parse_config(data, environ={}), graph, clock=clock)


async def salon_client_says(jola: Jola, text: str) -> None:
    now = int(jola.app[keys.CLOCK].now().timestamp())
    body = whatsapp_message(
        {"type": "text", "text": {"body": text}},
        wa_id="15550000077",
        user_id=None,
        timestamp=now,
        phone_number_id=SALON_NUMBER,
    )
    await jola.deliver(body)
    await jola.settle()


async def messages_of(db: Database, business: str) -> list[tuple[str, datetime]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Message.text, Message.created_at)
            .where(Message.business_id == business)
            .order_by(Message.id)
        )
        return [(row[0] or "", row[1]) for row in rows]


async def events_of(db: Database, business: str) -> list[Any]:
    async with db.inbox.read() as session:
        rows = await session.execute(
            select(EVENTS.c.provider_key, EVENTS.c.state, EVENTS.c.conversation_key, EVENTS.c.payload)
            .where(EVENTS.c.business_id == business)
            .order_by(EVENTS.c.id)
        )
        return list(rows)


async def the_conversation(jola: Jola, business: str = CLINIC) -> Conversation:
    async with jola.db.read() as session:
        return (await session.scalars(select(Conversation).where(Conversation.business_id == business))).one()


async def a_reply_not_yet_sent(jola: Jola, text: str, now: datetime) -> None:
    """A staff reply written at `now` and still waiting in the outbox (its next try far ahead), as after a
    long outage. Made last: the conversation's later replies would wait behind it."""
    conversation = await the_conversation(jola)
    async with jola.db.write() as session:
        message = Message(
            business_id=CLINIC,
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction="out",
            author="staff",
            type="text",
            text=text,
            status="pending",
            created_at=now,
        )
        session.add(message)
        await session.flush()
        session.add(
            Outbox(
                business_id=CLINIC,
                conversation_id=conversation.id,
                channel_id=conversation.channel_id,
                message_id=message.id,
                recipient="15550000001",
                payload={"text": text},
                state="pending",
                attempts=3,
                next_attempt_at=now + timedelta(days=1000),
                created_at=now,
            )
        )


async def deliveries_not_yet_handled(jola: Jola, now: datetime) -> None:
    """Received at `now`: a delivery waiting for its turn (deferred far ahead) and one the dispatcher gave
    up on. Made last, like the reply above."""
    conversation = await the_conversation(jola)
    row = {
        "business_id": CLINIC,
        "channel_id": conversation.channel_id,
        "conversation_key": conversation.key,
        "kind": "message",
        "attempts": 1,
        "received_at": now,
    }
    async with jola.db.inbox.write() as session:
        await session.execute(
            insert(EVENTS),
            [
                {**row, "provider_key": "wa:msg:waiting", "payload": {"said": "still waiting"}}
                | {"state": "pending", "available_at": now + timedelta(days=1000)},
                {**row, "provider_key": "wa:msg:gave-up", "payload": {"said": "gave up"}, "state": "failed"}
                | {"available_at": None},
            ],
        )


async def test_old_messages_and_deliveries_go_while_what_is_still_needed_stays(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock)
    try:
        anna = WhatsAppClient(jola, name="Anna Jensen")
        await anna.says("hi")
        await anna.says("massage")  # the bot asks when: the booking is open
        await salon_client_says(jola, "hello salon")
        handled_then = {key for key, *_ in await events_of(jola.db, CLINIC)}
        clock.advance(days=400)
        await anna.says("hi again")
        await a_reply_not_yet_sent(jola, "Sorry for the wait, Anna", NOW)
        await deliveries_not_yet_handled(jola, NOW)
        before = await the_conversation(jola)

        worker = jola.app[keys.PIPELINE].retention
        [clinic_outcome, salon_outcome] = await worker.purge(clock.now())

        kept = await messages_of(jola.db, CLINIC)
        year_ago = clock.now() - timedelta(days=365)
        assert [text for text, at in kept if at < year_ago] == ["Sorry for the wait, Anna"]  # not sent yet
        assert kept[0][0] == "hi again" and len(kept) >= 3
        assert clinic_outcome.counts["messages"] == 4  # hi, its answer, massage, the question when
        after = await the_conversation(jola)
        assert (after.flow, after.state, after.slots) == (before.flow, before.state, before.slots)
        assert after.last_message_at == before.last_message_at

        events = {key: (state, who, payload) for key, state, who, payload in await events_of(jola.db, CLINIC)}
        assert events.pop("wa:msg:waiting") == ("pending", before.key, {"said": "still waiting"})
        assert events.pop("wa:msg:gave-up") == ("failed", "", None)
        for key in handled_then:
            assert events.pop(key) == ("done", "", None)  # emptied; the key stays, for deduplication
        assert events and all(who == before.key for _, who, _ in events.values())  # "hi again"
        emptied = len(handled_then) + 1
        assert clinic_outcome.counts["inbound_events"] == emptied

        # The salon purges its own, by its own settings.
        assert salon_outcome.counts == {"messages": 2, "inbound_events": 1}
        assert await messages_of(jola.db, SALON) == []

        async with jola.db.read() as session:
            recorded = (
                await session.execute(
                    select(
                        PrivacyEvent.business_id, PrivacyEvent.kind, PrivacyEvent.actor, PrivacyEvent.details
                    )
                    .where(PrivacyEvent.kind == "purge")
                    .order_by(PrivacyEvent.id)
                )
            ).all()
        assert recorded == [
            (CLINIC, "purge", "retention", {"messages": 4, "inbound_events": emptied}),
            (SALON, "purge", "retention", {"messages": 2, "inbound_events": 1}),
        ]
        metrics = await (await jola.client.get("/metrics")).text()
        assert 'jola_retention_purged_total{kind="messages"} 6.0' in metrics
        assert f'jola_retention_purged_total{{kind="inbound_events"}} {emptied + 1:.1f}' in metrics

        # Nothing more is old enough: the next purge removes nothing and records nothing.
        assert sum(o.total for o in await worker.purge(clock.now())) == 0
    finally:
        await jola.client.close()


async def test_one_business_is_purged_without_touching_another(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock)
    try:
        await WhatsAppClient(jola).says("hi")
        await salon_client_says(jola, "hello salon")
        clock.advance(days=400)
        profiles = jola.app[keys.PROFILES]
        outcome = await purge_business(jola.db, CLINIC, profiles.settings(CLINIC).retention, clock.now())
        assert outcome.counts["messages"] == 2
        assert await messages_of(jola.db, CLINIC) == []
        assert next(text for text, _ in await messages_of(jola.db, SALON)) == "hello salon"
        assert all(who for _, _, who, _ in await events_of(jola.db, SALON))
    finally:
        await jola.client.close()


async def test_a_business_with_retention_off_keeps_everything(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    clock = SettableClock(NOW)
    jola = await two_businesses(
        database, fake_graph, clock, retention={"messages": "off", "inbound_events": "off"}
    )
    try:
        await WhatsAppClient(jola).says("hi")
        clock.advance(days=4000)
        [clinic_outcome, _] = await jola.app[keys.PIPELINE].retention.purge(clock.now())
        assert clinic_outcome.total == 0 and clinic_outcome.counts == {}
        assert len(await messages_of(jola.db, CLINIC)) == 2
    finally:
        await jola.client.close()


async def test_an_emptied_delivery_still_stops_metas_retry(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """A delivery emptied after a day keeps its key: Meta sending it again (it may, for 7 days) is not
    handled twice."""
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock, retention={"inbound_events": "1d"})
    try:
        body = whatsapp_message(
            {"type": "text", "text": {"body": "hi"}}, wamid="wamid.RETRY1", timestamp=int(NOW.timestamp())
        )
        await jola.deliver(body)
        await jola.settle()
        clock.advance(days=2)
        [clinic_outcome, _] = await jola.app[keys.PIPELINE].retention.purge(clock.now())
        assert clinic_outcome.counts == {"messages": 0, "inbound_events": 1}
        await jola.deliver(body)
        await jola.settle()
        assert [text for text, _ in await messages_of(jola.db, CLINIC)].count("hi") == 1
        assert len(fake_graph.sent_to("15550000001")) == 1
    finally:
        await jola.client.close()


# ---------------------------------------------------------------------------------- the hourly job


async def test_the_job_in_serves_app_purges_by_the_owners_setting_and_the_pages_still_read(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """The owner keeps messages 30 days on the settings page; a month on, the worker `jola serve` runs
    removes the old ones; the conversation, the inbox and the settings page say so."""
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock)
    owner = StaffBrowser(jola)
    try:
        await add_account(jola, "olivia@harbour.example", name="Olivia Owner", role="owner")
        await owner.log_in("olivia@harbour.example")
        page = await owner.get("/settings/booking")
        assert 'name="retention_messages" value="365d"' in page
        assert "Nothing has been old enough to delete yet." in page
        form = {
            "slot_step_minutes": "15",
            "buffer_minutes": "0",
            "min_notice": "2h",
            "max_ahead": "60d",
            "ask_phone": "on",
            "lead_times": "24h, 2h",
            "quiet_hours": "21:00-08:00",
            "retention_inbound_events": "3d",
            "version": page.text.split('name="version" value="')[1].split('"')[0],
        }
        refused = await owner.post("/settings/booking", {**form, "retention_messages": "7d"})
        assert refused.status == 400 and "Keeping data › Messages" in refused
        assert "give 30 days to 100 years (30d to 36500d)" in refused
        saved = await owner.post("/settings/booking", {**form, "retention_messages": "30 d"})
        assert saved.status == 200 and 'name="retention_messages" value="30d"' in saved

        anna = WhatsAppClient(jola, name="Anna Jensen")
        await anna.says("hi")
        conversation = (await the_conversation(jola)).id
        clock.advance(days=31)

        worker: RetentionWorker = jola.app[keys.PIPELINE].retention
        purged = worker.next_pass()
        worker.wake()
        outcomes = await asyncio.wait_for(purged, 30)
        assert {o.business_id: o.counts["messages"] for o in outcomes} == {CLINIC: 2, SALON: 0}

        await owner.log_in("olivia@harbour.example")  # a month on: a new session
        thread = await owner.get(f"/conversations/{conversation}")
        assert thread.status == 200 and "No messages from the last 30 days." in thread
        inbox = await owner.get("/inbox")
        assert inbox.status == 200 and "Anna Jensen" in inbox
        settings = await owner.get("/settings/booking")
        assert "messages deleted and" in settings and "Last purge:" in settings

        await anna.says("are you there?")
        thread = await owner.get(f"/conversations/{conversation}")
        assert "are you there?" in thread and "Messages are kept 30 days." in thread
    finally:
        await owner.close()
        await jola.client.close()


async def test_two_processes_share_a_purge_without_tripping(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Two processes (two engines) purge the same business at once in small batches: every old message
    goes once, nothing fails, and the counts they record add up."""
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock)
    try:
        anna = WhatsAppClient(jola)
        for n in range(12):
            await anna.says(f"message {n}")
        old = len(await messages_of(jola.db, CLINIC))
        clock.advance(days=400)
        retention = jola.app[keys.PROFILES].settings(CLINIC).retention
        other = Database(database.url, schema=database.schema)
        try:
            outcomes = await asyncio.gather(
                purge_business(jola.db, CLINIC, retention, clock.now(), batch_size=3),
                purge_business(other, CLINIC, retention, clock.now(), batch_size=3),
            )
        finally:
            await other.dispose()
        assert sum(o.counts["messages"] for o in outcomes) == old
        assert await messages_of(jola.db, CLINIC) == []
        async with jola.db.read() as session:
            recorded = (
                await session.scalars(select(PrivacyEvent.details).where(PrivacyEvent.kind == "purge"))
            ).all()
        assert sum(d["messages"] for d in recorded) == old
    finally:
        await jola.client.close()


# ---------------------------------------------------------------------------------- jola purge


def write_config(path: Path, database: DatabaseTarget) -> Path:
    q = json.dumps
    schema = f"postgres_schema = {q(database.schema)}\n" if database.schema else ""
    path.write_text(
        f"""
[server]
secret_key = "purge-test"

[database]
url = {q(database.url)}
{schema}
[[businesses]]
id = "{CLINIC}"
name = "Harbour Clinic"
timezone = "Europe/Copenhagen"

[[businesses]]
id = "{SALON}"
name = "Seaside Salon"
"""
    )
    return path


async def run_jola(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOLA_")}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_jola_purge_dry_run_says_what_would_go_and_changes_nothing(
    database: DatabaseTarget, fake_graph: FakeGraph, tmp_path: Path
) -> None:
    """`jola purge` runs on the real clock: the clinic's clients wrote 400 days and an hour ago."""
    long_ago = datetime.now(UTC) - timedelta(days=400)
    clock = SettableClock(long_ago)
    jola = await two_businesses(database, fake_graph, clock)
    try:
        anna = WhatsAppClient(jola)
        await anna.says("hi")
        await salon_client_says(jola, "hello salon")
        clock.current = datetime.now(UTC) - timedelta(hours=1)
        await anna.says("hi again")
        old_events = len(await events_of(jola.db, CLINIC)) - 1
    finally:
        await jola.client.close()
    config = write_config(tmp_path / "jola.toml", database)
    day = long_ago.strftime("%Y-%m-%d")

    dry = await run_jola("purge", "--config", str(config), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"{CLINIC}:",
        f"  messages older than 365 days: 2 would go, the oldest from {day}",
        f"  raw deliveries from Meta older than 3 days: {old_events} would be emptied, the oldest from {day}",
        f"{SALON}:",
        f"  messages older than 365 days: 2 would go, the oldest from {day}",
        f"  raw deliveries from Meta older than 3 days: 1 would be emptied, the oldest from {day}",
        "Nothing was changed (--dry-run).",
    ]
    db = Database(database.url, schema=database.schema)
    try:
        assert len(await messages_of(db, CLINIC)) == 4
        assert all(who for _, _, who, _ in await events_of(db, CLINIC))
    finally:
        await db.dispose()

    one = await run_jola("purge", "--config", str(config), "--business", CLINIC, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == [
        f"{CLINIC}:",
        f"  messages older than 365 days: 2 went, the oldest from {day}",
        f"  raw deliveries from Meta older than 3 days: {old_events} emptied, the oldest from {day}",
    ]
    again = await run_jola("purge", "--config", str(config), "--business", CLINIC, cwd=tmp_path)
    assert again.stdout.splitlines()[1:] == [
        "  messages older than 365 days: none",
        "  raw deliveries from Meta older than 3 days: none",
    ]
    db = Database(database.url, schema=database.schema)
    try:
        assert next(text for text, _ in await messages_of(db, CLINIC)) == "hi again"
        assert len(await messages_of(db, SALON)) == 2  # only the clinic was asked for
        async with db.read() as session:
            assert (await session.execute(select(PrivacyEvent.actor, PrivacyEvent.details))).all() == [
                ("cli", {"messages": 2, "inbound_events": old_events})
            ]
    finally:
        await db.dispose()

    unknown = await run_jola("purge", "--config", str(config), "--business", "nope", cwd=tmp_path)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr == f'jola: no business "nope" in the config (there are: {CLINIC}, {SALON})\n'
    missing = await run_jola("purge", "--config", str(tmp_path / "none.toml"), cwd=tmp_path)
    assert (
        missing.returncode == 1 and len(missing.stderr.splitlines()) == 1 and "no such file" in missing.stderr
    )


# ---------------------------------------------------------------------------------- the setting


MESSAGES_RULE = 'give 30 days to 100 years (30d to 36500d), or "off"'
EVENTS_RULE = 'give 1 to 8 days (1d to 8d), or "off"'


@pytest.mark.parametrize(
    ("retention", "problems"),
    [
        ({}, []),
        ({"messages": "off", "inbound_events": "OFF"}, []),
        ({"messages": "30d", "inbound_events": "24h"}, []),
        ({"messages": "12h"}, [f'retention.messages: "12h": {MESSAGES_RULE}']),
        ({"messages": "999999d"}, [f'retention.messages: "999999d": {MESSAGES_RULE}']),
        ({"inbound_events": "30d"}, [f'retention.inbound_events: "30d": {EVENTS_RULE}']),
        ({"inbound_events": "0d"}, [f'retention.inbound_events: "0d": {EVENTS_RULE}']),
        (
            {"messages": "forever"},
            ['retention.messages: "forever" is not a duration like "2h", "30m", "60d"'],
        ),
        ({"keep": "1d"}, ["retention.keep: is not a known key"]),
    ],
)
def test_retention_settings_are_checked_with_their_key(
    retention: dict[str, str], problems: list[str]
) -> None:
    try:
        business = validate_business({"id": CLINIC, "name": "Harbour Clinic", "retention": retention})
    except ConfigError as err:
        assert err.problems == problems
    else:
        assert problems == []
        assert business.retention.age("messages") in (None, timedelta(days=365), timedelta(days=30))


async def test_counting_in_a_dry_run_needs_no_write(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    """A dry run counts what would go and changes nothing, not even the record of purges."""
    clock = SettableClock(NOW)
    jola = await two_businesses(database, fake_graph, clock)
    try:
        await WhatsAppClient(jola).says("hi")
        clock.advance(days=400)
        retention = jola.app[keys.PROFILES].settings(CLINIC).retention
        async with jola.db.read() as session:
            before = await session.scalar(select(func.count()).select_from(Message))
        outcome = await purge_business(jola.db, CLINIC, retention, clock.now(), dry_run=True)
        assert outcome.counts["messages"] == 2 and outcome.kinds[0].oldest == NOW
        async with jola.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Message)) == before
            assert (await session.scalars(select(PrivacyEvent.id))).all() == []
    finally:
        await jola.client.close()
