"""Typed keys for what the app shares (no module globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.channels.directory import ChannelDirectory
    from bot.clock import Clock
    from bot.config import Config
    from bot.metrics import Metrics
    from bot.pipeline import Pipeline
    from bot.profiles import Profiles
    from storage.db import Database

CONFIG: web.AppKey[Config] = web.AppKey("config")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
DATABASE: web.AppKey[Database] = web.AppKey("database")
DIRECTORY: web.AppKey[ChannelDirectory] = web.AppKey("directory")
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
# The businesses as their settings stand (bot/profiles.py): flows, API and staff app read them from here.
PROFILES: web.AppKey[Profiles] = web.AppKey("profiles")
