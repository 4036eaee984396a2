"""X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when `header` is a valid signature of the exact bytes `body` under one of `secrets`.

    Compares bytes, not str: `compare_digest` raises on non-ASCII str, which would turn a probe into a 500.
    """
    if not header:
        return False
    received = header.strip().encode("ascii", "replace")
    if not received.startswith(PREFIX.encode()):
        return False
    ok = False
    for secret in secrets:
        if secret:
            ok |= hmac.compare_digest(sign(body, secret).encode(), received)
    return ok
