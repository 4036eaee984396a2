"""Ending background tasks without cutting a database transaction in half."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_tasks(tasks: list[asyncio.Task[None]], grace: float = 10.0) -> None:
    """Wait for tasks that were asked to stop; cancel the ones still running after `grace` seconds."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
