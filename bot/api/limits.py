"""The REST API's limits, met before any work is done: a 429 with Retry-After in the API's error shape.

- Requests: a token bucket per business token (`api.rate_per_second`, `api.burst`) and one per client
  address (`api.address_*`), kept in this process: several processes each allow as much.
- Wrong bearer tokens: each is counted per address in the database (storage/api_failures.py), so the count
  holds across processes; from the `api.failed_auth_limit`-th within `api.failed_auth_window_seconds`,
  every request from that address is a 429, a right token too, until the oldest failure leaves the window.
  A process learns of a block at the first wrong token it sees itself, so with N processes an address gets
  at most N more tries per window. A missing token or another scheme is a 401 but not a guess: not counted.

The address is the client's (bot/addresses.py: behind `server.trusted_proxies`, X-Forwarded-For's).
Addresses never reach the logs or the database in the clear (the database holds a keyed hash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot import keys
from bot.addresses import client_address
from bot.api.auth import Tenant, Unauthorized, authenticate
from bot.api.json import error_response
from bot.config import ApiConfig
from storage import api_failures

log = logging.getLogger(__name__)

KINDS = ("token", "address", "failed_auth")  # the `limit` label of jola_api_throttled
MOST_KEPT = 10_000  # addresses (and tokens) with a bucket in memory; the least recently seen go first
KEEP_FAILURES = timedelta(hours=1)  # longer than any window; older failures are deleted
SWEEP_EVERY = 60.0  # seconds between deletions of other addresses' old failures
_MESSAGES = {
    "token": "too many requests with this business's token",
    "address": "too many requests from this address",
    "failed_auth": "too many wrong tokens from this address",
}


class Throttled(Exception):
    """Over a limit: `kind` is one of KINDS, `wait` the seconds until a request would pass."""

    def __init__(self, kind: str, wait: float) -> None:
        super().__init__(_MESSAGES[kind])
        self.kind = kind
        self.retry_after = max(1, math.ceil(wait))

    def response(self) -> web.Response:
        return error_response(
            429,
            f"{self}; retry after {self.retry_after} seconds",
            headers={"Retry-After": str(self.retry_after)},
            retry_after=self.retry_after,
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """Token buckets by key: `burst` requests at once, then `rate` a second. At most MOST_KEPT keys are
    kept, the least recently seen dropped first (a dropped bucket comes back full)."""

    def __init__(self, rate: float, burst: int, most: int = MOST_KEPT) -> None:
        self.rate, self.burst, self.most = rate, burst, most
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> float:
        """Take one request's token: 0.0 when there was one, else the seconds until there is."""
        if self.rate <= 0:
            return 0.0
        bucket = self._buckets.pop(key, None)  # put back last: the dict's order is the order of use
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + max(0.0, now - bucket.at) * self.rate)
            bucket.at = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.most:
            del self._buckets[next(iter(self._buckets))]
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class ApiLimits:
    """The limits of one process (its buckets, and the addresses it knows to be blocked)."""

    def __init__(self, config: ApiConfig, secret_key: str) -> None:
        self.config = config
        self.tokens = Buckets(config.rate_per_second, config.burst)
        self.addresses = Buckets(config.address_rate_per_second, config.address_burst)
        self.window = timedelta(seconds=config.failed_auth_window_seconds)
        self._blocked: dict[str, float] = {}  # address -> until (a timestamp)
        self._hash_key = hmac.new(secret_key.encode(), b"jola api failures", hashlib.sha256).digest()
        self._swept = 0.0

    def failure_key(self, address: str) -> str:
        mac = hmac.new(self._hash_key, address.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
        return api_failures.KEY_PREFIX + base64.urlsafe_b64encode(mac).decode()[:40]

    def before_auth(self, address: str, now: float) -> None:
        """An address blocked for wrong tokens, or over its own rate: Throttled."""
        until = self._blocked.get(address)
        if until is not None:
            if until > now:
                raise Throttled("failed_auth", until - now)
            del self._blocked[address]
        wait = self.addresses.take(address, now)
        if wait:
            raise Throttled("address", wait)

    def after_auth(self, tenant: Tenant, now: float) -> None:
        wait = self.tokens.take(tenant.id, now)
        if wait:
            raise Throttled("token", wait)

    async def wrong_token(self, request: web.Request, address: str, now: datetime) -> None:
        """Count a wrong token; the one that reaches the limit blocks the address from the next request
        on, and one past it (another process's count, or sent at the same time) is Throttled itself."""
        db = request.app[keys.DATABASE]
        since = now - self.window
        async with db.write() as session:
            failures = await api_failures.note_failure(session, self.failure_key(address), now, since)
            if time.monotonic() - self._swept >= SWEEP_EVERY:
                self._swept = time.monotonic()
                await api_failures.forget_old(session, now - KEEP_FAILURES)
        limit = self.config.failed_auth_limit
        if len(failures) < limit:
            return
        until = (failures[len(failures) - limit] + self.window).timestamp()
        if address not in self._blocked:
            log.warning("event=api.address_blocked seconds=%d", math.ceil(until - now.timestamp()))
        self._block(address, until, now.timestamp())
        if len(failures) > limit:
            raise Throttled("failed_auth", until - now.timestamp())

    def _block(self, address: str, until: float, now: float) -> None:
        if len(self._blocked) >= MOST_KEPT:
            self._blocked = {a: u for a, u in self._blocked.items() if u > now}
            while len(self._blocked) >= MOST_KEPT:
                del self._blocked[next(iter(self._blocked))]
        self._blocked[address] = max(until, self._blocked.get(address, 0.0))


LIMITS: web.AppKey[ApiLimits] = web.AppKey("api_limits", ApiLimits)


async def admit(request: web.Request) -> Tenant:
    """The request's business, once every limit lets it through (Unauthorized, or Throttled)."""
    app = request.app
    limits, metrics = app[LIMITS], app[keys.METRICS]
    moment = app[keys.CLOCK].now()
    now = moment.timestamp()
    address = client_address(request)
    try:
        limits.before_auth(address, now)
        try:
            tenant = authenticate(request)
        except Unauthorized as refused:
            metrics.count(metrics.api_auth_failures, "invalid" if refused.presented else "missing")
            if refused.presented and keys.DATABASE in app:
                await limits.wrong_token(request, address, moment)
            raise
        limits.after_auth(tenant, now)
    except Throttled as throttled:  # the door's log line says 429; the metric says which limit
        metrics.count(metrics.api_throttled, throttled.kind)
        raise
    return tenant
