#!/usr/bin/env python3
"""`jola serve` without its background workers: the webhook stores deliveries and answers, and nothing
handles them. For `webhook_load.py --acks-only`, which measures the ceiling of the ack path on its own.

    python benchmarks/serve_acks_only.py CONFIG HOST PORT

Run with Jola importable (the work tree installed, or PYTHONPATH at a source tree). Prints the same
"Jola is listening on http://HOST:PORT" line as `jola serve`.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys


async def main(config_path: str, host: str, port: int) -> None:
    from aiohttp import web

    from bot.app import create_app
    from bot.config import load_config
    from bot.logs import setup_logging

    config = load_config(config_path)
    setup_logging(config.server.log_level)
    runner = web.AppRunner(create_app(config, workers=False), access_log=None, handle_signals=False)
    await runner.setup()
    gc.collect()
    gc.freeze()  # as bot/serve.py does
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"Jola is listening on http://{host}:{bound} (acks only: no workers)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
