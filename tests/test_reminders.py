"""Reminders (issue 17): made when an appointment is booked or moved (by the bot, staff or the API),
removed when it is cancelled, sent once when due in the way Meta allows then, answerable with a tap.

The clinic's clock stands at Wednesday 25 November 2026, 09:00 in Copenhagen; tests move it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import keys
from storage import reminders as store
from storage.models import Reminder
from tests.conftest import DatabaseTarget, Jola, SettableClock, WhatsAppClient
from tests.support.clinic import appointments, booked_client, clinic
from tests.support.fake_graph import FakeGraph, GraphCall
from tests.support.payloads import whatsapp_message

if TYPE_CHECKING:
    from tests.test_page_conversations import PageClient

ZONE = ZoneInfo("Europe/Copenhagen")
TEMPLATE = {"whatsapp_template": "appointment_reminder", "template_language": "en"}


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE).astimezone(UTC)  # type: ignore[misc]


async def due(jola: Jola) -> list[store.ReminderView]:
    async with jola.db.read() as session:
        return await store.listing(session, "harbour-clinic")


def new_messages(client: WhatsAppClient) -> list[GraphCall]:
    """What the bot sent the client since the test last looked, without the client writing."""
    sent = client.jola.graph.sent_to(client.wa_id)
    new, client.seen = sent[client.seen :], len(sent)
    return new


async def run_reminders(jola: Jola) -> int:
    done = await jola.app[keys.PIPELINE].reminders.run_due()
    await jola.settle()
    return done


async def test_a_booking_gets_its_reminders_and_moving_and_cancelling_change_them(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, _):
        client = await booked_client(jola, "massage friday at 10")  # Friday 27 November, 10:00
        assert [(r.lead, r.due_at, r.state) for r in await due(jola)] == [
            ("24h", local(2026, 11, 26, 10, 0), "pending"),
            ("2h", local(2026, 11, 27, 8, 0), "pending"),
        ]
        await client.says("can I move my appointment?")
        [summary] = await client.says("friday at 14")
        await client.taps(summary.options[0])
        assert [(r.lead, r.due_at) for r in await due(jola)] == [
            ("24h", local(2026, 11, 26, 14, 0)),
            ("2h", local(2026, 11, 27, 12, 0)),
        ]
        await client.says("cancel my appointment")
        await client.taps("Yes, cancel it")
        assert await due(jola) == []


async def test_the_reminder_inside_the_window_is_answered_with_a_tap(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h"]}) as (jola, clock):
        client = await booked_client(jola, "massage tomorrow at 10", name="Anna Jensen")
        clock.current = local(2026, 11, 25, 10, 0)  # 24 hours before, the client wrote an hour ago
        assert await run_reminders(jola) == 1
        [reminder] = new_messages(client)
        assert reminder.text == (
            "Hi Anna, a reminder from Harbour Clinic: Massage, tomorrow, Thursday 26 November, at 10:00. "
            "Will you come? Tap to confirm, or to move or cancel it."
        )
        assert reminder.options == ["I'll be there", "Move it", "Cancel it"]
        [confirmed] = await client.taps("I'll be there")
        assert (
            confirmed.text
            == "Thanks for confirming! See you tomorrow, Thursday 26 November, at 10:00 for your Massage."
        )
        assert [a.status for a in await appointments(jola)] == ["confirmed"]
        assert await run_reminders(jola) == 0  # once
        assert [(r.state, r.route, r.kind) for r in await due(jola)] == [
            ("queued", "whatsapp", "interactive")
        ]


async def test_outside_the_window_whatsapp_gets_the_template_whose_button_confirms(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["2h"], **TEMPLATE}) as (jola, clock):
        client = await booked_client(jola, "massage friday at 10", name="Anna Jensen")
        [booked] = await due(jola)
        clock.current = booked.due_at  # two days after the client last wrote
        assert await run_reminders(jola) == 1
        [sent] = fake_graph.sent_to(client.wa_id)[client.seen :]
        template = sent.body["template"]
        assert template["name"] == "appointment_reminder" and template["language"] == {"code": "en"}
        assert [p["text"] for p in template["components"][0]["parameters"]] == [
            "Anna",
            "Massage",
            "today, Friday 27 November, at 10:00",
        ]
        payloads = [c["parameters"][0]["payload"] for c in template["components"][1:]]
        appointment_id = (await appointments(jola))[0].id
        assert payloads == [
            f"confirm:{appointment_id}",
            f"reschedule:{appointment_id}",
            f"cancel:{appointment_id}",
        ]
        new_messages(client)
        tap = {"type": "button", "button": {"payload": payloads[0], "text": "Confirm"}}
        await jola.deliver(whatsapp_message(tap, **client._who()))
        await jola.settle()
        assert [a.status for a in await appointments(jola)] == ["confirmed"]


async def test_no_template_set_skips_with_the_reason(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["2h"], "whatsapp_template": ""}) as (
        jola,
        clock,
    ):
        await booked_client(jola, "massage friday at 10")
        clock.current = (await due(jola))[0].due_at
        await run_reminders(jola)
        [skipped] = await due(jola)
        assert (skipped.state, skipped.reason) == (
            "skipped",
            "outside WhatsApp's 24-hour window and no reminder template is set",
        )


async def test_quiet_hours_move_a_reminder_earlier_never_later(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(
        database, fake_graph, reminders={"lead_times": ["2h"], "quiet_hours": ["21:00-08:00"]}
    ) as (jola, _):
        await booked_client(jola, "massage friday at 9")  # 2 hours before is 07:00: quiet
        [reminder] = await due(jola)
        assert reminder.due_at == local(2026, 11, 26, 20, 59)


async def test_a_reminder_whose_time_has_passed_when_booked_is_not_made(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, _):
        await booked_client(jola, "massage today at 14")  # 5 hours ahead: the 24-hour one has passed
        assert [r.lead for r in await due(jola)] == ["2h"]


async def test_stop_ends_reminders_on_that_channel_and_start_brings_them_back(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, clock):
        client = await booked_client(jola, "massage friday at 10")
        [stopped] = await client.says("stop")
        assert stopped.text.startswith("Understood: no more reminders or messages from us here.")
        clock.current = local(2026, 11, 26, 10, 0)
        await run_reminders(jola)
        assert new_messages(client) == []
        first = (await due(jola))[0]
        assert (first.state, first.reason) == ("skipped", "the client asked for no reminders on WhatsApp")
        [started] = await client.says("start")
        assert started.text == "Done: you will get reminders of your appointments here again."
        clock.current = local(2026, 11, 27, 8, 0)
        await run_reminders(jola)
        [reminder] = new_messages(client)
        assert reminder.text.startswith(
            "Hi Test, a reminder from Harbour Clinic: Massage, today, Friday 27 November"
        )


async def test_after_downtime_a_due_reminder_goes_unless_the_appointment_started(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, clock):
        client = await booked_client(jola, "massage tomorrow at 10")
        clock.current = local(2026, 11, 26, 10, 30)  # both fell due while we were down; it has started
        await run_reminders(jola)
        assert new_messages(client) == []
        assert {(r.state, r.reason) for r in await due(jola)} == {
            ("skipped", "the appointment had already started when the reminder fell due")
        }


async def test_a_restart_sends_each_reminder_once(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    from tests.conftest import make_config, start_jola
    from tests.support.clinic import NOW, WEEKDAYS

    clock = SettableClock(NOW)
    config = make_config(
        database, fake_graph.url, business={"hours": WEEKDAYS, "reminders": {"lead_times": ["24h"]}}
    )
    jola = await start_jola(config, fake_graph, clock=clock)
    client = await booked_client(jola, "massage tomorrow at 10")
    clock.current = local(2026, 11, 25, 10, 0)
    await run_reminders(jola)
    await jola.client.close()
    again = await start_jola(config, fake_graph, clock=clock)
    try:
        await run_reminders(again)
        await again.settle()
        reminders = [c for c in fake_graph.sent_to(client.wa_id) if "a reminder from" in (c.text or "")]
        assert len(reminders) == 1
    finally:
        await again.client.close()


async def test_two_workers_never_send_the_same_reminder(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """Two processes' workers (two apps on one PostgreSQL database) take 300 reminders at once."""
    if database.url.startswith("sqlite"):
        pytest.skip("row locks across processes: PostgreSQL")
    async with clinic(database, fake_graph, reminders={"lead_times": ["24h"]}) as (jola, clock):
        from tests.conftest import start_jola

        other = await start_jola(jola.app[keys.CONFIG], fake_graph, clock=clock)
        try:
            await _many_bookings(jola, 300)
            async with jola.db.read() as session:
                made = len(await store.listing(session, "harbour-clinic", limit=1000))
            assert made == 300
            clock.current = clock.current + timedelta(days=90)  # all due (and started: skipped, once)
            first, second = jola.app[keys.PIPELINE].reminders, other.app[keys.PIPELINE].reminders
            await asyncio.gather(first.run_due(), second.run_due(), first.run_due(), second.run_due())
            async with jola.db.read() as session:
                settled = list(await session.execute(select(Reminder.state, Reminder.attempts)))
            assert sorted(settled) == [("skipped", 1)] * 300  # each taken once
        finally:
            await other.client.close()


