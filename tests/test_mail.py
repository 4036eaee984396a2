"""Email confirmations and reminders, sent to a real SMTP server on 127.0.0.1, with their .ics invites."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from bot.config import SmtpConfig
from bot.mail import Mailer, MailFailed, appointment_ics, build_message
from tests.support.smtp import DEFERRED, REFUSED, SmtpServer, smtp_server

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
SENDER = "Klinik Ærø <booking@aeroe-klinik.example>"
CLIENT = "kunde@example.dk"
UID = "appointment-42@harbour.jola"
STAMP = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
SUBJECT = "Bekræftet: Fysioterapi, første besøg"
BODY = "Hej! Din tid til Fysioterapi, første besøg er bekræftet.\nVi ses på Ærø."


def invite(**changes: Any) -> bytes:
    """The .ics for appointment 42: Sunday 25 October 2026, 10:00 in Copenhagen, the day summer time ends."""
    fields: dict[str, Any] = {
        "uid": UID,
        "start": datetime(2026, 10, 25, 10, 0, tzinfo=COPENHAGEN),
        "end": datetime(2026, 10, 25, 10, 45, tzinfo=COPENHAGEN),
        "summary": "Fysioterapi, første besøg",
        "location": "Havnegade 1, Ærøskøbing",
        "description": "Med Søren. Svar på beskeden for at flytte eller aflyse.",
        "organizer_name": "Klinik Ærø",
        "organizer_email": "booking@aeroe-klinik.example",
        "stamp": STAMP,
    }
    return appointment_ics(**(fields | changes))


def confirmation(ics: bytes | None = None, **changes: Any) -> Any:
    fields: dict[str, Any] = {"sender": SENDER, "to": CLIENT, "subject": SUBJECT, "text": BODY, "ics": ics}
    return build_message(**(fields | changes))


def mailer(port: int, **changes: Any) -> Mailer:
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "timeout_seconds": 5,
    }
    return Mailer(SmtpConfig(**(fields | changes)))


def the_event(ics: bytes) -> Event:
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.events
    return event


def free_port() -> int:
    """A port nobody listens on: bound, read, and released again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def server() -> AsyncIterator[SmtpServer]:
    async with smtp_server() as running:
        yield running


async def test_a_confirmation_arrives_with_its_invite(server: SmtpServer) -> None:
    """From, To, Subject and the Danish text arrive intact; the invite comes inline and as invite.ics."""
    sent = confirmation(invite())
    message_id = await mailer(server.port).send(sent)

    (received,) = await server.wait_for(1)
    message = received.message
    assert received.rcpt_tos == [CLIENT]
    assert received.mail_from == "booking@aeroe-klinik.example"
    assert message["From"] == SENDER and message["To"] == CLIENT and message["Subject"] == SUBJECT
    assert message["Message-ID"] == message_id and message_id.endswith("@aeroe-klinik.example>")
    assert message["Date"]
    assert message.get_body(("plain",)).get_content() == BODY + "\n"
    assert message.get_body(("html",)) is None

    inline = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    assert inline.get_param("method") == "REQUEST" and inline.get_content_charset() == "utf-8"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "invite.ics" and attachment.get_content_type() == "application/ics"
    assert inline.get_payload(decode=True) == attachment.get_payload(decode=True) == invite()


async def test_the_invite_parses_and_holds_the_appointment() -> None:
    """Standard iCalendar that calendars accept: UTC times, a stable UID, a reminder an hour before."""
    ics = invite()
    raw = ics.decode("utf-8")
    lines = raw.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "METHOD:REQUEST" in lines and "VERSION:2.0" in lines
    assert "PRODID:-//Jola//Booking//EN" in lines
    assert f"UID:{UID}" in lines and "SEQUENCE:0" in lines and "STATUS:CONFIRMED" in lines
    # 10:00 in Copenhagen on the day summer time ends is already CET (UTC+1): 09:00Z, not 08:00Z.
    assert "DTSTART:20261025T090000Z" in lines and "DTEND:20261025T094500Z" in lines
    assert "DTSTAMP:20261001T080000Z" in lines
    assert "BEGIN:VALARM" in lines and "TRIGGER:-PT1H" in lines and "ACTION:DISPLAY" in lines
    assert all(len(line.encode()) <= 75 for line in lines)  # folded as RFC 5545 asks

    event = the_event(ics)
    assert event.start == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 10, 25, 9, 45, tzinfo=UTC)
    assert event.start.astimezone(COPENHAGEN).hour == 10
    assert str(event["SUMMARY"]) == "Fysioterapi, første besøg"
    assert str(event["LOCATION"]) == "Havnegade 1, Ærøskøbing"
    assert str(event["DESCRIPTION"]).startswith("Med Søren.")
    assert str(event["ORGANIZER"]) == "mailto:booking@aeroe-klinik.example"
    assert event["ORGANIZER"].params["CN"] == "Klinik Ærø"
    (alarm,) = event.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(hours=1)


