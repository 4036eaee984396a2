"""The staff app's door: logging in and out, sessions, CSRF, throttling, and one business never seeing
another's conversations (issue 15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from yarl import URL

from bot import keys
from bot.config import parse_config
from bot.web.passwords import hash_password
from bot.web.sessions import SESSION_COOKIE
from storage.models import Conversation, LoginFailure
from storage.staff_accounts import set_password
from tests.conftest import DatabaseTarget, Jola, WhatsAppClient, make_config, start_jola
from tests.support.fake_graph import FakeGraph
from tests.support.staff import PASSWORD, StaffBrowser, add_account


@pytest.fixture
async def browser(jola: Jola) -> AsyncIterator[StaffBrowser]:
    await add_account(jola)
    opened = StaffBrowser(jola)
    yield opened
    await opened.close()


async def test_a_page_sends_a_stranger_to_the_login_and_back(jola: Jola, browser: StaffBrowser) -> None:
    page = await browser.get("/inbox?show=mine")
    assert page.url.startswith("/login?next=")
    assert '<input type="email" name="email"' in page
    assert '<input type="hidden" name="next" value="/inbox?show=mine">' in page
    page = await browser.post(
        "/login", {"email": "Reception@Harbour.example ", "password": PASSWORD, "next": "/inbox?show=mine"}
    )
    assert (page.status, page.url) == (200, "/inbox?show=mine")
    assert "Rita Reception" in page and "Harbour Clinic" in page


async def test_a_script_gets_401_not_a_redirect(jola: Jola) -> None:
    response = await jola.client.get("/inbox", headers={"Accept": "application/json"}, allow_redirects=False)
    assert response.status == 401
    response = await jola.client.post("/conversations/1/takeover", allow_redirects=False)
    assert response.status == 401


async def test_wrong_password_and_unknown_email_read_the_same(browser: StaffBrowser) -> None:
    await browser.get("/login")
    wrong = await browser.post("/login", {"email": "reception@harbour.example", "password": "not it at all"})
    unknown = await browser.post("/login", {"email": "nobody@harbour.example", "password": "not it at all"})
    assert wrong.status == unknown.status == 400
    assert "Wrong email or password." in wrong and "Wrong email or password." in unknown
    assert 'value="reception@harbour.example"' in wrong  # the email stays in the form


@pytest.mark.parametrize(
    "form",
    [{}, {"email": "reception@harbour.example"}, {"password": PASSWORD}, {"email": "  ", "password": "x"}],
)
async def test_a_missing_field_gets_the_form_back(browser: StaffBrowser, form: dict[str, str]) -> None:
    await browser.get("/login")
    page = await browser.post("/login", form)
    assert page.status == 400 and "Enter your email and password." in page


async def test_an_oversized_field_is_refused_plainly(browser: StaffBrowser) -> None:
    await browser.get("/login")
    page = await browser.post("/login", {"email": "a" * 300 + "@x.dk", "password": PASSWORD})
    assert page.status == 400 and "Wrong email or password." in page


async def test_login_without_the_forms_token_is_403(browser: StaffBrowser) -> None:
    await browser.get("/login")
    page = await browser.post(
        "/login", {"email": "reception@harbour.example", "password": PASSWORD}, csrf="x"
    )
    assert page.status == 403
    assert (await browser.get("/inbox")).url.startswith("/login")


async def test_five_wrong_passwords_lock_the_account_for_a_while(jola: Jola, browser: StaffBrowser) -> None:
    await browser.get("/login")
    for _ in range(5):
        assert (
            await browser.post("/login", {"email": "reception@harbour.example", "password": "guess " * 2})
        ).status == 400
    page = await browser.post("/login", {"email": "reception@harbour.example", "password": PASSWORD})
    assert page.status == 429 and "Too many failed attempts. Wait 15 minutes and try again." in page
    async with jola.db.read() as session:  # counted under keyed hashes, never the address itself
        keys = (await session.execute(select(LoginFailure.key))).scalars().all()
    assert keys and not any("harbour" in key or "127.0.0.1" in key for key in keys)


async def test_a_good_login_clears_the_accounts_count(jola: Jola, browser: StaffBrowser) -> None:
    await browser.get("/login")
    for _ in range(4):
        await browser.post("/login", {"email": "reception@harbour.example", "password": "guess " * 2})
    assert (await browser.log_in()).url == "/inbox"
    async with jola.db.read() as session:
        left = (await session.execute(select(func.count()).select_from(LoginFailure))).scalar()
    assert left == 4  # the address's count stays; the account's is gone


async def test_the_session_cookie_is_httponly_lax_and_signed(jola: Jola, browser: StaffBrowser) -> None:
    await browser.log_in()
    [cookie] = [c for c in browser.http.cookie_jar if c.key == SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http on 127.0.0.1
    forged = cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB")
    browser.http.cookie_jar.clear()
    browser.http.cookie_jar.update_cookies({SESSION_COOKIE: forged}, response_url=URL(browser.base))
    assert (await browser.get("/inbox")).url.startswith("/login")


async def test_a_change_without_the_csrf_token_is_403(jola: Jola, browser: StaffBrowser) -> None:
    await WhatsAppClient(jola).says("hello")
    await browser.log_in()
    async with jola.db.read() as session:
        conversation = (await session.execute(select(Conversation.id))).scalar_one()
    assert (await browser.post(f"/conversations/{conversation}/takeover", csrf="")).status == 403
    assert (await browser.post(f"/conversations/{conversation}/takeover", csrf="forged")).status == 403
    async with jola.db.read() as session:
        assert (await session.get(Conversation, conversation)).handled_by == "bot"


async def test_logout_ends_the_session(browser: StaffBrowser) -> None:
    await browser.log_in()
    page = await browser.post("/logout")
    assert page.url == "/login"
    assert (await browser.get("/inbox")).url.startswith("/login")


async def test_a_new_password_ends_other_sessions(jola: Jola, browser: StaffBrowser) -> None:
    await browser.log_in()
    async with jola.db.write() as session:
        await set_password(
            session,
            "reception@harbour.example",
            hash_password("a brand new secret"),
            jola.app[keys.CLOCK].now(),
        )
    assert (await browser.get("/inbox")).url.startswith("/login")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_next_never_leaves_the_site(browser: StaffBrowser, target: str) -> None:
    await browser.get("/login")
    page = await browser.post(
        "/login", {"email": "reception@harbour.example", "password": PASSWORD, "next": target}
    )
    assert page.url == "/inbox"


async def test_another_business_conversation_is_404(database: DatabaseTarget, fake_graph: FakeGraph) -> None:
    config = make_config(database, fake_graph.url)
    data = config.model_dump()
    other = {
        **data["businesses"][0],
        "id": "other-clinic",
        "name": "Other Clinic",
        "api_token": "other-token",
        "channels": [],
    }
    data["businesses"].append(other)
    jola = await start_jola(parse_config(data, environ={}), fake_graph)
    try:
        await WhatsAppClient(jola).says("hello")
        await add_account(jola, "someone@other.example", business="other-clinic")
        browser = StaffBrowser(jola)
        await browser.log_in("someone@other.example")
        async with jola.db.read() as session:
            conversation = (await session.execute(select(Conversation.id))).scalar_one()
        assert (await browser.get(f"/conversations/{conversation}")).status == 404
        assert (await browser.post(f"/conversations/{conversation}/takeover")).status == 404
        assert (await browser.post(f"/conversations/{conversation}/reply", {"text": "hi"})).status == 404
        assert "No conversations yet." in await browser.get("/inbox")
        await browser.close()
    finally:
        await jola.client.close()


def test_every_text_of_the_staff_app_is_in_danish() -> None:
    """Each string a page or handler shows through t() has a Danish translation."""
    import json
    import re

    from bot.web.calendar import REFUSALS
    from bot.web.i18n import WEB_TEMPLATES
    from bot.web.reasons import BY_CODE, PLAIN

    said: set[str] = (
        set(REFUSALS.values())
        | {words for _, words in PLAIN}
        | set(BY_CODE.values())
        | {"Meta did not say why."}
        | {
            "That cannot be booked then.",
            "That practitioner does not do this service.",
        }
    )
    from bot.web import settings
    from flows.business_texts import VARIABLES

    said |= set(settings.LABELS.values()) | set(settings.DAY_NAMES.values()) | {"new"}
    said |= {plain for _, plain in settings._PLAIN} | {what for what, _ in VARIABLES.values()}
    from bot import reminders

    said |= {
        reminders.NO_CHANNEL, reminders.STARTED, reminders.NOT_ACTIVE, reminders.OPTED_OUT,
        reminders.INSTAGRAM_CLOSED, reminders.NO_TEMPLATE, reminders.DISCONNECTED,
    }  # fmt: skip
    for page in WEB_TEMPLATES.rglob("*.html"):
        text = page.read_text()
        said |= set(re.findall(r'\bt\(\s*"((?:[^"\\]|\\.)*)"', text))
        said |= set(re.findall(r"\bt\(\s*'((?:[^'\\]|\\.)*)'", text))
    for module in (WEB_TEMPLATES.parent.parent / "bot" / "web").glob("*.py"):
        said |= set(re.findall(r'error="([^"]*\.)"', module.read_text()))  # sentences; codes end bare
    danish: dict[str, str] = {}
    for table in [WEB_TEMPLATES / "da.json", *sorted((WEB_TEMPLATES / "da").glob("*.json"))]:
        found = json.loads(table.read_text())
        assert not set(found) & set(danish), f"{table.name} translates a text another file translates"
        danish.update(found)
    assert said - set(danish) == set()
    assert set(danish) - said == set()  # nothing translated that is no longer said


# ------------------------------------------------------------------------------------------ from a review


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0a/evil.example", "/\t/evil.example"])
async def test_control_characters_cannot_make_an_open_redirect(browser: StaffBrowser, target: str) -> None:
    await browser.log_in()
    async with browser.http.get(
        browser.base + "/login?next=" + target.replace("\t", "%09"), allow_redirects=False
    ) as response:
        assert response.headers["Location"] == "/inbox"


async def test_wrong_passwords_sent_at_once_still_meet_the_limit(browser: StaffBrowser) -> None:
    await browser.get("/login")
    pages = await asyncio.gather(
        *(
            browser.post("/login", {"email": "reception@harbour.example", "password": "guess " * 2})
            for _ in range(12)
        )
    )
    assert sum(page.status == 400 for page in pages) <= 5
    assert (
        await browser.post("/login", {"email": "reception@harbour.example", "password": PASSWORD})
    ).status == 429


async def test_a_failed_login_keeps_where_the_person_was_going(browser: StaffBrowser) -> None:
    await browser.get("/login?next=/clients")
    page = await browser.post(
        "/login", {"email": "reception@harbour.example", "password": "nope nope!", "next": "/clients"}
    )
    assert '<input type="hidden" name="next" value="/clients">' in page


async def test_a_replayed_cookie_after_logout_opens_nothing(browser: StaffBrowser) -> None:
    await browser.log_in()
    [cookie] = [c.value for c in browser.http.cookie_jar if c.key == SESSION_COOKIE]
    await browser.post("/logout")
    browser.http.cookie_jar.update_cookies({SESSION_COOKIE: cookie}, response_url=URL(browser.base))
    assert (await browser.get("/inbox")).url.startswith("/login")


async def test_odd_tokens_and_cookies_are_refused_not_500(jola: Jola, browser: StaffBrowser) -> None:
    await browser.log_in()
    async with browser.http.post(
        browser.base + "/account/language", data={"language": "da"}, headers={"X-CSRF-Token": "é"}
    ) as response:
        assert response.status == 403
    browser.http.cookie_jar.clear()
    browser.http.cookie_jar.update_cookies({SESSION_COOKIE: "abc.é"}, response_url=URL(browser.base))
    assert (await browser.get("/inbox")).url.startswith("/login")


async def test_a_file_where_a_choice_belongs_is_a_400(browser: StaffBrowser) -> None:
    await browser.log_in()
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.csrf)
    form.add_field("language", b"da", filename="x.txt")
    async with browser.http.post(browser.base + "/account/language", data=form) as response:
        assert response.status == 400


@pytest.mark.parametrize(
    "path",
    [
        "/inbox?after=2026-01-01T00:00:00~5",
        "/inbox?after=~99999999999999999999999",
        "/inbox?after=garbage",
        "/calendar?date=9999-12-31",
        "/calendar?date=0001-01-01",
    ],
)
async def test_odd_query_values_are_ignored(browser: StaffBrowser, path: str) -> None:
    await browser.log_in()
    assert (await browser.get(path)).status == 200


def test_the_address_behind_a_trusted_proxy() -> None:
    from aiohttp.test_utils import make_mocked_request

    from bot.web.login import client_address

    app = web.Application()
    app[keys.CONFIG] = parse_config(
        {"server": {"trusted_proxies": ["10.0.0.1"]}, "businesses": []}, environ={}
    )

    def asked(remote: str, forwarded: str | None) -> str:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return client_address(
            make_mocked_request("POST", "/login", headers=headers, app=app, transport=_Peer(remote))
        )

    assert asked("10.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert asked("10.0.0.1", "1.2.3.4, 203.0.113.9") == "203.0.113.9"  # the client can write the left part
    assert asked("10.0.0.1", "203.0.113.9, 10.0.0.1") == "203.0.113.9"
    assert asked("198.51.100.7", "203.0.113.9") == "198.51.100.7"  # not a proxy we trust


class _Peer:
    def __init__(self, host: str) -> None:
        self.host = host

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self.host, 40000) if name == "peername" else default
