"""Encryption at rest as the operator meets it: the keys from the config, the check at start that every
stored value opens with them, and `jola keys new` and `jola keys rotate` (docs/privacy.md)."""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config, ConfigError, new_encryption_key
from bot.process import CommandError, describe_database_error
from storage.db import Database
from storage.key_rotation import SEALED_COLUMNS, SHOWN_IDS, ColumnSurvey, rotate_column, survey
from storage.migrate import upgrade
from storage.sealed import Keyring, decode_key

log = logging.getLogger(__name__)

KEY_FILE_HEADER = """\
# Jola's encryption keys (docs/privacy.md, "Encryption at rest"), made on first use because the config gives
# none ([security] encryption_keys or $JOLA_ENCRYPTION_KEYS). Anyone with this file and a copy of the
# database can read the channel access tokens and client notes in it: keep it apart from database backups,
# and back it up on its own (without it they cannot be read). Newest key first; `jola keys new` makes more.
"""


def keyring_for(config: Config) -> Keyring:
    """The keys, newest first: the config's (or the environment's); with none given, the key file's, made
    with a new key the first time (as GitLab keeps its secrets file): a config that worked before this
    release keeps working, and nothing is ever stored unencrypted."""
    if config.security.encryption_keys:
        return Keyring(config.security.encryption_keys)
    return Keyring(_key_file(Path(config.security.key_file)))


def _key_file(path: Path) -> list[str]:
    where = f"security.key_file: {path}"
    try:
        made = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before (or just now, by another process starting at the same time)
    except OSError as err:
        raise ConfigError([f"{where}: cannot be made ({err.strerror}); {GIVE_KEYS}"]) from None
    else:
        with os.fdopen(made, "w") as out:
            out.write(f'{KEY_FILE_HEADER}encryption_keys = ["{new_encryption_key()}"]\n')
        log.info("event=encryption.key_file_made path=%s", path)
    try:
        keys = tomllib.loads(path.read_text()).get("encryption_keys")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not valid TOML"
        raise ConfigError([f"{where}: cannot be read ({reason}); {GIVE_KEYS}"]) from None
    if not keys or not isinstance(keys, list):
        raise ConfigError([f'{where}: has no encryption_keys = ["..."]; {GIVE_KEYS}'])
    try:
        return [decode_key(str(key)) for key in keys]
    except ValueError as err:
        raise ConfigError([f"{where}: a key {err}"]) from None


GIVE_KEYS = "give keys in [security] encryption_keys or $JOLA_ENCRYPTION_KEYS (jola keys new makes one)"


def _database(config: Config) -> Database:
    """The configured database, with the keys its encrypted columns are read and written with."""
    return Database(
        config.database.url,
        schema=config.database.postgres_schema,
        synchronous=config.database.sqlite_synchronous,
        keyring=keyring_for(config),
    )


async def check_stored_values(db: Database, config: Config) -> None:
    """At start: every encrypted value must open with the configured keys, or the server does not start
    (a key removed too soon, or a wrong one, would otherwise fail page by page). Values found not
    encrypted (written by an older release while this one upgraded) are encrypted now."""
    keyring = db.keyring
    if keyring is None:
        raise CommandError("the database was opened without encryption keys")
    if not config.security.encryption_keys:
        log.warning(
            "event=encryption.keys source=key_file path=%s advice=docs/privacy.md", config.security.key_file
        )
    found = await survey(db, keyring)
    unknown = [column for column in found if column.under(keyring)[2]]
    if unknown:
        raise CommandError(_unreadable_line(unknown[0], config) + " (then run: jola keys rotate)")
    for column in found:
        if column.by_key.get(""):
            done = await rotate_column(db, keyring, column.column, plain_only=True)
            log.warning(
                "event=encryption.encrypted_plain column=%s rows=%d", column.column.name, done.encrypted
            )


def _where_keys(config: Config) -> str:
    """Where the operator adds or removes keys, as a person would say it."""
    return "[security] encryption_keys" if config.security.encryption_keys else config.security.key_file


def _unreadable_line(column: ColumnSurvey, config: Config) -> str:
    parts = []
    for kid, ids in column.unknown_rows.items():
        count = column.by_key[kid]
        shown = ", ".join(str(i) for i in ids) + (f" and {count - len(ids)} more" if count > len(ids) else "")
        parts.append(f"{column.column.row} {shown} under key {kid}")
    return (
        f"{column.column.name} cannot be read: {'; '.join(parts)}, which is not in {_where_keys(config)}; "
        "add that key back"
    )


async def rotate(config: Config, *, dry_run: bool, batch_size: int) -> tuple[list[str], list[str]]:
    """`jola keys rotate`: every value under the newest key, batch by batch. Returns what to print, and
    the problems (rows no configured key opens), each one line."""
    keyring = keyring_for(config)
    db = _database(config)
    try:
        await upgrade(db)
        said = [f"Newest key: {keyring.newest_id} (configured, newest first: {', '.join(keyring.order)})"]
        problems: list[str] = []
        if dry_run:
            for column in await survey(db, keyring):
                said.append(_planned(column, keyring))
                if column.unknown_rows:
                    problems.append(_unreadable_line(column, config))
            said.append("Nothing was changed (--dry-run).")
            return said, problems
        for sealed in SEALED_COLUMNS:
            done = await rotate_column(db, keyring, sealed, batch_size=batch_size)
            line = f"{sealed.name}: {done.reencrypted} re-encrypted"
            if done.encrypted:
                line += f", {done.encrypted} encrypted for the first time"
            damaged = done.unreadable.pop("", [])
            if damaged:
                problems.append(
                    f"{sealed.name} of {sealed.row} {_listed(damaged)}: damaged, cannot be decrypted"
                )
            said.append(line)
        after = await survey(db, keyring)
        for column in after:
            if column.unknown_rows:
                problems.append(_unreadable_line(column, config))
        left = sum(column.under(keyring)[1] for column in after)
        if problems:
            said.append("Some values could not be read (below); the rest are under the newest key.")
        elif left:
            said.append(
                f"{left} values were written under an older key meanwhile: run jola keys rotate again."
            )
        else:
            total = sum(sum(column.by_key.values()) for column in after)
            said.append(
                f"Done: all {total} encrypted values are under key {keyring.newest_id}; the other keys can "
                f"be removed from {_where_keys(config)}."
            )
        return said, problems
    except (SQLAlchemyError, OSError) as err:
        raise CommandError(describe_database_error(config, err)) from None
    finally:
        await db.dispose()


def _planned(column: ColumnSurvey, keyring: Keyring) -> str:
    newest, pending, unknown = column.under(keyring)
    older = [
        f"under key {kid}: {n}" if kid else f"not encrypted: {n}"
        for kid, n in sorted(column.by_key.items())
        if kid != keyring.newest_id and (not kid or kid in keyring.ids)
    ]
    line = f"{column.column.name}: {newest + pending + unknown} values, {pending} to re-encrypt"
    return line + (f" ({'; '.join(older)})" if older else "")


def _listed(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")
