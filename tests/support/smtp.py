"""A real SMTP server (aiosmtpd) on 127.0.0.1, on the test's own event loop, that records what it receives.

Started with `loop.create_server` rather than aiosmtpd's threaded Controller, so the server, the client under
test and `wait_for` share one loop: no threads, no sleeps, and nothing left running after the test.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

REFUSED = "550 5.1.1 No such mailbox here"
DEFERRED = "451 4.3.0 Try again later"


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None  # who authenticated, when the server asked


@dataclass
class SmtpServer:
    """The running server: its port, what it received, and replies to give instead of accepting."""

    port: int = 0
    messages: list[Received] = field(default_factory=list)
    # Recipient address -> the reply to RCPT TO, e.g. REFUSED or DEFERRED; "*" for every recipient.
    refuse: dict[str, str] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Until at least `count` messages have arrived; fails the test after `timeout` seconds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.messages) >= count)
        return self.messages

    # aiosmtpd handler hooks

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse.get(address) or self.refuse.get("*")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = cast(bytes, envelope.original_content or envelope.content)
        # Parsed as a mail client stores it: with the SMTP line ends (CRLF) made plain newlines.
        parsed = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        message = cast(EmailMessage, parsed)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw, login)
        async with self._changed:
            self.messages.append(received)
            self._changed.notify_all()
        return "250 Message accepted for delivery"


def _authenticator(username: str, password: str) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return check


@asynccontextmanager
async def smtp_server(*, login: tuple[str, str] | None = None) -> AsyncIterator[SmtpServer]:
    """A server on a free port of 127.0.0.1 for the length of the `async with`.

    `login=(username, password)` makes it offer AUTH (over plain text, as this is a test) and require it.
    """
    loop = asyncio.get_running_loop()
    recorder = SmtpServer()
    options: dict[str, Any] = {}
    if login:
        options = {
            "authenticator": _authenticator(*login),
            "auth_required": True,
            "auth_require_tls": False,
        }

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: aiosmtpd rightly warns; here it is the point
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(recorder, hostname="mail.test", loop=loop, **options)

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    recorder.port = server.sockets[0].getsockname()[1]
    try:
        yield recorder
    finally:
        server.close()
        await server.wait_closed()
