"""What every `jola` command shares: the one-line error a user can act on, stopping on a signal, and the
database error said in plain words. Kept apart so the commands never import each other."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from sqlalchemy.engine import make_url

from bot.config import Config


class CommandError(Exception):
    """Something the user can fix; printed as one line, no traceback."""


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


def describe_database_error(config: Config, err: BaseException) -> str:
    url = make_url(config.database.url).render_as_string(hide_password=True)
    reason = str(getattr(err, "orig", None) or err).splitlines()[0][:200]
    return f"cannot open the database {url}: {reason}"