async def _many_bookings(jola: Jola, count: int) -> None:
    """`count` clients booked straight through the API, each at its own time over the coming weeks."""
    made, day = 0, datetime(2026, 11, 30, tzinfo=ZONE)
    while made < count:
        if day.weekday() < 5:
            for hour, minute in [
                (8, 0),
                (8, 45),
                (9, 30),
                (10, 15),
                (11, 0),
                (13, 0),
                (13, 45),
                (14, 30),
                (15, 15),
            ]:
                body = {
                    "service": "physio",
                    "start": day.replace(hour=hour, minute=minute).isoformat(),
                    "client": {"name": f"Client {made}", "phone": f"+4560{made:06d}"},
                    "channel": "whatsapp",
                }
                response = await jola.client.post(
                    "/api/v1/appointments", json=body, headers={"Authorization": "Bearer api-token"}
                )
                assert response.status == 201, await response.text()
                made += 1
                if made == count:
                    return
        day += timedelta(days=1)


async def test_jola_reminders_list_shows_what_is_due_and_what_did_not_go_out(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from bot.reminder_list import list_reminders

    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, clock):
        client = await booked_client(jola, "massage friday at 10")
        await client.says("stop")
        clock.current = local(2026, 11, 26, 10, 0)
        await run_reminders(jola)
        said = await list_reminders(jola.app[keys.CONFIG], business="harbour-clinic")
    assert said.splitlines() == [
        "harbour-clinic: 1 due, 1 not sent",
        "  due     2026-11-27 08:00  2h before Massage at 2026-11-27 10:00 (appointment 1)",
        "  skipped 2026-11-26 10:00  24h before Massage at 2026-11-27 10:00 (appointment 1): "
        "the client asked for no reminders on WhatsApp",
    ]


