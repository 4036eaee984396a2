"""Bearer token → business: the API's only door, so every query after it is scoped to one business."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.api_tokens import forget_plaintext
from bot.config import Config
from bot.profiles import Profiles
from flows.calendar_cache import CalendarCache
from flows.context import BusinessProfile


class Tenant:
    """What the API and the staff app need of one business: who it is and its token's SHA-256 digest
    (never the token: bot/api_tokens.py), and its profile (services, practitioners, rooms, classes and
    booking rules as the bot sees them right now: the settings pages may change them while the process
    runs, bot/profiles.py)."""

    __slots__ = ("_profiles", "digest", "id")

    def __init__(self, id: str, digest: bytes | None, profiles: Profiles) -> None:
        self.id, self.digest, self._profiles = id, digest, profiles

    @property
    def profile(self) -> BusinessProfile:
        return self._profiles[self.id]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.profile.timezone)

    @property
    def buffer(self) -> timedelta:
        return self.profile.rules.buffer  # type: ignore[no-any-return]

    def __repr__(self) -> str:  # never print the token
        return f"Tenant(id={self.id!r})"


TENANTS: web.AppKey[tuple[Tenant, ...]] = web.AppKey("api_tenants")
TENANT: web.RequestKey[Tenant] = web.RequestKey("api_tenant")
# The API's own kept calendars (flows/calendar_cache.py), as the dispatcher has its own.
CALENDARS: web.AppKey[CalendarCache] = web.AppKey("api_calendars", CalendarCache)


def tenants_of(config: Config, profiles: Profiles) -> tuple[Tenant, ...]:
    """The businesses with their tokens' digests; from here on the config holds no token either."""
    forget_plaintext(config)
    return tuple(
        Tenant(b.id, bytes.fromhex(b.api_token_sha256) if b.api_token_sha256 else None, profiles)
        for b in config.businesses
    )


class Unauthorized(Exception):
    """No usable bearer token; `presented` tells a missing token from a wrong one."""

    def __init__(self, presented: bool) -> None:
        super().__init__("missing or invalid bearer token")
        self.presented = presented


# Compared in place of a business without a token, so every business costs the same comparison.
_NO_TOKEN = secrets.token_bytes(32)


def authenticate(request: web.Request) -> Tenant:
    """The business whose token the request carries: the presented token's digest is compared with every
    business's, each in constant time and none skipped, so the time taken tells nothing of which matched."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(presented=False)
    presented = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
    found = None
    for tenant in request.app[TENANTS]:
        same = hmac.compare_digest(presented, tenant.digest or _NO_TOKEN)
        if same and tenant.digest is not None and found is None:
            found = tenant
    if found is None:
        raise Unauthorized(presented=True)
    return found
