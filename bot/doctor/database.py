"""Whether the configured database answers and holds Jola's newest schema, looked at without changing it:
SQLite is opened read-only (and not created when missing), PostgreSQL only read from."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicError
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config import Config
from bot.doctor.report import FAIL, OK, WARN, Check, Status
from bot.process import describe_database_error
from storage.migrate import alembic_config

CONNECT_TIMEOUT_SECONDS = 10


def _said(status: Status, message: str, fix: str = "") -> list[Check]:
    return [Check("database", "database.url", status, message, fix)]


async def check_database(config: Config) -> list[Check]:
    url = make_url(config.database.url)
    opened = _engine(config)
    if isinstance(opened, list):
        return opened
    try:
        tables, revision = await _look(opened)
    except (SQLAlchemyError, OSError, TimeoutError) as err:
        fix = "check the address, user, password and that the server accepts connections from here"
        return _said(
            FAIL, describe_database_error(config, err).removeprefix("cannot open the database "), fix
        )
    finally:
        await opened.dispose()
    return _said(*_judge(url.render_as_string(hide_password=True), tables, revision))


def _engine(config: Config) -> AsyncEngine | list[Check]:
    """An engine that cannot change anything it opens; or why there is nothing to open."""
    url = make_url(config.database.url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return _said(
                FAIL, "an in-memory SQLite database keeps nothing", "give a file: sqlite+aiosqlite:///path.db"
            )
        path = Path(url.database).expanduser()
        if not path.exists():
            fix = "nothing to do if this is a new install: jola serve creates it; otherwise check the path"
            return _said(WARN, f"{path.resolve()} does not exist yet", fix)
        return create_async_engine(f"sqlite+aiosqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true")
    args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_SECONDS}
    if config.database.postgres_schema:
        args["server_settings"] = {"search_path": config.database.postgres_schema}
    try:
        return create_async_engine(url, connect_args=args)
    except ModuleNotFoundError:
        return _said(FAIL, "a postgresql+asyncpg:// database needs asyncpg", "pip install 'jola[postgres]'")


async def _look(engine: AsyncEngine) -> tuple[list[str], str | None]:
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        revision = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return tables, revision


def _judge(shown: str, tables: list[str], revision: str | None) -> tuple[Status, str, str]:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if revision is None:
        if not tables:
            return (
                WARN,
                f"{shown} answers and is empty",
                "nothing to do: jola serve creates the schema at start",
            )
        return (
            FAIL,
            f"{shown} holds tables but no Jola schema revision",
            "point database.url at Jola's own database (or an empty one); is this another application's?",
        )
    if revision == head:
        return OK, f"{shown} answers; its schema is at the newest revision ({head})", ""
    try:
        known = script.get_revision(revision) is not None
    except AlembicError:
        known = False
    if not known:
        return (
            FAIL,
            f"{shown} is at revision {revision}, which this Jola does not know (a newer Jola upgraded it)",
            "run the Jola version that upgraded it, or restore a backup taken before",
        )
    return (
        WARN,
        f"{shown} is at revision {revision}, the newest is {head}",
        "jola serve upgrades it at start; take a backup first",
    )
