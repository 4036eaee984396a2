"""Calls to Meta's Graph API and the errors they end in, sorted by what we should do about them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from storage import json_codec


class SendError(Exception):
    """A send that did not go through; `transient` says whether trying again later may help."""

    transient = False

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.subcode = subcode
        self.http_status = http_status

    @property
    def summary(self) -> str:
        parts = [type(self).__name__]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        return " ".join(parts) + f": {self.reason}"[:250]


class TransientSendError(SendError):
    """Network trouble, 5xx, throttling: retry with backoff."""

    transient = True


class RateLimited(TransientSendError):
    """130429 (number throughput), 131056 (pair rate), 4/80007/613 (app or account call rate), HTTP 429."""

    codes = (4, 613, 80007, 130429, 131056)


class PermanentSendError(SendError):
    """Retrying cannot help; the reason is stored on the message and shown to staff."""


class OutsideWindow(PermanentSendError):
    """More than 24 hours since the client last wrote: only a template (or a tag) may be sent."""

    codes = (131047,)


class TokenInvalid(PermanentSendError):
    """The access token expired or was revoked: the channel needs re-authorising."""

    codes = (190,)


class PermissionMissing(PermanentSendError):
    codes = (3, 10, *range(200, 300))


class RecipientUnavailable(PermanentSendError):
    codes = (131026, 551, 131030)


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
            raise TransientSendError(f"network: {type(err).__name__}") from err
        try:
            parsed = json_codec.loads(raw) if raw else {}
        except ValueError:
            parsed = {}
        if status >= 400 or (isinstance(parsed, dict) and "error" in parsed):
            raise classify(status, parsed)
        return parsed if isinstance(parsed, dict) else {}
