"""Bearer token → business: the API's only door, so every query after it is scoped to one business."""

from __future__ import annotations

import hmac
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Config
from bot.profiles import Profiles
from flows.calendar_cache import CalendarCache
from flows.context import BusinessProfile


class Tenant:
    """What the API and the staff app need of one business: who it is and its token, and its profile
    (services, practitioners, rooms, classes and booking rules as the bot sees them right now: the
    settings pages may change them while the process runs, bot/profiles.py)."""

    __slots__ = ("_profiles", "id", "token")

    def __init__(self, id: str, token: bytes, profiles: Profiles) -> None:
        self.id, self.token, self._profiles = id, token, profiles

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
    return tuple(Tenant(b.id, b.api_token.encode(), profiles) for b in config.businesses)


class Unauthorized(Exception):
    """No usable bearer token; `presented` tells a missing token from a wrong one."""

    def __init__(self, presented: bool) -> None:
        super().__init__("missing or invalid bearer token")
        self.presented = presented


def authenticate(request: web.Request) -> Tenant:
    """The business whose api_token the request carries; every token is compared, in constant time."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(presented=False)
    presented = token.encode("utf-8", "surrogateescape")
    found = None
    for tenant in request.app[TENANTS]:
        if hmac.compare_digest(presented, tenant.token) and tenant.token and found is None:
            found = tenant
    if found is None:
        raise Unauthorized(presented=True)
    return found
