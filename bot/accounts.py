"""`jola staff add` and `jola staff passwd`: accounts for the staff web app, made from a terminal.

The password is asked twice on a terminal, or read from the first line of stdin when piped (for scripts:
`echo "$PW" | jola staff add ...`); it never appears in the process list or the shell history."""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot import audit
from bot.clock import Clock
from bot.config import Config
from bot.encryption import keyring_for
from bot.process import CommandError, describe_database_error
from bot.tenants import sync_tenants
from bot.web.passwords import WeakPassword, check_new, hash_password
from storage.db import Database
from storage.migrate import upgrade
from storage.staff_accounts import (
    AccountExists,
    UnknownBusiness,
    add_staff,
    count_staff,
    login_of,
    set_password,
)


def read_password(stdin: TextIO | None = None) -> str:
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise CommandError("the two passwords differ")
        password = first
    else:
        password = stdin.readline().rstrip("\r\n")
    try:
        check_new(password)
    except WeakPassword as weak:
        raise CommandError(str(weak)) from None
    return password


def _database(config: Config) -> Database:
    return Database(
        config.database.url,
        schema=config.database.postgres_schema,
        synchronous=config.database.sqlite_synchronous,
        keyring=keyring_for(config),
    )


async def add_account(
    config: Config,
    *,
    business: str,
    email: str,
    role: str,
    name: str | None,
    locale: str,
    password: str,
    practitioner: str | None = None,
) -> str:
    if business not in {b.id for b in config.businesses}:
        known = ", ".join(b.id for b in config.businesses)
        raise CommandError(f'no business "{business}" in the config (there are: {known})')
    known = next(b for b in config.businesses if b.id == business).practitioners
    if practitioner is not None and practitioner not in {p.id for p in known}:
        names = ", ".join(p.id for p in known) or "none"
        raise CommandError(f'no practitioner "{practitioner}" in {business} (there are: {names})')
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email.strip()):
        raise CommandError(f'"{email}" is not an email address')
    clock = Clock()
    db = _database(config)
    try:
        await upgrade(db)
        await sync_tenants(db, config, clock)
        async with db.write() as session:
            made = await add_staff(
                session,
                business,
                email=email,
                name=(name or email.split("@")[0]).strip()[:200],
                password_hash=hash_password(password),
                role=role,
                locale=locale,
                now=clock.now(),
                practitioner=practitioner,
            )
            await audit.account_event(session, "account.created", made, audit.CLI, now=clock.now(), role=role)
    except AccountExists:
        raise CommandError(f"an account for {email.strip().casefold()} exists already") from None
    except UnknownBusiness:
        raise CommandError(f'no business "{business}" in the database') from None
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
    return f"{email.strip().casefold()} can now log in to {business} as {role}"


async def change_password(config: Config, *, email: str, password: str) -> str:
    clock = Clock()
    db = _database(config)
    try:
        await upgrade(db)
        async with db.write() as session:
            changed = await set_password(session, email, hash_password(password), clock.now())
            account = await login_of(session, email)
            await audit.account_event(
                session, "account.password_changed", account and account.id, audit.CLI, now=clock.now()
            )
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
    if not changed:
        raise CommandError(f"no account for {email.strip().casefold()}")
    return f"password changed for {email.strip().casefold()}; their other sessions are logged out"


async def ensure_demo_owner(config: Config, email: str, password: str) -> None:
    """The demo business gets an owner account the first time it is served, so the staff app can be
    tried at once; its password is kept with the demo's other secrets."""
    clock = Clock()
    db = _database(config)
    business = config.businesses[0].id
    try:
        await upgrade(db)
        await sync_tenants(db, config, clock)
        async with db.write() as session:
            if await count_staff(session, business) == 0:
                made = await add_staff(
                    session,
                    business,
                    email=email,
                    name="Demo Owner",
                    password_hash=hash_password(password),
                    role="owner",
                    locale=config.businesses[0].locale,
                    now=clock.now(),
                )
                await audit.account_event(
                    session, "account.created", made, audit.SYSTEM, now=clock.now(), role="owner"
                )
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()
