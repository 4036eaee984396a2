"""REST API hardening (issue 18): requests limited per business token and per address (429 with
Retry-After, in the API's error shape), wrong tokens throttled per address across processes, tokens kept
only as SHA-256 digests and compared with every business's, `jola api-token new`, and a body limit on
every route (a body sent without Content-Length included)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot import keys
from bot.api import auth
from bot.api.limits import Buckets
from bot.config import ApiConfig, ConfigError, parse_config
from storage.models import LoginFailure
from tests.conftest import DatabaseTarget, Jola, SettableClock, make_config, start_jola
from tests.support.clinic import NOW
from tests.support.fake_graph import FakeGraph
from tests.support.staff import StaffBrowser, add_account
from tests.test_cli import jola as run_jola
from tests.test_cli import write_config

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

TOKEN = {"Authorization": "Bearer api-token"}
NORTH = {"Authorization": "Bearer north-token"}
WRONG = {"Authorization": "Bearer guess"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config_of(
    database: DatabaseTarget, graph: FakeGraph, *, api: dict[str, Any] | None = None, **more: Any
) -> Any:
    """The clinic and a second business ("north-spa", token "north-token")."""
    config = make_config(database, graph.url, api=api or {}, **more)
    data = config.model_dump()
    data["businesses"].append(
        {**data["businesses"][0], "id": "north-spa", "name": "North Spa", "api_token": "north-token"}
        | {"channels": []}
    )
    return parse_config(data, environ={})


@pytest.fixture
async def clock() -> SettableClock:
    return SettableClock(NOW)


async def running(config: Any, graph: FakeGraph, clock: SettableClock) -> Jola:
    return await start_jola(config, graph, clock=clock)


@pytest.fixture
async def strict(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> AsyncIterator[Jola]:
    """Three requests at once per token, then one a second; addresses far looser."""
    config = config_of(
        database, fake_graph, api={"rate_per_second": 1, "burst": 3, "address_rate_per_second": 1000}
    )
    jola = await running(config, fake_graph, clock)
    yield jola
    await jola.client.close()


async def get(
    jola: Jola, headers: dict[str, str], path: str = "/api/v1/practitioners"
) -> aiohttp.ClientResponse:
    response = await jola.client.get(path, headers=headers)
    await response.read()
    return response


# ------------------------------------------------------------------------------------ requests per token


async def test_a_token_over_its_rate_gets_429_with_retry_after_until_time_refills_it(
    strict: Jola, clock: SettableClock
) -> None:
    """The burst passes, the next is a 429 in the API's error shape, and a second later one more passes."""
    for _ in range(3):
        assert (await get(strict, TOKEN)).status == 200
    refused = await get(strict, TOKEN)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["Cache-Control"] == "no-store"
    body = await refused.json()
    assert body["code"] == "rate_limited" and body["retry_after"] == 1
    assert "this business's token" in body["error"]
    clock.advance(seconds=1)
    assert (await get(strict, TOKEN)).status == 200
    assert (await get(strict, TOKEN)).status == 429


async def test_one_business_over_its_rate_leaves_another_alone(strict: Jola) -> None:
    for _ in range(4):
        await get(strict, TOKEN)
    assert (await get(strict, TOKEN)).status == 429
    assert (await get(strict, NORTH)).status == 200


async def test_throttled_requests_are_counted_by_limit(strict: Jola) -> None:
    for _ in range(5):
        await get(strict, TOKEN)
    metrics = await (await strict.client.get("/metrics")).text()
    assert 'jola_api_throttled_total{limit="token"} 2.0' in metrics
    assert 'jola_api_throttled_total{limit="address"} 0.0' in metrics
    assert 'jola_api_throttled_total{limit="failed_auth"} 0.0' in metrics


def test_the_documented_defaults() -> None:
    """100 a second with bursts of 600 per token (a nightly sync must not trip it); 100 wrong tokens a
    minute per address."""
    defaults = ApiConfig()
    assert (defaults.rate_per_second, defaults.burst) == (100, 600)
    assert (defaults.address_rate_per_second, defaults.address_burst) == (200, 1200)
    assert (defaults.failed_auth_limit, defaults.failed_auth_window_seconds) == (100, 60)


def test_a_bucket_refills_at_its_rate_and_never_past_its_burst() -> None:
    bucket = Buckets(rate=10, burst=60)
    assert all(bucket.take("a", 0.0) == 0 for _ in range(60))
    assert bucket.take("a", 0.0) == pytest.approx(0.1)
    assert bucket.take("a", 0.5) == 0  # five back
    assert sum(bucket.take("a", 1000.0) == 0 for _ in range(100)) == 60
    assert Buckets(rate=0, burst=1).take("a", 0.0) == 0  # 0 a second: no limit


def test_buckets_forget_the_least_recently_seen_first() -> None:
    bucket = Buckets(rate=1, burst=1, most=2)
    bucket.take("a", 0.0)
    bucket.take("b", 0.0)
    bucket.take("a", 0.0)  # a is seen again: b is now the oldest
    bucket.take("c", 0.0)
    assert bucket.take("a", 0.0) > 0  # still held, still empty
    assert bucket.take("b", 0.0) == 0  # forgotten, so full again


