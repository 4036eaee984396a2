"""The real `jola` command, run as a subprocess: exit codes, one-line errors, chat and serve end to end."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support import live_secrets

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
TIMEOUT = 30
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ level=[A-Z]+ logger=")


def clean_env() -> dict[str, str]:
    """The test runner's environment minus JOLA_* (a developer's JOLA_CONFIG must not leak in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("JOLA_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def jola(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def problem_lines(stderr: str) -> list[str]:
    """stderr without the structured log lines `jola serve` writes there by design."""
    return [line for line in stderr.splitlines() if not LOG_LINE.match(line)]


def write_config(path: Path, database_url: str) -> Path:
    path.write_text(
        f"""
[server]
secret_key = "{live_secrets.SECRET_KEY}"

[database]
url = "{database_url}"

[[businesses]]
id = "harbour-clinic"
name = "Harbour Clinic"
"""
    )
    return path


BAD_CONFIG = """
colour = "blue"

[database]
url = "mysql://localhost/jola"

[[businesses]]
id = "harbour-clinic"
name = "Harbour Clinic"
timezone = "Mars/Olympus"

[businesses.hours]
mon = "9-17"
tue = 9

[businesses.booking]
min_notice = "2x"

[[businesses.channels]]
kind = "whatsapp"
"""

BAD_CONFIG_PROBLEMS = [
    "colour: is not a known key",
    'database.url: "mysql://localhost/jola" is not a sqlite+aiosqlite:// or postgresql+asyncpg:// '
    "database URL",
    'businesses[0].timezone: "Mars/Olympus" is not an IANA time zone like "Europe/Copenhagen"',
    'businesses[0].hours.mon: "9-17" is not HH:MM-HH:MM',
    'businesses[0].hours.tue: 9 is not "HH:MM-HH:MM" or a list of them',
    'businesses[0].booking.min_notice: "2x" is not a duration like "2h", "30m", "60d"',
    'businesses[0].channels[0]: every whatsapp channel needs "phone_number_id"',
]


# ------------------------------------------------------------------------------------------ check-config


def test_check_config_accepts_the_example(tmp_path: Path) -> None:
    """A good file exits 0 and says so, with nothing on stderr: the example with its secrets filled in
    (as it stands, its example secrets are problems: tests/test_serve_secrets.py)."""
    text = EXAMPLE.read_text()
    for example, secret in {
        "replace-with-a-long-random-string": live_secrets.SECRET_KEY,
        "replace-with-the-meta-app-secret": live_secrets.APP_SECRET,
        "replace-with-a-random-token": live_secrets.VERIFY_TOKEN,
        "replace-with-a-random-api-token": live_secrets.API_TOKEN,
    }.items():
        text = text.replace(f'"{example}"', f'"{secret}"')
    (tmp_path / "jola.toml").write_text(text)
    result = jola("check-config", "jola.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jola.toml: OK"
    assert result.stderr == ""


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    """A bad file exits 1 and prints each problem on its own stderr line, with no traceback."""
    (tmp_path / "bad.toml").write_text(BAD_CONFIG)
    result = jola("check-config", "bad.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert sorted(result.stderr.splitlines()) == sorted(BAD_CONFIG_PROBLEMS)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_check_config_missing_file(tmp_path: Path) -> None:
    """A missing file is one line and exit 1."""
    result = jola("check-config", "nope.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["nope.toml: no such file"]


def test_check_config_invalid_toml(tmp_path: Path) -> None:
    """A TOML syntax error is one line and exit 1, not a parser traceback."""
    (tmp_path / "broken.toml").write_text("[server\n")
    result = jola("check-config", "broken.toml", cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("broken.toml: is not valid TOML (")


# ------------------------------------------------------------------------------------------------ serve


@pytest.mark.parametrize("content", [BAD_CONFIG, None], ids=["bad", "missing"])
def test_serve_with_bad_config_is_one_line(tmp_path: Path, content: str | None) -> None:
    """serve refuses a bad or missing config with one line on stderr, not a traceback or a listing."""
    if content is not None:
        (tmp_path / "bad.toml").write_text(content)
    result = jola("serve", "--config", "bad.toml", cwd=tmp_path)
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("jola: ")
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout
    if content is None:
        assert line == "jola: bad.toml: no such file"
    else:
        assert line.removeprefix("jola: ").removesuffix(" (and 6 more; see jola check-config)") in (
            BAD_CONFIG_PROBLEMS
        )


def test_serve_with_unreachable_database_is_one_line_without_password(tmp_path: Path) -> None:
    """An unreachable PostgreSQL ends in one line that names the server but never prints the password."""
    pytest.importorskip("asyncpg")
    password = "s3cret-pass-word"
    write_config(tmp_path / "pg.toml", f"postgresql+asyncpg://x:{password}@127.0.0.1:1/db")
    result = jola("serve", "--config", "pg.toml", cwd=tmp_path)
    assert result.returncode != 0
    [line] = problem_lines(result.stderr)
    assert line.startswith("jola: cannot open the database postgresql+asyncpg://x:***@127.0.0.1:1/db: ")
    assert password not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_serve_on_postgresql_without_asyncpg_is_one_line(tmp_path: Path) -> None:
    """asyncpg is an optional extra; without it a PostgreSQL URL says what to install, not a traceback."""
    stub = tmp_path / "stub" / "asyncpg"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'asyncpg\'", name="asyncpg")\n'
    )
    write_config(tmp_path / "pg.toml", "postgresql+asyncpg://x:y@127.0.0.1:1/db")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--config", "pg.toml"],
        cwd=tmp_path,
        env={**clean_env(), "PYTHONPATH": str(tmp_path / "stub")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode != 0
    assert problem_lines(result.stderr) == [
        "jola: a postgresql+asyncpg:// database needs asyncpg: pip install 'jola[postgres]'"
    ]


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    """A taken port ends in one clear line naming the port, not an OSError traceback."""
    write_config(tmp_path / "jola.toml", "sqlite+aiosqlite:///jola.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = jola("serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode != 0
    [line] = problem_lines(result.stderr)
    assert line.startswith(f"jola: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in line
    assert "Traceback" not in result.stderr


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))
    into.put(None)


def test_serve_demo_answers_healthz_and_stops_on_sigint(tmp_path: Path) -> None:
    """With no config, serve runs the demo business, says so, is healthy, and Ctrl-C stops it cleanly."""
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0"],
            cwd=tmp_path,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
        seen: list[str] = []
        port = None
        while port is None:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, f"serve ended early: {seen} {stderr_path.read_text()}"
            seen.append(line)
            match = re.match(r"Jola is listening on http://127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        assert seen[0].startswith("No config given"), seen
        assert "demo business" in seen[0] and "./jola-data/" in seen[0]
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"status": "ok"}
        login = next(line for line in seen if line.startswith("Staff app: log in as "))
        email, password = re.fullmatch(r"Staff app: log in as (\S+) with password (\S+)", login).groups()
        assert f'staff_password = "{password}"' in (tmp_path / "jola-data" / "demo-secrets.toml").read_text()
        assert "Harbour Clinic" in _log_in(port, email, password)  # the demo owner's inbox
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
    assert (tmp_path / "jola-data" / "jola.db").exists()
    assert "Traceback" not in stderr_path.read_text()


def _log_in(port: int, email: str, password: str) -> str:
    """The staff app's login form as a browser fills it; the page it lands on."""
    cookies = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(cookies)
    with opener.open(f"http://127.0.0.1:{port}/login", timeout=10) as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    with opener.open(f"http://127.0.0.1:{port}/login", data=form, timeout=10) as response:
        assert response.url.endswith("/inbox")
        return response.read().decode()


# ------------------------------------------------------------------------------------------------ staff


def test_staff_accounts_from_the_terminal(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jola.toml", f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    add = (
        "staff",
        "add",
        "--config",
        str(config),
        "--business",
        "harbour-clinic",
        "--email",
        "Mia@Harbour.example",
    )
    made = jola(*add, "--role", "owner", "--name", "Mia Holm", cwd=tmp_path, stdin="a long enough secret\n")
    assert (made.returncode, made.stdout) == (
        0,
        "mia@harbour.example can now log in to harbour-clinic as owner\n",
    )
    again = jola(*add, cwd=tmp_path, stdin="a long enough secret\n")
    assert (again.returncode, again.stderr) == (
        1,
        "jola: an account for mia@harbour.example exists already\n",
    )
    weak = jola(*add[:-1], "bo@harbour.example", cwd=tmp_path, stdin="short\n")
    assert (weak.returncode, weak.stderr) == (1, "jola: the password must be at least 10 characters\n")
    nowhere = jola(
        *add[:5], "nowhere", "--email", "bo@harbour.example", cwd=tmp_path, stdin="a long enough secret\n"
    )
    assert nowhere.returncode == 1 and nowhere.stderr.startswith('jola: no business "nowhere" in the config')
    changed = jola(
        "staff",
        "passwd",
        "--config",
        str(config),
        "--email",
        "mia@harbour.example",
        cwd=tmp_path,
        stdin="another long secret\n",
    )
    assert changed.returncode == 0 and changed.stdout.startswith("password changed for mia@harbour.example")
    unknown = jola(
        "staff",
        "passwd",
        "--config",
        str(config),
        "--email",
        "x@y.z",
        cwd=tmp_path,
        stdin="another long secret\n",
    )
    assert (unknown.returncode, unknown.stderr) == (1, "jola: no account for x@y.z\n")
    assert "a long enough secret" not in made.stdout + made.stderr


# ------------------------------------------------------------------------------------------------- chat


def test_chat_with_the_demo_business(tmp_path: Path) -> None:
    """Piped input talks to the demo clinic through the real pipeline; options show as numbered choices."""
    result = jola("chat", cwd=tmp_path, stdin="hello\n1\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout.splitlines()
    greeting = out.index("Harbour Clinic: Hi, welcome to Harbour Clinic!")
    first_option = out.index("  1. Massage (60 min)")
    chose = out.index("You: 1")
    assert greeting < first_option < chose
    assert any(line.startswith("Harbour Clinic: Massage, 60 min. When would") for line in out[chose + 1 :]), (
        out
    )
    assert (tmp_path / "jola-data" / "jola.db").exists()


def test_chat_as_a_non_phone_on_whatsapp(tmp_path: Path) -> None:
    """WhatsApp clients are phone numbers; anything else is one line and exit 1."""
    result = jola("chat", "--as", "notaphone", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ['jola: --as "notaphone" is not a phone number like +4512345678']


def test_chat_with_bad_config_is_one_line(tmp_path: Path) -> None:
    """chat shares serve's config handling: a bad file is one line, not a traceback."""
    (tmp_path / "bad.toml").write_text(BAD_CONFIG)
    result = jola("chat", "--config", "bad.toml", cwd=tmp_path, stdin="")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.removeprefix("jola: ").removesuffix(" (and 6 more; see jola check-config)") in (
        BAD_CONFIG_PROBLEMS
    )


# ------------------------------------------------------------------------------------------ settings


def test_business_reseed_says_what_it_changes_and_only_then_changes_it(tmp_path: Path) -> None:
    """The file seeds the settings once; editing it later changes nothing until `jola business reseed`,
    which lists each change (--dry-run: and stops there) and records it."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}"
    config = write_config(tmp_path / "jola.toml", database)
    first = jola("business", "reseed", "--config", str(config), cwd=tmp_path)
    assert (first.returncode, first.stdout) == (
        0,
        "harbour-clinic: the database already matches the config; nothing to change\n",
    )
    config.write_text(
        config.read_text().replace('name = "Harbour Clinic"', 'name = "Harbour Physio"')
        + '\n[businesses.hours]\nmon = ["09:00-15:00"]\n'
    )
    tried = jola("business", "reseed", "--config", str(config), "--dry-run", cwd=tmp_path)
    assert tried.returncode == 0, tried.stderr
    assert tried.stdout.splitlines() == [
        "harbour-clinic: would change 2 settings:",
        "  name: Harbour Clinic -> Harbour Physio",
        '  hours.mon: (none) -> ["09:00-15:00"]',
        "Nothing was changed (--dry-run).",
    ]
    done = jola("business", "reseed", "--config", str(config), "--business", "harbour-clinic", cwd=tmp_path)
    assert done.stdout.splitlines()[0] == "harbour-clinic: changed 2 settings:"
    again = jola("business", "reseed", "--config", str(config), cwd=tmp_path)
    assert again.stdout == "harbour-clinic: the database already matches the config; nothing to change\n"
    nowhere = jola("business", "reseed", "--config", str(config), "--business", "nowhere", cwd=tmp_path)
    assert nowhere.returncode == 1
    assert nowhere.stderr == 'jola: no business "nowhere" in the config (there are: harbour-clinic)\n'


def test_reminders_list_names_an_unknown_business(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jola.toml", f"sqlite+aiosqlite:///{tmp_path / 'jola.db'}")
    listed = jola("reminders", "list", "--config", str(config), cwd=tmp_path)
    assert (listed.returncode, listed.stdout) == (0, "harbour-clinic: 0 due, 0 not sent\n")
    nowhere = jola("reminders", "list", "--config", str(config), "--business", "x", cwd=tmp_path)
    assert (nowhere.returncode, nowhere.stderr) == (
        1,
        'jola: no business "x" in the config (there are: harbour-clinic)\n',
    )
