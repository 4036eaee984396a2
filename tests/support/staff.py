"""Staff in the tests: accounts made straight in the database, and a browser-like HTTP client (its own
cookie jar, the CSRF token read off each page) for the staff web app."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from bot import keys
from bot.web.passwords import hash_password
from storage.staff_accounts import add_staff
from tests.conftest import Jola

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'data-csrf="([^"]*)"|name="csrf_token" value="([^"]*)"')


async def add_account(
    jola: Jola,
    email: str = "reception@harbour.example",
    *,
    name: str = "Rita Reception",
    role: str = "staff",
    business: str = "harbour-clinic",
    locale: str = "en",
    password: str = PASSWORD,
) -> int:
    async with jola.db.write() as session:
        return await add_staff(
            session,
            business,
            email=email,
            name=name,
            password_hash=hash_password(password),
            role=role,
            locale=locale,
            now=jola.app[keys.CLOCK].now(),
        )


class Page:
    def __init__(self, status: int, text: str, url: str) -> None:
        self.status = status
        self.text = text
        self.url = url

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text


class StaffBrowser:
    """One person's browser: cookies kept, redirects followed, forms sent with the page's CSRF token."""

    def __init__(self, jola: Jola) -> None:
        self.base = str(jola.client.make_url("")).rstrip("/")
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **headers: str) -> Page:
        async with self.http.get(
            self.base + path, headers={"Accept": "text/html", **headers}, allow_redirects=True
        ) as response:
            return self._read(response.status, await response.text(), str(response.url))

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None, follow: bool = True
    ) -> Page:
        form = {**(data or {}), "csrf_token": self.csrf if csrf is None else csrf}
        async with self.http.post(
            self.base + path, data=form, headers={"Accept": "text/html"}, allow_redirects=follow
        ) as response:
            return self._read(response.status, await response.text(), str(response.url))

    def _read(self, status: int, text: str, url: str) -> Page:
        tokens = [a or b for a, b in _CSRF.findall(text) if a or b]
        if tokens:
            self.csrf = tokens[0]
        return Page(status, text, url.removeprefix(self.base))

    async def log_in(self, email: str = "reception@harbour.example", password: str = PASSWORD) -> Page:
        await self.get("/login")
        return await self.post("/login", {"email": email, "password": password})
