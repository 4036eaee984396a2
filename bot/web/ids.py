"""Numbers in the staff app's paths, queries and forms: row ids as digits, anything else is not one."""

from __future__ import annotations

from aiohttp import web


def number(raw: object) -> int | None:
    """A row id written as digits (at most 18), or None."""
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) <= 18 else None


def path_id(request: web.Request, what: str) -> int:
    """The `{id}` of the path; a 404 naming `what` when it is not a row id."""
    found = number(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text=f"no such {what}")
    return found
