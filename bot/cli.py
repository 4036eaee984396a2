"""The `jola` command: serve, check-config, chat, staff, business, reminders, client, flows. Bad input
ends in one clear line, exit 1."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import Config, ConfigError, demo_config, demo_login, find_config_path, load_config
from bot.process import CommandError

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jola", description="Jola: a conversational booking agent.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the webhook, API and background workers")
    serve.add_argument("--config", metavar="FILE", help="TOML config (default: $JOLA_CONFIG, ./jola.toml)")
    serve.add_argument("--host", help="address to listen on (default: server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port)")

    check = commands.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("file", metavar="FILE")

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
            "Its secrets (webhook app secret and verify token, API token, staff password) are in "
            "./jola-data/demo-secrets.toml.",
            flush=True,
        )
    return config


def _is_demo(path_arg: str | None) -> bool:
    return find_config_path(path_arg) is None


def _check_config(args: argparse.Namespace) -> int:
    try:
        load_config(args.file)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.serve import serve

    config = _config(args.config, announce=True)
    setup_logging(config.server.log_level)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    if _is_demo(args.config):
        from bot.accounts import ensure_demo_owner

        asyncio.run(ensure_demo_owner(config, *demo_login()))
    _run(serve(config, host, port))
    return 0


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
    "chat": _chat,
    "staff": _staff,
    "business": _business,
    "reminders": _reminders,
    "client": _client,
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