async def test_a_summer_appointment_is_two_hours_behind() -> None:
    """The same wall-clock time in summer is CEST (UTC+2): the invite follows the zone, not a fixed offset."""
    start = datetime(2026, 10, 24, 10, 0, tzinfo=COPENHAGEN)
    event = the_event(invite(start=start, end=start + timedelta(minutes=45)))
    assert event.start == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)


async def test_a_cancel_withdraws_the_same_event(server: SmtpServer) -> None:
    """Same UID, higher SEQUENCE, STATUS:CANCELLED and no reminder: calendars remove what they added."""
    cancel = invite(method="CANCEL", sequence=2)
    await mailer(server.port).send(confirmation(cancel, method="CANCEL", subject="Aflyst: første besøg"))

    (received,) = await server.wait_for(1)
    inline = next(part for part in received.message.walk() if part.get_content_type() == "text/calendar")
    assert inline.get_param("method") == "CANCEL"
    lines = cancel.decode().split("\r\n")
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines and "SEQUENCE:2" in lines
    assert "BEGIN:VALARM" not in lines
    event = the_event(cancel)
    assert str(event["UID"]) == UID and event["SEQUENCE"] > the_event(invite())["SEQUENCE"]


async def test_a_moved_appointment_keeps_its_uid() -> None:
    """A move is the same event, later, with a higher SEQUENCE: calendars update rather than duplicate."""
    start = datetime(2026, 10, 27, 14, 0, tzinfo=COPENHAGEN)
    moved = the_event(invite(start=start, end=start + timedelta(minutes=45), sequence=1))
    assert str(moved["UID"]) == UID and moved["SEQUENCE"] == 1
    assert moved.start == datetime(2026, 10, 27, 13, 0, tzinfo=UTC)


async def test_naive_times_are_refused() -> None:
    """A time without a zone would be read in the server's zone; better to fail at once."""
    with pytest.raises(ValueError, match="aware"):
        invite(start=datetime(2026, 10, 25, 10, 0))


async def test_login_with_username_and_password() -> None:
    """AUTH with the configured account; the server saw who logged in."""
    async with smtp_server(login=("jola", "s3cret")) as server:
        await mailer(server.port, username="jola", password="s3cret").send(confirmation())
        (received,) = await server.wait_for(1)
    assert received.login == "jola"


async def test_a_wrong_password_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    """The server refusing the login will refuse it again: a person must fix the config."""
    caplog.set_level(logging.INFO, logger="bot.mail")
    async with smtp_server(login=("jola", "s3cret")) as server:
        with pytest.raises(MailFailed) as failed:
            await mailer(server.port, username="jola", password="wrong").send(confirmation())
        assert server.messages == []
    assert failed.value.retry is False and "login" in failed.value.reason
    assert failed.value.code == 535
    assert "event=mail.failed kind=login_refused retry=false" in caplog.text


async def test_no_login_when_the_server_requires_one() -> None:
    """Asked for a login the config does not have: a 5xx refusal, not a retry."""
    async with smtp_server(login=("jola", "s3cret")) as guarded:
        with pytest.raises(MailFailed) as failed:
            await mailer(guarded.port).send(confirmation())
    assert failed.value.retry is False and failed.value.code == 530
    assert failed.value.reason == "the mail server requires a login"


async def test_an_unreachable_server_is_retried() -> None:
    """Nobody listening: the server may be down for a minute, so try again later."""
    with pytest.raises(MailFailed) as failed:
        await mailer(free_port()).send(confirmation(invite()))
    assert failed.value.retry is True
    assert failed.value.reason == "the mail server could not be reached"


