"""The `jola` command: serve, check-config, doctor, chat, staff, business, reminders, client, flows. Bad input
ends in one clear line, exit 1."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import Config, ConfigError, demo_config, demo_login, find_config_path, load_config
from bot.process import CommandError

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jola", description="Jola: a conversational booking agent.")
    parser.add_argument("--version", action="version", version=f"jola {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the webhook, API and background workers")
    serve.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    serve.add_argument("--host", help="address to listen on (default: server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port)")

    check = commands.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("file", metavar="FILE")

    doctor = commands.add_parser(
        "doctor", help="check a real config against Meta, the database and the public address, with fixes"
    )
    doctor.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    doctor.add_argument("--json", action="store_true", help="one JSON object on stdout, for scripts")

    chat = commands.add_parser("chat", help="talk to the bot as a client, in this terminal")
    chat.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    chat.add_argument("--channel", choices=["whatsapp", "messenger", "instagram"], default="whatsapp")
    chat.add_argument(
        "--as", dest="as_id", metavar="PHONE_OR_ID", help="who you are (default: a test client)"
    )
    chat.add_argument("--business", metavar="ID", help="which business to talk to (default: the first)")

    staff = commands.add_parser("staff", help="accounts for the staff web app")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="COMMAND")
    add = staff_commands.add_parser(
        "add", help="create an account; the password is read from stdin (or asked on a terminal)"
    )
    add.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    add.add_argument("--business", required=True, metavar="ID")
    add.add_argument("--email", required=True, metavar="E")
    add.add_argument("--role", choices=["owner", "staff"], default="staff")
    add.add_argument("--name", help="shown to colleagues (default: the part of the email before @)")
    add.add_argument("--language", choices=["en", "da"], default="en", help="of the web app for them")
    add.add_argument("--practitioner", metavar="ID", help="the practitioner whose calendar they see first")
    passwd = staff_commands.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    passwd.add_argument("--email", required=True, metavar="E")

    business = commands.add_parser("business", help="a business's settings")
    business_commands = business.add_subparsers(dest="business_command", required=True, metavar="COMMAND")
    reseed = business_commands.add_parser(
        "reseed",
        help="apply the config file's settings (hours, services, replies...) over the database's, saying "
        "what changes; staff edits are otherwise never overwritten by the file",
    )
    reseed.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    reseed.add_argument("--business", metavar="ID", help="only this business (default: every one)")
    reseed.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    reminders = commands.add_parser("reminders", help="appointment reminders")
    reminder_commands = reminders.add_subparsers(dest="reminders_command", required=True, metavar="COMMAND")
    listing = reminder_commands.add_parser("list", help="what is due, and what did not go out and why")
    listing.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    listing.add_argument("--business", metavar="ID", help="only this business (default: every one)")

    client = commands.add_parser("client", help="a client's data: export it, or erase it")
    client_commands = client.add_subparsers(dest="client_command", required=True, metavar="COMMAND")
    export = client_commands.add_parser("export", help="print everything held on one client, as JSON")
    erase = client_commands.add_parser(
        "erase", help="remove one client's personal data and messages (their appointments stay, anonymous)"
    )
    for one in (export, erase):
        one.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
        one.add_argument("--business", required=True, metavar="ID")
        one.add_argument("--client", required=True, type=int, metavar="ID")
    erase.add_argument("--yes", action="store_true", help="do not ask first (it cannot be undone)")

    purge = commands.add_parser(
        "purge", help="remove messages and raw deliveries older than each business's retention settings"
    )
    purge.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    purge.add_argument("--business", metavar="ID", help="only this business (default: every one)")
    purge.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")

    keys = commands.add_parser("keys", help="encryption at rest: a new key; stored values to the newest")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    key_commands.add_parser("new", help="print a fresh encryption key for [security] encryption_keys")
    rotate = key_commands.add_parser(
        "rotate",
        help="re-encrypt every access token and client note under the first configured key, in batches "
        "(safe to stop and run again, and beside a running server); then the older keys can go",
    )
    rotate.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    rotate.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    rotate.add_argument("--batch-size", type=int, default=500, metavar="N", help="rows per transaction (500)")

    api_token = commands.add_parser("api-token", help="REST API tokens")
    token_commands = api_token.add_subparsers(dest="api_token_command", required=True, metavar="COMMAND")
    new_token = token_commands.add_parser(
        "new", help="print a new random token for a business, once, and the api_token_sha256 line to keep"
    )
    new_token.add_argument("--business", required=True, metavar="ID")
    new_token.add_argument(
        "--config", metavar="FILE", help="check the business is in it (default: $JOLA_CONFIG, ./jola.toml)"
    )

    flows = commands.add_parser("flows", help="the conversation state machines")
    flow_commands = flows.add_subparsers(dest="flows_command", required=True, metavar="COMMAND")
    diagram = flow_commands.add_parser(
        "diagram", help="print each machine's states and transitions (Mermaid)"
    )
    diagram.add_argument("names", nargs="*", metavar="FLOW", help="booking, rescheduling, ... (default: all)")
    return parser


def _config(path_arg: str | None, *, announce: bool) -> Config:
    path = find_config_path(path_arg)
    if path is not None:
        return load_config(path)
    config = demo_config()
    if announce:
        email, password = demo_login()
        print(
            "No config given (--config, $JOLA_CONFIG or ./jola.toml): running the demo business "
            f'"{config.businesses[0].name}" on SQLite in ./jola-data/.\n'
            "Talk to it as a client from another terminal with: jola chat\n"
            f"Staff app: log in as {email} with password {password}\n"
            "Its secrets (webhook app secret and verify token, API token, staff password, encryption key) "
            "are in ./jola-data/demo-secrets.toml.",
            flush=True,
        )
    return config


def _is_demo(path_arg: str | None) -> bool:
    return find_config_path(path_arg) is None


def _check_config(args: argparse.Namespace) -> int:
    from bot.secret_policy import secret_problems

    try:
        problems = [problem.line() for problem in secret_problems(load_config(args.file))]
    except ConfigError as err:
        problems = err.problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.serve import serve

    config = _config(args.config, announce=True)
    if not _is_demo(args.config):  # the demo makes its own random secrets
        from bot.secret_policy import secret_problems

        weak = secret_problems(config)
        if weak:
            raise ConfigError([problem.line() for problem in weak])
    setup_logging(config.server.log_level)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    if _is_demo(args.config):
        from bot.accounts import ensure_demo_owner

        asyncio.run(ensure_demo_owner(config, *demo_login()))
    _run(serve(config, host, port))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jola")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor import doctor

    path = find_config_path(args.config)
    if path is None:
        raise CommandError(
            "doctor checks a real config: give --config FILE, set $JOLA_CONFIG or write ./jola.toml "
            "(the demo needs no checking)"
        )
    return asyncio.run(doctor(path, as_json=args.json))


def _run(main: Any) -> None:
    """asyncio.run on uvloop where it is installed (Linux, macOS): the same code, less CPU per request."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _chat(args: argparse.Namespace) -> int:
    from bot.chat import chat
    from bot.logs import setup_logging

    config = _config(args.config, announce=False)
    setup_logging("error")
    asyncio.run(chat(config, channel=args.channel, as_id=args.as_id, business_id=args.business))
    return 0


