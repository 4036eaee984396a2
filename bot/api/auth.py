"""Bearer token → business: the API's only door, so every query after it is scoped to one business."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import Config
from bot.tenants import business_profiles
from flows.calendar_cache import CalendarCache
from flows.context import BusinessProfile


@dataclass(frozen=True, slots=True)
class Tenant:
    """What the API needs of one business: who it is, its zone, buffer and token, and its profile
    (services, practitioners, rooms, classes and booking rules, as the bot sees them)."""

    id: str
    zone: ZoneInfo
    buffer: timedelta
    token: bytes
    profile: BusinessProfile

    def __repr__(self) -> str:  # never print the token
        return f"Tenant(id={self.id!r})"


TENANTS: web.AppKey[tuple[Tenant, ...]] = web.AppKey("api_tenants")
TENANT: web.RequestKey[Tenant] = web.RequestKey("api_tenant")
# The API's own kept calendars (flows/calendar_cache.py), as the dispatcher has its own.
CALENDARS: web.AppKey[CalendarCache] = web.AppKey("api_calendars", CalendarCache)


def tenants_of(config: Config) -> tuple[Tenant, ...]:
    profiles = business_profiles(config)
    return tuple(
        Tenant(
            id=b.id,
            zone=ZoneInfo(b.timezone),
            buffer=profiles[b.id].rules.buffer,
            token=b.api_token.encode(),
            profile=profiles[b.id],
        )
        for b in config.businesses
    )


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