async def test_a_server_that_never_answers_times_out() -> None:
    """A server that takes the connection and then says nothing: give up after the timeout, retry later."""
    loop = asyncio.get_running_loop()
    silent = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        with pytest.raises(MailFailed) as failed:
            await mailer(port, timeout_seconds=0.2).send(confirmation())
    finally:
        silent.close()
    assert failed.value.retry is True and "timed out" in failed.value.reason


async def test_a_refused_recipient_is_not_retried(server: SmtpServer) -> None:
    """550: the address does not exist; the same message would be refused again."""
    server.refuse[CLIENT] = REFUSED
    with pytest.raises(MailFailed) as failed:
        await mailer(server.port).send(confirmation())
    assert failed.value.retry is False and failed.value.code == 550
    assert failed.value.reason == "the mail server refused the recipient"
    assert server.messages == []


async def test_a_deferred_recipient_is_retried(server: SmtpServer) -> None:
    """451: the server asks to try later (greylisting, a full queue); later the same message goes through."""
    server.refuse[CLIENT] = DEFERRED
    sender = mailer(server.port)
    with pytest.raises(MailFailed) as failed:
        await sender.send(confirmation())
    assert failed.value.retry is True and failed.value.code == 451

    del server.refuse[CLIENT]
    await sender.send(confirmation())
    assert len(await server.wait_for(1)) == 1


async def test_starttls_required_but_not_offered(server: SmtpServer) -> None:
    """The config asks for STARTTLS and the server has none: never fall back to sending in the clear."""
    with pytest.raises(MailFailed) as failed:
        await mailer(server.port, security="starttls").send(confirmation())
    assert failed.value.retry is False and "STARTTLS" in failed.value.reason
    assert server.messages == []


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "kunde@example.dk\r\nBcc: everyone@example.dk"},
        {"to": "kunde@example.dk\nBcc: everyone@example.dk"},
        {"subject": "Hej\r\nBcc: everyone@example.dk"},
        {"subject": "Hej\nX-Injected: yes"},
        {"reply_to": "svar@example.dk\r\nBcc: everyone@example.dk"},
    ],
)
async def test_header_injection_is_refused(changes: dict[str, str]) -> None:
    """A line break in a header value would let outside text add headers, like a Bcc."""
    with pytest.raises(ValueError, match="line breaks"):
        confirmation(**changes)


@pytest.mark.parametrize(
    "to",
    ["", "kunde", "kunde@", "@example.dk", "a b@example.dk", "a@example.dk, b@example.dk", "a@b@example.dk"],
)
async def test_to_must_be_one_address(to: str) -> None:
    """One client, one address: nothing that could reach several mailboxes or none."""
    with pytest.raises(ValueError, match="one email address"):
        confirmation(to=to)


async def test_a_named_address_is_accepted(server: SmtpServer) -> None:
    """ "Name <address>" is one address too; the envelope gets the bare address."""
    await mailer(server.port).send(confirmation(to="Søren Ærø <soren@example.dk>"))
    (received,) = await server.wait_for(1)
    assert (
        received.rcpt_tos == ["soren@example.dk"] and received.message["To"] == "Søren Ærø <soren@example.dk>"
    )


async def test_a_mailer_without_a_host_is_off() -> None:
    """No host in the config: email is off, and sending says so instead of trying localhost."""
    off = Mailer(SmtpConfig())
    assert off.enabled is False
    with pytest.raises(MailFailed) as failed:
        await off.send(confirmation())
    assert failed.value.retry is False and "no mail server" in failed.value.reason
    assert mailer(25).enabled is True


async def test_logs_name_no_one(server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    """Sent and failed mail log events and reasons, never an address, subject or body."""
    caplog.set_level(logging.DEBUG, logger="bot.mail")
    await mailer(server.port).send(confirmation(invite()))
    server.refuse["*"] = REFUSED
    with pytest.raises(MailFailed):
        await mailer(server.port).send(confirmation(invite()))
    text = caplog.text
    assert "event=mail.sent" in text and "event=mail.failed" in text
    for secret in (CLIENT, "kunde", "aeroe", "Fysioterapi", "Bekræftet", "Søren"):
        assert secret not in text
