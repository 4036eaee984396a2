"""Signed cookies for staff sessions and CSRF tokens, keyed by `server.secret_key`.

A session cookie holds the staff id, their session version (a new password ends old sessions), when it was
issued and a random nonce; it is signed with HMAC-SHA256, so it cannot be forged or altered, and carries no
personal data. The CSRF token is an HMAC of the nonce: a page's forms carry it, and a request without it (or
with another session's) changes nothing. The login form, before any session, uses a nonce cookie of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_COOKIE = "jola_session"
LOGIN_COOKIE = "jola_login"
SESSION_LIFE = timedelta(days=7)
LOGIN_LIFE = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Session:
    staff_id: int
    version: int
    nonce: str
    issued: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret_key: str) -> None:
        # A key of its own for sessions, derived so the same secret signs nothing else the same way.
        self._key = hmac.new(secret_key.encode(), b"jola staff sessions", hashlib.sha256).digest()

    def _mac(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}:{data}".encode(), hashlib.sha256).digest())

    def session_cookie(self, staff_id: int, version: int, now: datetime) -> tuple[str, Session]:
        nonce = secrets.token_urlsafe(18)
        body = _b64(json.dumps([staff_id, version, nonce, int(now.timestamp())]).encode())
        issued = datetime.fromtimestamp(int(now.timestamp()), now.tzinfo)
        return f"{body}.{self._mac('session', body)}", Session(staff_id, version, nonce, issued)

    def read_session(self, value: str | None, now: datetime) -> Session | None:
        if not value or len(value) > 400 or value.count(".") != 1:
            return None
        if not value.isascii():
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac("session", body).encode()):
            return None
        try:
            staff_id, version, nonce, issued_at = json.loads(_unb64(body))
            issued = datetime.fromtimestamp(int(issued_at), now.tzinfo)
        except (ValueError, TypeError):
            return None
        if not isinstance(staff_id, int) or not isinstance(version, int) or not isinstance(nonce, str):
            return None
        if not now - SESSION_LIFE <= issued <= now + timedelta(minutes=5):
            return None
        return Session(staff_id, version, nonce, issued)

    def csrf_token(self, nonce: str) -> str:
        return self._mac("csrf", nonce)

    def csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(str(token).encode(), self.csrf_token(str(nonce)).encode())

    def throttle_key(self, kind: str, value: str) -> str:
        """What a failed login is counted under: a keyed hash, never the email or address itself."""
        return f"{kind}:{self._mac('throttle', value)[:40]}"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)
