"""Encryption at rest for the columns that hold secrets or free-text health data (channel access tokens,
client notes): AES-256-GCM under keys from the config, each value naming the key that wrote it.

A stored value reads `enc:1:<key id>:<base64url(nonce + ciphertext + tag)>`. The key id (8 hex digits of a
hash of the key, never the key) lets rotation find values not yet under the newest key with a plain SQL
prefix test, and lets a reader say which key is missing. The column's name is the associated data, so a
value copied into another column does not open. Reads accept every configured key; writes use the first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "enc:1:"
KEY_ID_LENGTH = 8
HEAD_LENGTH = len(PREFIX) + KEY_ID_LENGTH + 1  # "enc:1:3f2a9c1b:"
KEY_BYTES = 32
_NONCE_BYTES = 12
# Where the keyring hangs on an engine's dialect (one dialect object per engine; see `attach`).
_ATTRIBUTE = "jola_keyring"


class SealedError(Exception):
    """A value that cannot be encrypted or read: one line a person can act on, never the value itself."""


class NoKeys(SealedError):
    """The database was opened without encryption keys, and an encrypted column was used."""


class UnreadableValue(SealedError):
    """A stored value that none of the configured keys opens (`key_id` None: it is not encrypted at all)."""

    def __init__(self, column: str, key_id: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.key_id = key_id


def new_key() -> str:
    """A fresh key as the config holds it: 32 random bytes, URL-safe base64 (44 characters)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def decode_key(text: str) -> bytes:
    """The key's bytes; ValueError (without the key in the message) when it is not one `new_key` makes."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError("is not an encryption key (make one with: jola keys new)")
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"jola encryption key id\0" + key).hexdigest()[:KEY_ID_LENGTH]


def key_id_of(value: str) -> str | None:
    """The id of the key a stored value was written with; None when it is not an encrypted value."""
    if not value.startswith(PREFIX) or len(value) < HEAD_LENGTH or value[HEAD_LENGTH - 1] != ":":
        return None
    return value[len(PREFIX) : HEAD_LENGTH - 1]


class Keyring:
    """The configured keys, newest first: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise NoKeys("no encryption key given")
        raw = [key if isinstance(key, bytes) else decode_key(key) for key in keys]
        self.order = tuple(key_id(key) for key in raw)  # newest first
        self._ciphers = {key_id(key): AESGCM(key) for key in raw}
        self.newest_id = self.order[0]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def seal(self, plaintext: str, column: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.newest_id].encrypt(nonce, plaintext.encode(), column.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.newest_id}:{body}"

    def open(self, value: str, column: str) -> str:
        kid = key_id_of(value)
        if kid is None:
            raise UnreadableValue(column, None, f"{column}: a stored value is not encrypted")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnreadableValue(
                column,
                kid,
                f"{column}: a stored value is encrypted with key {kid}, which is not among the configured "
                "keys ([security] encryption_keys)",
            )
        body = value[HEAD_LENGTH:]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], column.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise UnreadableValue(
                column, kid, f"{column}: a stored value under key {kid} is damaged and cannot be decrypted"
            ) from None


def attach(engine: Any, keyring: Keyring | None) -> None:
    """Give an engine its keys. They hang on the engine's own dialect object, which SQLAlchemy hands to
    every column type it binds or reads with (no module global; each Database has its own engine)."""
    setattr(engine.dialect, _ATTRIBUTE, keyring)


def keyring_of(dialect: Any) -> Keyring:
    keyring = getattr(dialect, _ATTRIBUTE, None)
    if keyring is None:
        raise NoKeys(
            "an encrypted column was used, but no encryption key is configured "
            "([security] encryption_keys or $JOLA_ENCRYPTION_KEYS)"
        )
    return keyring


class Sealed(TypeDecorator[str]):
    """A text column stored encrypted: code reads and writes plain strings; the rows hold ciphertext."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column  # "table.column": the associated data of every value

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).seal(value, self.column)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).open(value, self.column)
