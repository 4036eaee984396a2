"""The secrets a live Jola must not run with: example values copied from config.example.toml, and values
too short to resist guessing. `jola serve` refuses them (a demo makes its own), `jola check-config` and
`jola doctor` report them. Each problem names its key and says how to fix it; no value is ever printed.

Least lengths (docs/going-live.md; 32 random characters are advised for each): `server.secret_key` 16
(it signs staff sessions), `meta.verify_token` 8 (Meta sends it back in the webhook handshake), a
business's `api_token` 16 (a bearer token for the REST API), and `meta.app_secret` 16 (Meta issues 32
hexadecimal characters; `jola doctor` checks the secret against the app itself). An empty
`meta.app_secret` or `meta.verify_token` is refused only when a business has a
channel (without one no webhook is needed); an empty `api_token` switches that business's API off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.config import Config

SECRET_KEY_MIN = 16
VERIFY_TOKEN_MIN = 8
API_TOKEN_MIN = 16
APP_SECRET_MIN = 16
GENERATE = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
APP_SECRET_WHERE = "the App Dashboard, App settings > Basic > App secret"
_PLACEHOLDER_STARTS = ("replace-with", "replace_with", "changeme", "change-me", "change_me", "your-", "your_")


@dataclass(frozen=True, slots=True)
class SecretProblem:
    """One secret that is not fit to go live: where it is, what is wrong, what to do."""

    key: str
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.key}: {self.problem}; {self.fix}"


def is_placeholder(value: str) -> bool:
    """An example value rather than a real secret: config.example.toml's "replace-with-..." and their kin."""
    text = value.strip().lower()
    if not text:
        return False
    return (
        text.startswith(_PLACEHOLDER_STARTS)
        or (text.startswith("<") and text.endswith(">"))
        or set(text) <= set(".x*")
    )


def secret_problems(config: Config) -> list[SecretProblem]:
    """Every secret of `config` that a live server must not use, in the order of the file."""
    webhooks = any(business.channels for business in config.businesses)
    problems: list[SecretProblem] = []
    _random(
        problems, "server.secret_key", config.server.secret_key, SECRET_KEY_MIN, "it signs staff sessions"
    )
    problems += _app_secret(config.meta.app_secret, needed=webhooks)
    verify = config.meta.verify_token
    if verify or webhooks:
        why = "and the same in the webhook settings of your Meta app"
        _random(problems, "meta.verify_token", verify, VERIFY_TOKEN_MIN, why)
    seen: dict[str, int] = {}
    for index, business in enumerate(config.businesses):
        token = business.api_token
        hashed = str(getattr(business, "api_token_sha256", "") or "").lower()
        key = f"businesses[{index}].api_token"
        if token:  # only the token itself can be judged; a digest alone was made by `jola api-token new`
            _random(problems, key, token, API_TOKEN_MIN, "it opens the business's REST API")
            hashed = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        elif hashed:
            key = f"businesses[{index}].api_token_sha256"
        if not hashed:  # the API is off for this business
            continue
        if hashed in seen:
            problems.append(
                SecretProblem(
                    key,
                    f"gives the same token as businesses[{seen[hashed]}]",
                    "give every business a token of its own, or the API cannot tell them apart",
                )
            )
        seen.setdefault(hashed, index)
    return problems


def _random(problems: list[SecretProblem], key: str, value: str, least: int, why: str) -> None:
    fix = f"set 32 random characters, {least} at the least ({why}), e.g. the output of: {GENERATE}"
    if not value:
        problems.append(SecretProblem(key, "is not set", fix))
    elif is_placeholder(value):
        problems.append(SecretProblem(key, "is still the example value from config.example.toml", fix))
    elif len(value) < least:
        problems.append(
            SecretProblem(key, f"is {len(value)} characters, fewer than the {least} it needs", fix)
        )


def _app_secret(value: str, *, needed: bool) -> list[SecretProblem]:
    key = "meta.app_secret"
    fix = f"copy your Meta app's secret from {APP_SECRET_WHERE}"
    if not value:
        if not needed:
            return []
        return [SecretProblem(key, "is not set, so every delivery from Meta would be refused", fix)]
    if is_placeholder(value):
        return [SecretProblem(key, "is still the example value from config.example.toml", fix)]
    if len(value.strip()) < APP_SECRET_MIN:
        return [SecretProblem(key, "is too short to be a Meta app secret (those are 32 characters)", fix)]
    return []