# --------------------------------------------------------------------------------- requests per address


async def test_an_address_over_its_rate_is_refused_whatever_the_token(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> None:
    config = config_of(database, fake_graph, api={"address_rate_per_second": 1, "address_burst": 2})
    jola = await running(config, fake_graph, clock)
    try:
        assert (await get(jola, TOKEN)).status == 200
        assert (await get(jola, NORTH)).status == 200
        refused = await get(jola, NORTH)
        assert refused.status == 429 and "from this address" in (await refused.json())["error"]
        assert (await get(jola, {})).status == 429  # no token, same address: the limit comes first
    finally:
        await jola.client.close()


async def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> None:
    """X-Forwarded-For counts only from a proxy in server.trusted_proxies; from anyone else it is ignored."""
    config = config_of(
        database,
        fake_graph,
        api={"address_rate_per_second": 1, "address_burst": 1},
        server={"trusted_proxies": ["127.0.0.1"]},
    )
    jola = await running(config, fake_graph, clock)
    try:
        first = {**TOKEN, "X-Forwarded-For": "203.0.113.7"}
        second = {**TOKEN, "X-Forwarded-For": "198.51.100.9, 127.0.0.1"}
        assert (await get(jola, first)).status == 200
        assert (await get(jola, first)).status == 429
        assert (await get(jola, second)).status == 200
    finally:
        await jola.client.close()
    untrusted = await running(
        config_of(database, fake_graph, api={"address_rate_per_second": 1, "address_burst": 1}),
        fake_graph,
        clock,
    )
    try:
        assert (await get(untrusted, {**TOKEN, "X-Forwarded-For": "203.0.113.7"})).status == 200
        assert (await get(untrusted, {**TOKEN, "X-Forwarded-For": "198.51.100.9"})).status == 429
    finally:
        await untrusted.client.close()


# ------------------------------------------------------------------------------------------ wrong tokens


@pytest.fixture
async def guarded(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> AsyncIterator[Jola]:
    """20 wrong tokens a minute per address (the default is 100)."""
    jola = await running(config_of(database, fake_graph, api={"failed_auth_limit": 20}), fake_graph, clock)
    yield jola
    await jola.client.close()


async def test_twenty_wrong_tokens_then_every_request_from_the_address_is_429_for_a_minute(
    guarded: Jola, clock: SettableClock
) -> None:
    for _ in range(20):
        assert (await get(guarded, WRONG)).status == 401
    blocked = await get(guarded, TOKEN)  # the right token too: a guess that lands would pass otherwise
    assert blocked.status == 429
    assert blocked.headers["Retry-After"] == "60"
    assert "wrong tokens" in (await blocked.json())["error"]
    clock.advance(seconds=59)
    assert (await get(guarded, TOKEN)).status == 429
    assert (await get(guarded, TOKEN)).headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert (await get(guarded, TOKEN)).status == 200


async def test_a_missing_token_is_no_guess(guarded: Jola) -> None:
    """No token, or another scheme, is a 401 every time, never counted towards the block."""
    for headers in [{}, {"Authorization": "Basic YXBpOg=="}] * 15:
        assert (await get(guarded, headers)).status == 401
    assert (await get(guarded, TOKEN)).status == 200
    metrics = await (await guarded.client.get("/metrics")).text()
    assert 'jola_api_auth_failures_total{reason="missing"} 30.0' in metrics


async def test_wrong_tokens_are_counted_under_a_keyed_hash_never_the_address(guarded: Jola) -> None:
    await get(guarded, WRONG)
    async with guarded.db.read() as session:
        stored = (await session.scalars(select(LoginFailure.key))).all()
    assert len(stored) == 1 and stored[0].startswith("api:")
    assert "127.0.0.1" not in stored[0]


async def test_the_block_holds_across_processes(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> None:
    """Two processes on one database: the one that did not see the guesses refuses the next one, and the
    right token after it, because the count is in the database."""
    config = config_of(database, fake_graph, api={"failed_auth_limit": 20})
    first = await running(config, fake_graph, clock)
    second = await running(config, fake_graph, clock)  # the same config: the tokens' digests by now
    try:
        for _ in range(20):
            assert (await get(first, WRONG)).status == 401
        assert (await get(second, TOKEN)).status == 200  # it has not heard yet
        assert (await get(second, WRONG)).status == 429  # its first wrong token: the database says 21
        assert (await get(second, TOKEN)).status == 429
        clock.advance(seconds=61)
        assert (await get(second, TOKEN)).status == 200
        assert (await get(first, TOKEN)).status == 200
    finally:
        await first.client.close()
        await second.client.close()


# ------------------------------------------------------------------------------------- tokens at rest


async def test_the_running_process_keeps_only_digests(guarded: Jola) -> None:
    config = guarded.app[keys.CONFIG]
    assert [b.api_token for b in config.businesses] == ["", ""]
    assert config.businesses[0].api_token_sha256 == sha256("api-token")
    tenants = guarded.app[auth.TENANTS]
    assert tenants[1].digest == hashlib.sha256(b"north-token").digest()
    assert "north-token" not in repr(tenants) and not hasattr(tenants[0], "token")


async def test_a_config_with_only_the_digest_opens_the_api_with_the_token(
    database: DatabaseTarget, fake_graph: FakeGraph, clock: SettableClock
) -> None:
    config = make_config(
        database, fake_graph.url, business={"api_token": "", "api_token_sha256": sha256("s3cret")}
    )
    jola = await running(config, fake_graph, clock)
    try:
        assert (await get(jola, {"Authorization": "Bearer s3cret"})).status == 200
        assert (await get(jola, {"Authorization": "Bearer " + sha256("s3cret")})).status == 401
    finally:
        await jola.client.close()


async def test_every_business_is_compared_whichever_matches(
    guarded: Jola, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No early exit: the first business's token costs as many comparisons as a wrong one."""
    compared: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(1)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    for headers in (TOKEN, NORTH, WRONG):
        compared.clear()
        await get(guarded, headers)
        assert len(compared) == 2, headers


def test_the_digest_is_checked_when_the_config_is_read() -> None:
    base = make_config(DatabaseTarget("sqlite+aiosqlite:///unused.db")).model_dump()
    base["businesses"][0]["api_token_sha256"] = "not hex"
    with pytest.raises(ConfigError) as bad:
        parse_config(base, environ={})
    assert bad.value.problems[0].startswith("businesses[0].api_token_sha256:")
    base["businesses"][0]["api_token_sha256"] = sha256("another token")
    with pytest.raises(ConfigError) as both:
        parse_config(base, environ={})
    assert both.value.problems == [
        "businesses[0].api_token_sha256: is not the digest of api_token; give only one"
    ]
    base["businesses"][0]["api_token_sha256"] = sha256("api-token").upper()
    assert parse_config(base, environ={}).businesses[0].api_token_sha256 == sha256("api-token")


def test_the_environment_may_give_the_digest() -> None:
    """JOLA_BUSINESS_<ID>_API_TOKEN_SHA256 wins over the file's token, as every secret's variable does."""
    data = make_config(DatabaseTarget("sqlite+aiosqlite:///unused.db")).model_dump()
    environ = {"JOLA_BUSINESS_HARBOUR_CLINIC_API_TOKEN_SHA256": sha256("from-env")}
    business = parse_config(data, environ=environ).businesses[0]
    assert (business.api_token, business.api_token_sha256) == ("", sha256("from-env"))


def test_api_token_new_prints_a_token_once_and_the_line_that_names_it(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jola.toml", f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    result = run_jola(
        "api-token", "new", "--business", "harbour-clinic", "--config", str(config), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    tokens = re.findall(r"^\s+(jola_[A-Za-z0-9_-]{43})$", result.stdout, re.M)
    [line] = re.findall(r'^\s+(api_token_sha256 = "[0-9a-f]{64}")$', result.stdout, re.M)
    assert len(tokens) == 1 and result.stdout.count(tokens[0]) == 1
    assert line == f'api_token_sha256 = "{sha256(tokens[0])}"'
    assert f"JOLA_BUSINESS_HARBOUR_CLINIC_API_TOKEN_SHA256={sha256(tokens[0])}" in result.stdout
    again = run_jola(
        "api-token", "new", "--business", "harbour-clinic", "--config", str(config), cwd=tmp_path
    )
    assert tokens[0] not in again.stdout
    unknown = run_jola("api-token", "new", "--business", "elsewhere", "--config", str(config), cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines() == [f'jola: {config} has no business "elsewhere"']


# -------------------------------------------------------------------------------------------- body size


async def chunked(size: int) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (chunked): only a limit checked while reading stops it."""
    piece = b"a=" + b"x" * 8190
    for _ in range(size // len(piece) + 1):
        yield piece


async def test_every_staff_app_form_refuses_a_big_chunked_body(guarded: Jola) -> None:
    """64 KiB for every form the staff app takes, announced or not (the app's own limit is 4 MiB): the
    first read of a form (the door's, for its CSRF token) stops there."""
    await add_account(guarded, "olga@harbour.example", name="Olga Owner", role="owner")
    browser = StaffBrowser(guarded)
    try:
        await browser.log_in("olga@harbour.example")
        posts = sorted(
            {
                re.sub(r"\{[^}]+\}", "1", route.resource.canonical)
                for route in guarded.app.router.routes()
                if route.method == "POST"
                and route.resource is not None
                and not route.resource.canonical.startswith(("/api/", "/webhook", "/meta/"))
            }
        )
        assert "/settings/{section}".replace("{section}", "1") in posts and len(posts) > 10
        for path in posts:
            async with browser.http.post(
                browser.base + path,
                data=chunked(100_000),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as response:
                assert response.status == 413, path
    finally:
        await browser.close()


async def test_meta_callbacks_and_the_api_refuse_big_chunked_bodies(guarded: Jola) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await guarded.client.post("/meta/data-deletion", data=chunked(100_000), headers=form)
    assert response.status == 413
    response = await guarded.client.post(
        "/api/v1/appointments",
        data=chunked(5 * 1024 * 1024),
        headers={**TOKEN, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["code"] == "payload_too_large"
