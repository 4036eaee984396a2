"""Debian's chromium for the browser tests, driven by Playwright (its own browser download does not work
here). Without it the tests skip, unless CI asks for them (JOLA_BROWSER_TESTS=required): then they fail."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

CHROMIUM = "/usr/bin/chromium"
REQUIRED = os.environ.get("JOLA_BROWSER_TESTS") == "required"
MISSING = "no /usr/bin/chromium (apt-get install chromium)"


def missing() -> bool:
    return not shutil.which(CHROMIUM) and not REQUIRED


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
            ],
        )
        try:
            yield launched
        finally:
            await launched.close()
