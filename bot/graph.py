"""Calls to Meta's Graph API and the errors they end in, sorted by what we should do about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from bot import meta_errors
from storage import json_codec

SUMMARY_LIMIT = 300  # the stored reason's column (messages.error_title, outbox.last_error)


class SendError(Exception):
    """A send that did not go through; `transient` says whether trying again later may help.

    `reason` is what Meta (or our sender) said; `cause` names trouble on the way (network_timeout...);
    `key` and `words` say why in plain words (bot/meta_errors.py)."""

    transient = False
    default_key = "meta_refused"

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.cause = cause

    @property
    def key(self) -> str:
        """Why, as a short key: by Meta's code and subcode, else by the trouble, else by the kind."""
        found = meta_errors.key_for_code(self.code, self.subcode) or self.cause
        if found is None and self.code is None and self.http_status is None:  # our sender's own refusal
            found = meta_errors.own_key(self.reason)
            if found is None and type(self) in (SendError, PermanentSendError):
                found = "not_sent"  # no words of ours: its own are the reason
        return found or self.default_key

    @property
    def words(self) -> str:
        return meta_errors.REASONS.get(self.key, self.reason)

    @property
    def facts(self) -> str:
        """`code=131047 subcode=none http=400 reason=window_closed`: for log lines and the stored reason."""
        http = f" http={self.http_status}" if self.http_status is not None else ""
        return f"code={_or_none(self.code)} subcode={_or_none(self.subcode)}{http} reason={self.key}"

    @property
    def summary(self) -> str:
        """What is stored with the failed message: kind, facts, plain words, then what Meta said."""
        said = f"{type(self).__name__} {self.facts}: {self.words}"
        if self.reason and self.reason != self.words:
            said += f" Meta said: {self.reason}" if self.http_status is not None else f" ({self.reason})"
        return said[:SUMMARY_LIMIT]


def _or_none(value: int | None) -> str:
    return "none" if value is None else str(value)


class TransientSendError(SendError):
    """Network trouble, 5xx, throttling: retry with backoff."""

    transient = True

    @property
    def default_key(self) -> str:  # type: ignore[override]
        return "server_error" if (self.http_status or 0) >= 500 else "meta_unavailable"


class RateLimited(TransientSendError):
    """130429 (number throughput), 131056 (pair rate), 4/80007/613 (app or account call rate), HTTP 429."""

    codes = (4, 613, 80007, 130429, 131056)
    default_key = "rate_limited"


class PermanentSendError(SendError):
    """Retrying cannot help; the reason is stored on the message and shown to staff."""


class OutsideWindow(PermanentSendError):
    """More than 24 hours since the client last wrote: only a template (or a tag) may be sent."""

    codes = (131047,)
    default_key = "window_closed"


class TokenInvalid(PermanentSendError):
    """The access token expired or was revoked: the channel needs re-authorising."""

    codes = (190,)
    default_key = "token_invalid"


class PermissionMissing(PermanentSendError):
    codes = (3, 10, *range(200, 300))
    default_key = "permission_missing"


class RecipientUnavailable(PermanentSendError):
    codes = (131026, 551, 131030)
    default_key = "unreachable"


TRANSIENT_CODES = {1, 2, 131000, 131016, 131057}


def classify(status: int, body: Any) -> SendError:
    """Turn a Graph error response into the SendError that says what to do."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    message = str(error.get("message") or f"HTTP {status}")[:200]
    kwargs = {"code": code, "subcode": subcode, "http_status": status}
    if code == 10 and subcode == 2018278:
        return OutsideWindow(message, **kwargs)
    for cls in (RateLimited, OutsideWindow, TokenInvalid, RecipientUnavailable, PermissionMissing):
        if code in cls.codes:
            return cls(message, **kwargs)
    if status == 429:
        return RateLimited(message, **kwargs)
    if error.get("is_transient") is True or code in TRANSIENT_CODES or status >= 500:
        return TransientSendError(message, **kwargs)
    return PermanentSendError(message, **kwargs)


@dataclass(frozen=True, slots=True)
class GraphClient:
    """One HTTP session for every Graph call; errors never leave here as aiohttp exceptions."""

    session: aiohttp.ClientSession
    base_url: str
    version: str
    timeout: float = 20.0

    async def post(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        url = f"{self.base_url}/{self.version}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            async with self.session.post(
                url,
                data=json_codec.dumps_bytes(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise TransientSendError(f"network: {type(err).__name__}", cause=_trouble(err)) from err
        return _answer(status, raw)

    async def get(self, path: str, token: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A read-only call (`jola doctor`); errors come out as from `post`."""
        url = f"{self.base_url}/{self.version}/{path.lstrip('/')}"
        try:
            async with self.session.get(
                url,
                params=params or {},
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise TransientSendError(f"network: {type(err).__name__}", cause=_trouble(err)) from err
        return _answer(status, raw)


def _answer(status: int, raw: bytes) -> dict[str, Any]:
    try:
        parsed = json_codec.loads(raw) if raw else {}
    except ValueError:
        parsed = {}
    if status >= 400 or (isinstance(parsed, dict) and "error" in parsed):
        raise classify(status, parsed)
    return parsed if isinstance(parsed, dict) else {}


def _trouble(err: BaseException) -> str:
    """What went wrong on the way to Meta, as a reason key."""
    if isinstance(err, TimeoutError):  # aiohttp's own timeouts are TimeoutErrors too
        return "network_timeout"
    if isinstance(err, aiohttp.ClientSSLError):
        return "network_tls"
    cause = err.os_error if isinstance(err, aiohttp.ClientConnectorError) else err
    if isinstance(cause, ConnectionRefusedError):
        return "network_refused"
    return "network"
