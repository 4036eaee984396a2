#!/usr/bin/env python3
"""`jola serve` without its background workers: the webhook stores deliveries and answers, and nothing
handles them. For `webhook_load.py --acks-only`, which measures the ceiling of the ack path on its own.

    python benchmarks/serve_acks_only.py CONFIG

Run with Jola importable (the work tree installed, or PYTHONPATH at a source tree). Listens on a free port
of 127.0.0.1 and prints the same "Jola is listening on http://HOST:PORT" line as `jola serve`.
"""

from __future__ import annotations

import sys

import webhook_load as wl


def main(config_path: str) -> None:
    from bot.app import create_app
    from bot.config import load_config
    from bot.logs import setup_logging

    config = load_config(config_path)
    setup_logging(config.server.log_level)

    from bot.serve import settle_memory  # as `jola serve` does, once the app has started

    wl.run_loop(
        wl._serve_forever(
            create_app(config, workers=False),
            announce=f"Jola is listening on http://{wl.HOST}:{{port}} (acks only: no workers)",
            before_start=settle_memory,
        ),
        "uvloop",
    )


if __name__ == "__main__":
    main(sys.argv[1])
