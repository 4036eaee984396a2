"""REST API tokens at rest: a running Jola keeps only the SHA-256 digest of each business's token.

A config gives a business's token as `api_token` (the token itself) or `api_token_sha256` (its digest, so
the file need not hold the token). When the app starts, `forget_plaintext` puts the digest in place of the
token on the loaded config, so nothing in the process holds the token after that; the checks that judge a
token (its length, an example value: bot/secret_policy.py) run on the loaded config before. The token is
long and random, so a plain digest (no salt, no slow hash) is as hard to reverse as guessing the token."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config

PREFIX = "jola_"  # tells a leaked token apart from other secrets (secret scanners, logs, a pasted config)


def digest(token: str) -> str:
    """The token's SHA-256 as 64 lower-case hex digits: what `api_token_sha256` holds."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    """48 characters, 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def forget_plaintext(config: Config) -> None:
    """Every business's token as its digest only (a token given both ways: the token wins)."""
    for business in config.businesses:
        if business.api_token:
            business.api_token_sha256 = digest(business.api_token)
            business.api_token = ""


def env_name(business_id: str) -> str:
    """Where the environment may give a business's digest instead of the file."""
    return f"JOLA_BUSINESS_{re.sub(r'[^A-Z0-9]', '_', business_id.upper())}_API_TOKEN_SHA256"


def new_token_text(business_id: str) -> str:
    """What `jola api-token new` prints: the token, once, and the config line that names it."""
    token = new_token()
    hashed = digest(token)
    return (
        f"A new REST API token for {business_id}. It is shown this once: give it to the integration now.\n"
        f"\n    {token}\n\n"
        f'Put this line in the [[businesses]] block with id = "{business_id}", in place of api_token:\n'
        f'\n    api_token_sha256 = "{hashed}"\n\n'
        f"(or set {env_name(business_id)}={hashed}), then restart Jola: the old token stops working."
    )
