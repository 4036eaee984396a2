"""Slow and silent clients: deadlines for a request's headers and body, and a bound on open connections.

aiohttp closes an idle keep-alive connection (`keepalive_timeout`), but has no deadline for the first
request's headers and none for a body, so a client sending nothing, half a request line or a body a byte
a minute holds its file descriptor forever. Here:
- every connection `jola serve` accepts is wrapped (`GuardedSite`): one that has not started a request
  `header_timeout` after it opened is closed;
- a request whose body has not fully arrived `body_timeout` after its headers loses its connection
  (`body_deadline`, a middleware: it also works under the test server);
- at most `max_connections` are open; a new one closes the oldest still waiting for its headers, else the
  oldest idle keep-alive one, and only when every connection is busy with a request is the new one closed.
  A client has to complete its headers (which Meta does at once) to be safe from eviction, so silent
  clients cannot crowd out deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.config import ServerConfig

log = logging.getLogger(__name__)

GUARD: web.AppKey[ConnectionGuard] = web.AppKey("connection_guard")
WAITING, BUSY, IDLE = "waiting", "busy", "idle"
SPARE_FILES = 128  # descriptors kept for the database, log files, the Graph client


class ConnectionGuard:
    """Open connections in order of arrival, each `waiting` (no request yet), `busy` or `idle`."""

    def __init__(self, header_timeout: float, body_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self._open: dict[asyncio.BaseTransport, _Guarded] = {}  # insertion order: oldest first
        self.closed = {"header_timeout": 0, "body_timeout": 0, "evicted": 0, "refused": 0}

    @classmethod
    def from_config(cls, server: ServerConfig) -> ConnectionGuard:
        return cls(server.header_timeout_seconds, server.body_timeout_seconds, server.max_connections)

    def fit_file_limit(self) -> None:
        """Never more connections than the process may open files (less a few for everything else)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft - SPARE_FILES < self.max_connections:
            self.max_connections = max(8, soft - SPARE_FILES)
            log.warning("event=server.max_connections value=%d reason=file_limit", self.max_connections)

    @property
    def open_count(self) -> int:
        return len(self._open)

    def protocol_factory(self, server: Callable[[], RequestHandler]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(server(), self)

    def _admit(self, conn: _Guarded) -> bool:
        if len(self._open) >= self.max_connections:
            victim = self._oldest(WAITING) or self._oldest(IDLE)
            if victim is None:
                self.closed["refused"] += 1
                return False
            self.closed["evicted"] += 1
            victim.close()
        self._open[conn.transport] = conn
        return True

    def _oldest(self, state: str) -> _Guarded | None:
        return next((c for c in self._open.values() if c.state == state and not c.closing), None)

    def _forget(self, conn: _Guarded) -> None:
        self._open.pop(conn.transport, None)

    def begin(self, request: web.BaseRequest) -> None:
        conn = self._open.get(request.transport)  # type: ignore[arg-type]
        if conn is not None:
            conn.state = BUSY

    def end(self, request: web.BaseRequest) -> None:
        conn = self._open.get(request.transport)  # type: ignore[arg-type]
        if conn is not None and conn.state == BUSY:
            conn.state = IDLE


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the header deadline and a place in the guard."""

    def __init__(self, inner: RequestHandler, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.state = WAITING
        self.closing = False
        self.transport: Any = None
        self._deadline: asyncio.TimerHandle | None = None
        self._started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.guard._admit(self):
            self.closing = True
            transport.abort()  # type: ignore[attr-defined]
            return
        self._started = True
        self.inner.connection_made(transport)
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.guard.header_timeout, self._headers_due)

    def _headers_due(self) -> None:
        self._deadline = None
        if self.state == WAITING and not self.closing:
            self.guard.closed["header_timeout"] += 1
            self.close()

    def close(self) -> None:
        self.closing = True
        self.guard._forget(self)  # at once: a burst of new connections must not evict one each
        self.transport.abort()  # no lingering: the client sent nothing we owe an answer to

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.guard._forget(self)
        if self._started:
            self.inner.connection_lost(exc)


class GuardedSite(web.SockSite):
    """A SockSite whose connections go through the guard (`jola serve` listens through it)."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, guard: ConnectionGuard, **kw: Any) -> None:
        super().__init__(runner, sock, **kw)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self.guard.protocol_factory(server), sock=self._sock, backlog=self._backlog
        )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_deadline(guard: ConnectionGuard) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware: a body not fully received `guard.body_timeout` after the headers closes the
    connection; the handler's read then fails and the client gets nothing."""

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.begin(request)
        timer = None
        if request.body_exists and not request.content.is_eof():
            timer = asyncio.get_running_loop().call_later(guard.body_timeout, _body_due, request, guard)
        try:
            return await handler(request)
        finally:
            if timer is not None:
                timer.cancel()
            guard.end(request)

    return deadline


def _body_due(request: web.Request, guard: ConnectionGuard) -> None:
    if request.content.is_eof() or request.transport is None:
        return
    guard.closed["body_timeout"] += 1
    log.info("event=server.closed reason=body_timeout")
    request.transport.abort()
