"""`jola serve`: one process with the webhook, the API and the background workers."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.app import create_app
from bot.config import Config
from bot.connections import GUARD, GuardedSite
from bot.process import CommandError, describe_database_error, install_stop_signals

log = logging.getLogger(__name__)

YOUNG_COLLECTION_EVERY = 10_000  # net allocations of container objects between young collections


def settle_memory() -> None:
    """Once the app has started: keep what lives as long as the process out of the collector's way.

    Everything loaded at start (libraries, templates, the schema) is frozen, out of the full passes that
    otherwise pause the loop (and every ack) for ~50 ms. Each request allocates a few hundred objects that
    die young; a collection every 700 allocations (the default) was ~7% of an ack's CPU, and objects that
    live a little longer (log records on their way to the writer thread, a batch's rows) were promoted and
    paid for in full passes. Every 10,000 allocations still finds cycles within a fraction of a second.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 10, 10)


async def serve(config: Config, host: str, port: int) -> None:
    # Take the port first: a taken port should fail before the database is touched.
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as err:
        raise CommandError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    runner = web.AppRunner(create_app(config), access_log=None, handle_signals=False)
    try:
        await runner.setup()
    except (SQLAlchemyError, OSError) as err:
        sock.close()
        await runner.cleanup()
        raise CommandError(describe_database_error(config, err)) from None
    settle_memory()
    await start_site(runner, sock)
    bound = sock.getsockname()[1]
    stop = asyncio.Event()
    install_stop_signals(stop)  # before saying it listens: a supervisor may signal as soon as it reads that
    print(
        f"Jola is listening on http://{host}:{bound} (staff app: http://{host}:{bound}/login, "
        "webhook: POST /webhook). Ctrl-C stops it.",
        flush=True,
    )
    if config.server.public_url:
        public = config.server.public_url.rstrip("/")
        print(
            f"Webhook URL to give Meta: {public}/webhook (with meta.verify_token as the verify token)",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        log.info("event=app.stopping")
        await runner.cleanup()


async def start_site(runner: web.AppRunner, sock: socket.socket) -> GuardedSite:
    """Listen on `sock` (the runner set up), each connection under the app's deadlines and bound."""
    guard = runner.app[GUARD]
    guard.fit_file_limit()
    site = GuardedSite(runner, sock, guard)
    await site.start()
    return site
