"""The businesses as this process sees them (flows, API, staff app), kept in step with the database: a
settings save raises the business's version, and each process reloads a business whose version moved on
its next message, so every process answers with the new settings without a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from bot.business_settings import business_with
from bot.config import BusinessConfig, Config, ConfigError
from bot.tenants import business_profile
from flows.context import BusinessProfile
from storage import business_settings as store
from storage.db import Database

log = logging.getLogger(__name__)

# Pages and API calls look at most this often (seconds) for another process's save; messages every batch.
PAGE_CHECK_EVERY = 1.0


class Profiles:
    def __init__(self, config: Config) -> None:
        self._bases = {b.id: b for b in config.businesses}
        self._settings: dict[str, BusinessConfig] = dict(self._bases)
        self._profiles = {b.id: business_profile(b) for b in config.businesses}
        self._versions: dict[str, int] = {}
        self._checked = 0.0

    def get(self, business_id: str) -> BusinessProfile | None:
        return self._profiles.get(business_id)

    def __getitem__(self, business_id: str) -> BusinessProfile:
        return self._profiles[business_id]

    def __contains__(self, business_id: object) -> bool:
        return business_id in self._profiles

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def settings(self, business_id: str) -> BusinessConfig:
        """The business as its settings stand (a config model, channels and secrets from the file)."""
        return self._settings[business_id]

    def base(self, business_id: str) -> BusinessConfig:
        return self._bases[business_id]

    def version(self, business_id: str) -> int | None:
        return self._versions.get(business_id)

    def put(self, business: BusinessConfig, version: int) -> None:
        """This process saved `business` as `version`: use it at once."""
        self._settings[business.id] = business
        self._profiles[business.id] = business_profile(business)
        self._versions[business.id] = version

    async def refresh(self, session: AsyncSession) -> None:
        """Reload every business whose settings moved since this process read them (one small query)."""
        self._checked = time.monotonic()
        versions = await store.versions(session)
        stale = [b for b in self._bases if b in versions and versions[b] != self._versions.get(b)]
        if not stale:
            return
        for business_id, stored in (await store.documents(session, stale)).items():
            try:
                business = business_with(self._bases[business_id], stored.document)
            except ConfigError as err:  # saved by an older release, or edited by hand: keep what we had
                log.error("event=settings.unusable business=%s problems=%d", business_id, len(err.problems))
                self._versions[business_id] = stored.version
                continue
            self.put(business, stored.version)

    async def refresh_now(self, db: Database) -> None:
        async with db.read() as session:
            await self.refresh(session)

    async def refresh_soon(self, db: Database) -> None:
        """For pages: at most every PAGE_CHECK_EVERY seconds."""
        if time.monotonic() - self._checked >= PAGE_CHECK_EVERY:
            await self.refresh_now(db)
