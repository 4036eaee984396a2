"""`jola doctor`: a real config checked the way going live needs it (docs/going-live.md). Secrets, the
database, the public address, the Meta app and every channel are each said to be right or wrong, in plain
words with the fix. Nothing is changed anywhere: the database is only read, Graph calls are GETs.
The exit status is 0 when nothing is wrong (warnings allowed), 1 otherwise."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.config import Config, ConfigError, load_config
from bot.doctor.database import check_database
from bot.doctor.meta import check_channel, check_meta_app
from bot.doctor.public import check_public_url
from bot.doctor.report import FAIL, OK, WARN, Check, Report
from bot.graph import GraphClient
from bot.secret_policy import secret_problems

__all__ = ["Check", "Report", "diagnose", "doctor"]

GRAPH_TIMEOUT_SECONDS = 15


async def doctor(path: Path, *, as_json: bool = False) -> int:
    """Check the config at `path`, print the report (text or JSON), and say 0 (fit) or 1."""
    try:
        config = load_config(path)
    except ConfigError as err:
        report = Report(path, tuple(_config_problem(line) for line in err.problems))
    else:
        report = await diagnose(config, path)
    print(report.as_json() if as_json else report.as_text(), flush=True)
    return 0 if report.ok else 1


def _config_problem(line: str) -> Check:
    subject, _, message = line.partition(": ")
    fix = "correct it (every key is documented in config.example.toml), then run jola doctor again"
    return Check("config", subject, FAIL, message or subject, fix)


def check_secrets(config: Config) -> list[Check]:
    problems = secret_problems(config)
    keys = ["server.secret_key", "meta.app_secret", "meta.verify_token"]
    keys += [f"businesses[{i}].api_token" for i, b in enumerate(config.businesses) if b.api_token]
    keys += [p.key for p in problems if p.key not in keys]
    checks = []
    for key in keys:
        found = [p for p in problems if p.key == key]
        checks += [Check("secrets", key, FAIL, p.problem, p.fix) for p in found]
        if not found and _is_set(config, key):
            said = "set, and not an example value or too short"
            if key == "meta.app_secret":
                said = "has the form of a Meta app secret (whether it is this app's: see Meta app)"
            checks.append(Check("secrets", key, OK, said))
    return checks


def _is_set(config: Config, key: str) -> bool:
    if key.startswith("businesses["):
        return True
    section, _, name = key.partition(".")
    return bool(getattr(getattr(config, section), name))


async def diagnose(config: Config, path: Path) -> Report:
    """Every check of `config`; the slow ones (database, network) run side by side."""
    meta = config.meta
    async with aiohttp.ClientSession() as session:
        graph = GraphClient(session, meta.graph_api_url, meta.graph_api_version, GRAPH_TIMEOUT_SECONDS)
        instagram = GraphClient(
            session, meta.instagram_graph_api_url, meta.graph_api_version, GRAPH_TIMEOUT_SECONDS
        )
        database, public, (app, app_ok) = await asyncio.gather(
            check_database(config), check_public_url(config, session), check_meta_app(config, graph)
        )
        channels = await asyncio.gather(
            *(
                check_channel(
                    config, business, channel, instagram if channel.login == "instagram" else graph, app_ok
                )
                for business in config.businesses
                for channel in business.channels
            )
        )
    checks = [*check_secrets(config), *database, *public, *app]
    for found in channels:
        checks += found
    if not config.businesses:
        fix = "add a [[businesses]] block (config.example.toml shows every key)"
        checks.append(Check("config", "businesses", FAIL, "the config has no business", fix))
    elif not any(business.channels for business in config.businesses):
        fix = "add [[businesses.channels]] for WhatsApp, Messenger or Instagram (docs/going-live.md)"
        checks.append(
            Check("channels", "businesses", WARN, "no business has a channel clients can write to", fix)
        )
    return Report(path, tuple(checks))
