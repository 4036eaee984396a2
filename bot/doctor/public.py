"""Whether Meta can reach this Jola: `server.public_url` over HTTPS with a certificate a stranger trusts,
/healthz answering through the reverse proxy, and /webhook taking this config's verify token."""

from __future__ import annotations

import secrets
import ssl

import aiohttp

from bot.config import Config
from bot.doctor.report import FAIL, OK, WARN, Check, Status

TIMEOUT_SECONDS = 10
SUBJECT = "server.public_url"


def _check(status: Status, message: str, fix: str = "") -> Check:
    return Check("public_url", SUBJECT, status, message, fix)


async def check_public_url(config: Config, session: aiohttp.ClientSession) -> list[Check]:
    public = config.server.public_url.rstrip("/")
    if not public:
        return [
            _check(
                WARN,
                "is not set, so the address Meta calls was not checked",
                'set it to the https:// address of the reverse proxy, e.g. public_url = "https://booking.'
                "example.org\"; Meta's webhook is then {public_url}/webhook",
            )
        ]
    if not public.startswith("https://"):
        return [
            _check(
                FAIL,
                f"{public} is not https://, and Meta calls only https:// webhooks",
                "put a reverse proxy with a certificate in front of Jola (docs/going-live.md) and give its "
                "https:// address",
            )
        ]
    health = await _health(public, session)
    if health.status != OK or not config.meta.verify_token:
        return [health]
    return [health, await _handshake(public, config.meta.verify_token, session)]


async def _get(session: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with session.get(url, params=params, timeout=timeout, allow_redirects=False) as response:
        return response.status, (await response.text(errors="replace"))[:2000]


async def _health(public: str, session: aiohttp.ClientSession) -> Check:
    url = f"{public}/healthz"
    try:
        status, body = await _get(session, url)
    except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError) as err:
        reason = str(getattr(err, "certificate_error", None) or err)[:200]
        return _check(
            FAIL,
            f"{url}: the certificate is not trusted ({reason})",
            "use a certificate from a public authority (Caddy gets one by itself; with nginx, certbot)",
        )
    except (TimeoutError, aiohttp.ClientError, OSError) as err:
        return _check(
            FAIL,
            f"{url} cannot be reached ({type(err).__name__}: {str(err)[:160]})",
            "check the name resolves to this server, port 443 is open, the proxy runs and forwards to Jola",
        )
    if status == 200 and '"ok"' in body:
        return _check(OK, f"{url} answers over HTTPS", "")
    if status == 503:
        return _check(FAIL, f"{url}: Jola answers but cannot reach its database", "see the Database check")
    return _check(
        FAIL,
        f"{url} answered HTTP {status}, not Jola's health check",
        "make the proxy forward every path to Jola (docs/going-live.md has a Caddy and an nginx example)",
    )


async def _handshake(public: str, verify_token: str, session: aiohttp.ClientSession) -> Check:
    """Meta's subscription handshake, as Meta does it: the token we hold must come back with the challenge."""
    url = f"{public}/webhook"
    challenge = str(secrets.randbelow(10**9))
    query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    try:
        status, body = await _get(session, url, **query)
    except (TimeoutError, aiohttp.ClientError, OSError) as err:
        return _check(
            FAIL, f"{url} cannot be reached ({type(err).__name__})", "check the proxy forwards /webhook"
        )
    if status == 200 and body.strip() == challenge:
        return _check(OK, f"{url} answers Meta's handshake with this config's verify token", "")
    if status == 403:
        return _check(
            FAIL,
            f"{url} refuses this config's meta.verify_token",
            "the Jola behind the address runs with another config: restart it with this one",
        )
    return _check(
        FAIL,
        f"{url} answered the handshake with HTTP {status}",
        "make the proxy forward /webhook to Jola, query string included",
    )