# ------------------------------------------------------------------------------------------------ email


async def test_email_confirmations_and_reminders_arrive_with_a_calendar_file(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    """A client with an address gets the booking by email (with an .ics), the move (same event, updated)
    and a reminder by email when no channel can carry it."""
    from icalendar import Calendar
    from sqlalchemy import update

    from storage.models import Client
    from tests.support.smtp import smtp_server

    async with smtp_server() as mail:
        smtp = {
            "host": "127.0.0.1",
            "port": mail.port,
            "security": "none",
            "sender": "Harbour <b@harbour.example>",
        }
        async with clinic(
            database,
            fake_graph,
            reminders={"lead_times": ["24h"], "whatsapp_template": ""},
            sections={"smtp": smtp},
        ) as (jola, clock):
            client = WhatsAppClient(jola, name="Anna Jensen")
            await client.says("hi")
            async with jola.db.write() as session:
                await session.execute(update(Client).values(email="anna@example.org"))
            await client.says("massage friday at 10")
            await client.taps("Yes, book it")
            worker = jola.app[keys.PIPELINE].mail
            await worker.run_due()
            [booked] = await mail.wait_for(1)
            assert booked.rcpt_tos == ["anna@example.org"]
            assert booked.message["Subject"] == "Booked: Massage, Friday 27 November at 10:00"
            body = booked.message.get_body(("plain",)).get_content()
            assert "You're booked at Harbour Clinic: Massage, Friday 27 November at 10:00." in body
            invite = next(p for p in booked.message.walk() if p.get_filename() == "invite.ics")
            event = Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0]
            assert event.decoded("DTSTART") == local(2026, 11, 27, 10, 0)
            clock.current = local(
                2026, 11, 26, 10, 0
            )  # the 24-hour reminder: outside the window, no template
            await run_reminders(jola)
            await worker.run_due()
            [_, reminder] = await mail.wait_for(2)
            assert reminder.message["Subject"] == "Reminder: Massage, Friday 27 November at 10:00"
            [sent] = await due(jola)
            assert (sent.state, sent.route) == ("queued", "email")


# ------------------------------------------------------------------------------------------ staff see it


