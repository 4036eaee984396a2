"""JSON in and out, through orjson. A message passes through JSON about ten times on its way (the webhook
body, the inbox payload, the message and outbox payload columns, the Graph call and its answer), and the
standard library's json takes 5-10 times as long for each."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


def loads(data: str | bytes) -> Any:
    """Raises ValueError (orjson.JSONDecodeError) on anything that is not JSON, invalid UTF-8 included."""
    return orjson.loads(data)
