"""Passwords hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); hashing runs in a
thread so a login never stalls the event loop that answers webhooks."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
_HASHER = PasswordHasher()
# Checked when no account has the email, so a wrong address takes as long as a wrong password.
_DUMMY = _HASHER.hash("no account has this password")


class WeakPassword(ValueError):
    pass


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new(password)
    return _HASHER.hash(password)


def _verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(right, a fresh hash when the stored one used older parameters)."""
    if len(password) > MAX_LENGTH:
        return False, None
    try:
        _HASHER.verify(password_hash or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    return True, _HASHER.hash(password) if _HASHER.check_needs_rehash(password_hash) else None


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    return await asyncio.to_thread(_verify, password_hash, password)
