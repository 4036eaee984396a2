"""The aiohttp application: routes plus one cleanup context that owns every shared resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot import health, keys, meta_callbacks, webhook
from bot.api import setup_api
from bot.body_limits import body_limit
from bot.clock import Clock
from bot.config import Config
from bot.connections import GUARD, ConnectionGuard, body_deadline
from bot.encryption import check_stored_values, keyring_for
from bot.graph import GraphClient
from bot.metrics import Metrics
from bot.pipeline import Pipeline
from bot.playground import open_playground
from bot.profiles import Profiles
from bot.sender import GraphTransport, Transport
from bot.tenants import sync_tenants
from bot.web import setup_web
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)

WORKERS: web.AppKey[bool] = web.AppKey("workers")


def open_database(config: Config) -> Database:
    return Database(
        config.database.url,
        schema=config.database.postgres_schema,
        synchronous=config.database.sqlite_synchronous,
        keyring=keyring_for(config),
    )


def create_app(config: Config, *, clock: Clock | None = None, workers: bool = True) -> web.Application:
    """`workers=False` stores deliveries without handling them (tests of crash recovery use it)."""
    guard = ConnectionGuard.from_config(config.server)
    app = web.Application(
        client_max_size=webhook.MAX_BODY,
        middlewares=[body_deadline(guard), body_limit],
        handler_args={
            # Bodies are read as sent: the webhook's signature covers the bytes on the wire, and nothing
            # is inflated on the way in (a small gzip body can hold gigabytes).
            "auto_decompress": False,
            "keepalive_timeout": config.server.keepalive_timeout_seconds,
            # After refusing a request unread, what is left of its body is read and dropped this long (so
            # the client sees the answer, not a reset), then the connection closes. aiohttp's is 10 s.
            "lingering_time": 2.0,
        },
    )
    app[GUARD] = guard
    app[keys.CONFIG] = config
    app[keys.CLOCK] = clock or Clock()
    app[keys.METRICS] = Metrics()
    app[keys.PROFILES] = Profiles(config)
    app[WORKERS] = workers
    app.add_routes(webhook.routes)
    app.add_routes(health.routes)
    app.add_routes(meta_callbacks.routes)
    setup_api(app)
    setup_web(app)
    app.cleanup_ctx.append(_lifecycle)
    app.on_response_prepare.append(_server_header)
    return app


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    """Not aiohttp's "Python/3.11 aiohttp/3.x": versions tell a prober which known bugs to try."""
    response.headers["Server"] = "Jola"


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    config, clock = app[keys.CONFIG], app[keys.CLOCK]
    db = open_database(config)
    try:
        await upgrade(db)
        await check_stored_values(db, config)  # every encrypted value opens with the keys, or no start
        directory = await sync_tenants(db, config, clock)
        playground = await open_playground(db, config, clock, directory)  # the staff app's /playground
        await app[keys.PROFILES].refresh_now(db)
    except BaseException:
        await db.dispose()
        raise
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(config.sender.concurrency, 10), ttl_dns_cache=300),
        raise_for_status=False,
    )
    graph = GraphClient(
        http, config.meta.graph_api_url, config.meta.graph_api_version, config.sender.timeout_seconds
    )
    transport = GraphTransport(graph)
    transports: dict[int, Transport] = {c.id: transport for c in directory if c.transport == "graph"}
    instagram_login = {
        c.external_id
        for b in config.businesses
        for c in b.channels
        if c.kind == "instagram" and c.login == "instagram"
    }
    if instagram_login:  # the Instagram API with Instagram Login: its tokens work only on its own host
        instagram = GraphTransport(
            GraphClient(
                http,
                config.meta.instagram_graph_api_url,
                config.meta.graph_api_version,
                config.sender.timeout_seconds,
            )
        )
        transports |= {
            c.id: instagram
            for c in directory
            if c.transport == "graph" and c.kind == "instagram" and c.external_id in instagram_login
        }
    transports.update(playground)
    pipeline = Pipeline(db, config, clock, app[keys.METRICS], directory, app[keys.PROFILES], transports)
    app[keys.DATABASE] = db
    app[keys.DIRECTORY] = directory
    app[keys.PIPELINE] = pipeline
    await pipeline.start(workers=app[WORKERS])
    await pipeline.live.start(db)
    log.info(
        "event=app.started businesses=%d channels=%d database=%s",
        len(config.businesses),
        len(transports) - len(playground),
        db.dialect,
    )
    try:
        yield
    finally:
        await pipeline.live.stop()
        await pipeline.stop()
        await http.close()
        await db.dispose()