async def test_staff_see_reminders_opt_outs_and_set_an_email(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.support.staff import StaffBrowser, add_account

    async with clinic(database, fake_graph, reminders={"lead_times": ["24h", "2h"]}) as (jola, clock):
        client = await booked_client(jola, "massage friday at 10")
        await client.says("stop")
        clock.current = local(2026, 11, 26, 10, 0)
        await run_reminders(jola)
        await add_account(jola)
        staff = StaffBrowser(jola)
        await staff.log_in()
        [appointment] = await appointments(jola)
        page = await staff.get(f"/appointments/{appointment.id}")
        assert (
            "Reminder 24h before" in page
            and "not sent</strong>: the client asked for no reminders on WhatsApp" in page
        )
        assert "Reminder 2h before" in page
        overview = await staff.get("/")
        assert "Reminders that did not go out" in overview
        assert "the client asked for no reminders on WhatsApp" in overview
        record = await staff.get(f"/clients/{appointment.client_id}")
        assert "Off on WhatsApp (the client said stop" in record
        bad = await staff.post(f"/clients/{appointment.client_id}/email", {"email": "anna at example"})
        assert bad.status == 400 and "That is not an email address." in bad
        saved = await staff.post(
            f"/clients/{appointment.client_id}/email", {"email": "anna@example.org", "email_reminders": "on"}
        )
        assert 'value="anna@example.org"' in saved
        await staff.close()


async def test_an_api_booking_with_an_email_gets_its_confirmation_there(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.support.smtp import smtp_server

    async with smtp_server() as mail:
        smtp = {"host": "127.0.0.1", "port": mail.port, "security": "none", "sender": "b@harbour.example"}
        async with clinic(database, fake_graph, sections={"smtp": smtp}) as (jola, _):
            body = {
                "service": "massage",
                "start": "2026-11-27T10:00:00+01:00",
                "client": {"name": "Bo Berg", "phone": "+4560000001", "email": "bo@example.org"},
            }
            headers = {"Authorization": "Bearer api-token"}
            bad = await jola.client.post(
                "/api/v1/appointments",
                json={**body, "client": {**body["client"], "email": "bo@example.org\r\nBcc: x@y.z"}},
                headers=headers,
            )
            assert bad.status == 400 and "client.email" in (await bad.json())["error"]
            made = await jola.client.post("/api/v1/appointments", json=body, headers=headers)
            assert made.status == 201
            await jola.app[keys.PIPELINE].mail.run_due()
            [booked] = await mail.wait_for(1)
            assert booked.rcpt_tos == ["bo@example.org"]
            assert booked.message["Subject"] == "Booked: Massage, Friday 27 November at 10:00"


# ------------------------------------------------------------------------------------ Messenger, Instagram


@pytest.mark.parametrize("kind", ["messenger", "instagram"])
async def test_outside_the_window_messenger_uses_its_tag_and_instagram_is_skipped(
    database: DatabaseTarget, fake_graph: FakeGraph, kind: str
) -> None:
    from tests.test_page_conversations import CHANNELS, PageClient

    async with clinic(database, fake_graph, channels=CHANNELS, reminders={"lead_times": ["24h"]}) as (
        jola,
        clock,
    ):
        client = PageClient(jola, kind)
        await client.says("massage friday at 10")
        await client.says("Anna Jensen")  # the name, then the phone question
        await client.taps("Skip") if kind == "messenger" else await client.says("skip")
        await client.taps("Yes, book it") if kind == "messenger" else await client.says("1")
        assert [a.status for a in await appointments(jola)] == ["booked"]
        clock.current = local(2026, 11, 26, 10, 0)  # the window closed on Wednesday morning
        await run_reminders(jola)
        sent = await client.replies()
        [reminder] = await due(jola)
        if kind == "messenger":
            [message] = sent
            assert (
                message.body["messaging_type"] == "MESSAGE_TAG"
                and message.body["tag"] == "CONFIRMED_EVENT_UPDATE"
            )
            assert message.options == ["I'll be there", "Move it", "Cancel it"]
            assert (reminder.state, reminder.kind) == ("queued", "tag")
        else:
            assert sent == []
            assert (reminder.state, reminder.reason) == (
                "skipped",
                "Instagram allows no message more than 24 hours after the client last wrote",
            )


async def booked_on_messenger(jola: Jola) -> PageClient:
    """Anna, who booked a massage on Friday at 10 on Messenger (no phone number given)."""
    from tests.test_page_conversations import PageClient

    client = PageClient(jola, "messenger")
    await client.says("massage friday at 10")
    await client.says("Anna Jensen")
    await client.taps("Skip")
    await client.taps("Yes, book it")
    return client


UTILITY = {
    "lead_times": ["24h"],
    "messenger_template": "appointment_update",
    "messenger_template_language": "da_DK",
}


async def test_outside_the_window_messenger_prefers_the_utility_template_whose_button_confirms(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.support.page_payloads import messenger_postback
    from tests.test_page_conversations import CHANNELS, PSID

    async with clinic(database, fake_graph, channels=CHANNELS, reminders=UTILITY) as (jola, clock):
        client = await booked_on_messenger(jola)
        [appointment] = await appointments(jola)
        clock.current = local(2026, 11, 26, 10, 0)  # the window closed on Wednesday morning
        await run_reminders(jola)
        [message] = await client.replies()
        assert message.body["messaging_type"] == "UTILITY" and "tag" not in message.body
        payload = message.body["message"]["attachment"]["payload"]
        assert (payload["template_type"], payload["name"], payload["language"]) == (
            "utility_messages",
            "appointment_update",
            {"code": "da_DK"},
        )
        body, *buttons = payload["components"]
        assert [p["text"] for p in body["parameters"]] == [
            "Anna",
            "Massage",
            "tomorrow, Friday 27 November, at 10:00",
        ]
        assert [(b["sub_type"], b["index"], b["parameters"][0]["text"]) for b in buttons] == [
            ("postback", 0, f"confirm:{appointment.id}"),
            ("postback", 1, f"reschedule:{appointment.id}"),
            ("postback", 2, f"cancel:{appointment.id}"),
        ]
        [reminder] = await due(jola)
        assert (reminder.state, reminder.kind, reminder.delivery) == ("queued", "template", "sent")

        # The client taps the template's first button (its label is the business's, approved at Meta).
        tap = messenger_postback(
            f"confirm:{appointment.id}", "Jeg kommer", psid=PSID, timestamp=client.now_ms
        )
        await jola.deliver(tap)
        [answer] = await client.replies()
        assert "see you" in (answer.text or "").lower()
        assert [a.status for a in await appointments(jola)] == ["confirmed"]


async def test_a_utility_template_meta_refuses_falls_back_to_the_tag(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.test_page_conversations import CHANNELS

    async with clinic(database, fake_graph, channels=CHANNELS, reminders=UTILITY) as (jola, clock):
        client = await booked_on_messenger(jola)
        clock.current = local(2026, 11, 26, 10, 0)
        refused = {"error": {"message": "(#10) Application does not have permission for this action",
                             "type": "OAuthException", "code": 10, "fbtrace_id": "A"}}  # fmt: skip
        fake_graph.fail_next(status=403, body=refused)
        await run_reminders(jola)
        [message] = await client.replies()
        assert (message.body["messaging_type"], message.body["tag"]) == (
            "MESSAGE_TAG",
            "CONFIRMED_EVENT_UPDATE",
        )
        assert message.options == ["I'll be there", "Move it", "Cancel it"]
        tried = [c.body.get("messaging_type") for c in fake_graph.calls if c.to == client.user]
        assert tried[-2:] == ["UTILITY", "MESSAGE_TAG"]
        [reminder] = await due(jola)
        assert (reminder.state, reminder.delivery) == ("queued", "sent")


async def test_when_meta_refuses_the_utility_template_and_the_tag_staff_see_both(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.test_page_conversations import CHANNELS

    async with clinic(database, fake_graph, channels=CHANNELS, reminders=UTILITY) as (jola, clock):
        client = await booked_on_messenger(jola)
        clock.current = local(2026, 11, 26, 10, 0)
        fake_graph.fail_next(2, status=400, fixture="error_messenger_outside_window")
        await run_reminders(jola)
        assert await client.replies() == []
        [reminder] = await due(jola)
        assert (reminder.state, reminder.delivery, reminder.error_code) == ("queued", "failed", 10)
        assert "the utility template, then the CONFIRMED_EVENT_UPDATE tag" in (reminder.error_title or "")


async def test_a_template_meta_refuses_is_shown_to_staff_with_its_reason(
    database: DatabaseTarget, fake_graph: FakeGraph
) -> None:
    from tests.support.staff import StaffBrowser, add_account

    async with clinic(database, fake_graph, reminders={"lead_times": ["2h"], **TEMPLATE}) as (jola, clock):
        await booked_client(jola, "massage friday at 10")
        clock.current = (await due(jola))[0].due_at
        refused = {"error": {"message": "(#132001) Template name does not exist in the translation",
                             "type": "OAuthException", "code": 132001, "fbtrace_id": "A"}}  # fmt: skip
        fake_graph.fail_next(status=400, body=refused)
        await run_reminders(jola)
        [reminder] = await due(jola)
        assert (reminder.state, reminder.delivery, reminder.error_code) == ("queued", "failed", 132001)
        await add_account(jola)
        staff = StaffBrowser(jola)
        await staff.log_in()
        overview = await staff.get("/")
        assert "Reminders that did not go out" in overview
        await staff.close()
        assert jola.app[keys.METRICS].render().count(b'jola_reminders_total{outcome="queued"} 1.0') == 1
