"""Email, the second path to clients who gave an address: confirmations and reminders with an .ics invite.

Three jobs, one per function or class: `appointment_ics` writes the RFC 5545 calendar, `build_message` wraps
text and calendar the way mail clients expect an invite, and `Mailer` hands the message to the configured
SMTP server, translating what aiosmtplib raises into one `MailFailed` that says why and whether to retry.
Logs name events and reasons only, never an address or a word of the message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Literal

import aiosmtplib
from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from bot.config import SmtpConfig

log = logging.getLogger(__name__)

PRODID = "-//Jola//Booking//EN"
REMINDER_BEFORE = timedelta(hours=1)  # the VALARM calendars show before the appointment


def _utc(value: datetime, name: str) -> datetime:
    """An aware datetime in UTC; a naive one is refused, since its meaning would depend on the server."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def appointment_ics(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    location: str,
    description: str,
    organizer_name: str,
    organizer_email: str,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
    sequence: int = 0,
    stamp: datetime,
    attendee_email: str | None = None,
) -> bytes:
    """One appointment as an iCalendar invite (REQUEST) or its withdrawal (CANCEL).

    The same `uid` with a higher `sequence` makes calendars update (a move) or remove (a cancel) the event
    they already hold, instead of adding a second one. Times are written in UTC so no VTIMEZONE is needed.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    start_utc, end_utc = _utc(start, "start"), _utc(end, "end")
    if end_utc <= start_utc:
        raise ValueError("end must be after start")
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["CN"] = vText(organizer_name)
    event = Event.new(
        uid=uid,
        stamp=_utc(stamp, "stamp"),
        start=start_utc,
        end=end_utc,
        summary=summary,
        location=location,
        description=description,
        organizer=organizer,
        sequence=sequence,
    )
    event.add("status", "CONFIRMED" if method == "REQUEST" else "CANCELLED")
    if attendee_email:
        # RSVP=FALSE: the booking is already made; no accept/decline replies to the clinic's mailbox.
        event.add(
            "attendee", f"mailto:{attendee_email}", parameters={"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"}
        )
    if method == "REQUEST":
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    # Not Calendar.new(): it adds a random calendar UID, and the same appointment should give the same bytes.
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    return calendar.to_ical()


def _one_line(value: str, name: str) -> str:
    """Header values from outside (a client's address, a subject from a template) may not add headers."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must not contain line breaks")
    return value


def _address(value: str, name: str) -> str:
    """The bare address in `value`, which must name exactly one mailbox."""
    _one_line(value, name)
    found = getaddresses([value])
    _, address = parseaddr(value)
    if len(found) != 1 or found[0][1] != address:
        raise ValueError(f"{name} must be one email address")
    local, at, domain = address.rpartition("@")
    if not at or not local or "@" in local or "." not in domain or any(c.isspace() for c in address):
        raise ValueError(f"{name} must be one email address")
    return address


def _domain(sender: str) -> str:
    return _address(sender, "sender").rpartition("@")[2]


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    ics: bytes | None = None,
    method: str = "REQUEST",
    reply_to: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """A plain-text email; with `ics`, the calendar both inline and as invite.ics, as clients expect.

    The inline text/calendar alternative is what Gmail and Outlook turn into an invite card; the attachment
    is what other clients (and people) open. Both carry the exact bytes, base64-encoded, so the CRLF line
    ends and folding of the calendar survive transport.
    """
    if not method.isalpha():
        raise ValueError("method must be a word like REQUEST or CANCEL")
    _address(to, "to")
    message = EmailMessage()
    message["From"] = _one_line(sender, "sender")
    message["To"] = to
    if reply_to:
        _address(reply_to, "reply_to")
        message["Reply-To"] = reply_to
    message["Subject"] = _one_line(subject, "subject")
    message["Date"] = format_datetime(_utc(date, "date") if date else datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    if ics is not None:
        # MIMEParts, not add_alternative()/add_attachment(): those give every part its own MIME-Version.
        inline = MIMEPart()
        inline.set_content(ics, "text", "calendar", params={"method": method.upper(), "charset": "utf-8"})
        attachment = MIMEPart()
        attachment.set_content(ics, "application", "ics", disposition="attachment", filename="invite.ics")
        message.make_alternative()
        message.attach(inline)
        message.make_mixed()
        message.attach(attachment)
    return message


class MailFailed(Exception):
    """A message the mail server did not take: `reason` in plain words (no personal data), and whether
    sending it again later can help (`retry`): yes after a timeout, a lost connection or a 4xx reply; no
    after a 5xx refusal or a login the server rejected, which need a person to change something first."""

    def __init__(self, reason: str, *, retry: bool, kind: str, code: int | None = None) -> None:
        super().__init__(reason if code is None else f"{reason} ({code})")
        self.reason = reason
        self.retry = retry
        self.kind = kind  # a short slug for logs and metrics, e.g. "unreachable", "recipient_refused"
        self.code = code  # the SMTP reply code, when the server gave one


def _refused(what: str, kind: str, code: int) -> MailFailed:
    """A reply code: 4xx is the server saying "not now", 5xx is "no"."""
    if 400 <= code < 500:
        return MailFailed(f"the mail server deferred {what}", retry=True, kind=f"{kind}_deferred", code=code)
    return MailFailed(f"the mail server refused {what}", retry=False, kind=f"{kind}_refused", code=code)


def _translate(err: Exception) -> MailFailed:
    """What aiosmtplib raised, as a MailFailed; the order matters, since its errors subclass each other."""
    if isinstance(err, aiosmtplib.SMTPAuthenticationError):
        if 400 <= err.code < 500:
            return MailFailed(
                "the mail server could not check the login", retry=True, kind="login_deferred", code=err.code
            )
        return MailFailed(
            "the mail server refused the login", retry=False, kind="login_refused", code=err.code
        )
    if isinstance(err, aiosmtplib.SMTPResponseException) and err.code == 530:  # at MAIL FROM, usually
        return MailFailed("the mail server requires a login", retry=False, kind="login_required", code=530)
    if isinstance(err, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in err.recipients]
        # Retry only if every refusal was temporary: a 5xx for any recipient will not change by waiting.
        code = max(codes) if codes else 550
        return _refused("the recipient", "recipient", code)
    if isinstance(err, aiosmtplib.SMTPRecipientRefused):
        return _refused("the recipient", "recipient", err.code)
    if isinstance(err, aiosmtplib.SMTPConnectTimeoutError):
        return MailFailed("timed out reaching the mail server", retry=True, kind="connect_timeout")
    if isinstance(err, aiosmtplib.SMTPTimeoutError):
        return MailFailed("the mail server timed out", retry=True, kind="timeout")
    if isinstance(err, aiosmtplib.SMTPSenderRefused):
        return _refused("the sender address", "sender", err.code)
    if isinstance(err, aiosmtplib.SMTPDataError):
        return _refused("the message", "message", err.code)
    if isinstance(err, aiosmtplib.SMTPResponseException):  # greeting, HELO, STARTTLS, other commands
        return _refused("the connection", "server", err.code)
    if isinstance(err, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return MailFailed("the mail server could not be reached", retry=True, kind="unreachable")
    if isinstance(err, aiosmtplib.SMTPNotSupported):  # e.g. a non-ASCII address and no SMTPUTF8
        return MailFailed("the mail server cannot take this address", retry=False, kind="not_supported")
    if isinstance(err, aiosmtplib.SMTPException):
        text = str(err).lower()
        if "starttls" in text:
            return MailFailed("the mail server does not offer STARTTLS", retry=False, kind="no_starttls")
        if "auth" in text:
            return MailFailed("the mail server does not offer a login", retry=False, kind="no_auth")
        return MailFailed("the mail server could not take the message", retry=False, kind="smtp_error")
    # OSError: DNS failures, refused connections, TLS handshakes; a timeout is an OSError too.
    if isinstance(err, TimeoutError):
        return MailFailed("the mail server timed out", retry=True, kind="timeout")
    return MailFailed("the mail server could not be reached", retry=True, kind="unreachable")


class Mailer:
    """Sends through the SMTP server in the config; one connection per message, which is all that
    confirmations and reminders, a few per appointment, need."""

    def __init__(self, smtp: SmtpConfig) -> None:
        self.smtp = smtp

    @property
    def enabled(self) -> bool:
        """Email is on when the config names a mail server."""
        return bool(self.smtp.host)

    async def send(self, message: EmailMessage) -> str:
        """Hand `message` to the server and return its Message-ID; raise MailFailed if it was not taken."""
        if not self.enabled:
            raise MailFailed("email is off: no mail server in the config", retry=False, kind="disabled")
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=_domain(self.smtp.sender))
        smtp = self.smtp
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username or None,
                password=smtp.password if smtp.username else None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                timeout=smtp.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as err:
            failed = _translate(err)
            log.warning(
                "event=mail.failed kind=%s retry=%s code=%s error=%s",
                failed.kind,
                str(failed.retry).lower(),
                failed.code if failed.code is not None else "-",
                type(err).__name__,
            )
            raise failed from err
        log.info("event=mail.sent")
        return str(message["Message-ID"])