def _staff(args: argparse.Namespace) -> int:
    from bot.accounts import add_account, change_password, read_password

    config = _config(args.config, announce=False)
    password = read_password()
    if args.staff_command == "add":
        said = asyncio.run(
            add_account(
                config,
                business=args.business,
                email=args.email,
                role=args.role,
                name=args.name,
                locale=args.language,
                password=password,
                practitioner=args.practitioner,
            )
        )
    else:
        said = asyncio.run(change_password(config, email=args.email, password=password))
    print(said)
    return 0


def _business(args: argparse.Namespace) -> int:
    from bot.reseed import reseed

    config = _config(args.config, announce=False)
    print(asyncio.run(reseed(config, business=args.business, dry_run=args.dry_run)))
    return 0


def _reminders(args: argparse.Namespace) -> int:
    from bot.reminder_list import list_reminders

    config = _config(args.config, announce=False)
    print(asyncio.run(list_reminders(config, business=args.business)))
    return 0


def _client(args: argparse.Namespace) -> int:
    from bot.privacy import cli_erase, cli_export

    config = _config(args.config, announce=False)
    if args.client_command == "export":
        print(cli_export(config, args.business, args.client))
    else:
        print(cli_erase(config, args.business, args.client, yes=args.yes))
    return 0


def _purge(args: argparse.Namespace) -> int:
    from bot.purge import purge

    config = _config(args.config, announce=False)
    print(asyncio.run(purge(config, business=args.business, dry_run=args.dry_run)))
    return 0


def _keys(args: argparse.Namespace) -> int:
    if args.keys_command == "new":
        from bot.config import new_encryption_key

        print(new_encryption_key())
        return 0
    from bot.encryption import rotate

    if not 1 <= args.batch_size <= 10_000:
        raise CommandError("--batch-size must be between 1 and 10000")
    said, problems = asyncio.run(
        rotate(_config(args.config, announce=False), dry_run=args.dry_run, batch_size=args.batch_size)
    )
    print("\n".join(said))
    for problem in problems:
        print(f"jola: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _api_token(args: argparse.Namespace) -> int:
    from bot.api_tokens import new_token_text

    path = find_config_path(args.config)
    if path is not None and args.business not in {b.id for b in load_config(path).businesses}:
        raise CommandError(f'{path} has no business "{args.business}"')
    if path is None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", args.business):
        raise CommandError(f'"{args.business}" is not a business id (lower case letters, digits, "-", "_")')
    print(new_token_text(args.business))
    return 0


def _flows(args: argparse.Namespace) -> int:
    from flows.diagrams import diagram, document
    from flows.engine import FLOWS

    unknown = [name for name in args.names if name not in FLOWS]
    if unknown:
        raise CommandError(f'no flow named "{unknown[0]}" (there are: {", ".join(FLOWS)})')
    if not args.names:
        print(document(), end="")
    for name in args.names:
        print(diagram(name))
    return 0


COMMANDS = {
    "serve": _serve,
    "check-config": _check_config,
    "doctor": _doctor,
    "chat": _chat,
    "staff": _staff,
    "business": _business,
    "reminders": _reminders,
    "client": _client,
    "purge": _purge,
    "keys": _keys,
    "api-token": _api_token,
    "flows": _flows,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as err:
        more = f" (and {len(err.problems) - 1} more; see jola check-config)" if len(err.problems) > 1 else ""
        print(f"jola: {err.problems[0]}{more}", file=sys.stderr)
        return 1
    except CommandError as err:
        print(f"jola: {err}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:
        if err.name != "asyncpg":
            raise
        print(
            "jola: a postgresql+asyncpg:// database needs asyncpg: pip install 'jola[postgres]'",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        from storage.sealed import SealedError  # a stored value no configured key opens: say which

        if not isinstance(err, SealedError):
            raise
        print(f"jola: {err}", file=sys.stderr)
        return 1
