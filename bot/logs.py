"""One line per event, key=value, with ids and outcomes; never names, phone numbers or message text.

Lines are written by a thread of their own (`BackgroundWriter`): a `write()` to stderr is a system call,
and when stderr is a pipe (systemd, Docker, a terminal) one per line costs the event loop more than the
rest of an ack does, or stalls it outright while the reader is slow. The loop formats the line and hands
it over; the thread writes what gathered, at most every `GATHER_SECONDS`. Each time that thread wakes it
needs the GIL from a busy loop, which cost more than expected: waking every 20 ms added ~100 µs of CPU per
handled message (stage_costs.py, dispatch stage), every 100 ms ~40 µs.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sys
import threading
import time
from typing import TextIO

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
MAX_QUEUED = 50_000  # lines waiting for a stuck reader; past that, lines are counted and dropped
FLUSH_TIMEOUT = 5.0  # seconds that flush() and close() wait for the writer thread
GATHER_SECONDS = 0.1  # after a write, lines gather this long: one wake-up and one write per batch


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    handler = BackgroundWriter(stream or sys.stderr)
    handler.setFormatter(LineFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    # Our lines show none of these; not looking them up makes each record several µs cheaper (the logging
    # documentation's "Optimization" section).
    logging._srcfile = None  # type: ignore[attr-defined]  # no caller lookup: no file, line or function
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]  # Python 3.12+
    # aiohttp's access log would print request paths with query strings (the verify token); keep it quiet.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    quiet_server_errors()


def quiet_server_errors() -> None:
    """Put `ServerErrorFilter` on aiohttp's server logger (once)."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ServerErrorFilter) for f in server.filters):
        server.addFilter(ServerErrorFilter())


class ServerErrorFilter(logging.Filter):
    """aiohttp's own error lines, made safe and short.

    A request it cannot parse is logged with the exception's message, which quotes the start of the
    request line (a URL over 8 kB: the verify token in its query); it becomes one line with the error's
    name and status. A client that went away mid-request (reset, cut at a deadline, a broken body) is
    not our error: its traceback, hundreds under a flood of slow clients, shows only at debug level, as
    one line. Anything else (a bug) keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if isinstance(error, HttpProcessingError):
            _rewrite(record, logging.INFO, "event=http.bad_request error=%s status=%s", error, error.code)
            return True
        if isinstance(error, (ConnectionError, asyncio.CancelledError, TimeoutError, RequestPayloadError)):
            _rewrite(record, logging.DEBUG, "event=http.client_gone error=%s", error)
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def _rewrite(record: logging.LogRecord, level: int, msg: str, error: BaseException, *args: object) -> None:
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.msg, record.args = msg, (type(error).__name__, *args)
    record.exc_info, record.exc_text = None, None


class LineFormatter(logging.Formatter):
    """The standard format, with the date and time of the current second built once, not per line."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"


class BackgroundWriter(logging.Handler):
    """Writes formatted lines on a daemon thread, everything queued at the time in one write.

    The line is formatted when the record is emitted (its arguments may change later, and the thread then
    holds the GIL only briefly); the system call happens on the thread. A line is written at most
    `GATHER_SECONDS` after it is logged (at once when none was written for that long), together with
    everything logged meanwhile. `flush()` waits until everything logged before it is written;
    `logging.shutdown()` (at exit) calls it, so a normal exit loses nothing.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._queue: queue.SimpleQueue[str | threading.Event | None] = queue.SimpleQueue()
        self._dropped = 0
        self._dropped_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            with self._dropped_lock:
                self._dropped += 1
            return
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._queue.put(line)

    def flush(self) -> None:
        if not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(FLUSH_TIMEOUT)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(FLUSH_TIMEOUT)
        super().close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines: list[str] = []
            with self._dropped_lock:
                dropped, self._dropped = self._dropped, 0
            if dropped:
                lines.append(self._dropped_line(dropped))
            waiters: list[threading.Event] = []
            stop = False
            for item in batch:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    lines.append(item)
            if lines:
                try:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
                except Exception:  # a closed or broken stderr must not kill the writer
                    pass
            for waiter in waiters:
                waiter.set()
            if stop:
                return
            # Each wake of this thread takes the GIL from the loop, so under load let lines gather (put()
            # wakes nobody while it sleeps); when idle, get() above waits for the next line.
            time.sleep(GATHER_SECONDS)

    def _dropped_line(self, count: int) -> str:
        record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, "", None, None)
        record.msg = f"event=log.dropped lines={count} reason=writer_behind"
        return self.format(record)
