"""Who is asking: the address a request came from, believing X-Forwarded-For only from our own proxies.
The staff app's login throttling and the REST API's limits count per address with it."""

from __future__ import annotations

from aiohttp import web

from bot import keys

MAX_HOPS = 20  # X-Forwarded-For entries looked at, from the right: the proxies' own come last
MAX_LENGTH = 64


def client_address(request: web.Request) -> str:
    """The peer, or behind a proxy listed in `server.trusted_proxies`, the nearest address in
    X-Forwarded-For that is not one of them (the right-most ones are the ones the proxies added)."""
    trusted = set(request.app[keys.CONFIG].server.trusted_proxies)
    peer = request.remote or "-"
    if peer not in trusted:
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops[-MAX_HOPS:]):
        if hop not in trusted:
            return hop[:MAX_LENGTH]
    return peer
