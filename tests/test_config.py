"""The TOML config: the example file, problems with their key paths, secrets from the environment."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot import config as config_module
from bot.config import ConfigError, demo_config, find_config_path, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"

SECRET_VARIABLES = {
    "JOLA_SERVER_SECRET_KEY": "env-secret-key",
    "JOLA_DATABASE_URL": "postgresql+asyncpg://jola:env-pw@db.internal/jola",
    "JOLA_META_APP_SECRET": "env-app-secret",
    "JOLA_META_VERIFY_TOKEN": "env-verify-token",
    "JOLA_META_APP_ID": "900000000000009",
    "JOLA_META_GRAPH_API_URL": "http://127.0.0.1:9999/",
    "JOLA_BUSINESS_HARBOUR_CLINIC_API_TOKEN": "env-api-token",
    "JOLA_CHANNEL_1000000001_ACCESS_TOKEN": "env-access-token",
}


def valid() -> dict[str, Any]:
    """The contract's example config, as parsed TOML."""
    return {
        "server": {"host": "127.0.0.1", "port": 8080, "secret_key": "file-secret-key"},
        "database": {"url": "sqlite+aiosqlite:///jola.db"},
        "meta": {
            "app_secret": "file-app-secret",
            "verify_token": "file-verify-token",
            "graph_api_url": "https://graph.facebook.com",
            "graph_api_version": "v23.0",
            "app_id": "300000000000001",
        },
        "businesses": [
            {
                "id": "harbour-clinic",
                "name": "Harbour Clinic",
                "timezone": "Europe/Copenhagen",
                "locale": "en",
                "api_token": "file-api-token",
                "hours": {"mon": ["08:00-12:00", "13:00-17:00"]},
                "booking": {"slot_step_minutes": 15, "min_notice": "2h", "max_ahead": "60d"},
                "reminders": {"lead_times": ["24h", "2h"], "quiet_hours": ["21:00-08:00"]},
                "services": [{"id": "massage", "name": "Massage", "duration_minutes": 60}],
                "channels": [
                    {"kind": "whatsapp", "phone_number_id": "1000000001", "access_token": "file-access-token"}
                ],
            }
        ],
    }


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={})
    return caught.value.problems


def business(data: dict[str, Any]) -> dict[str, Any]:
    return data["businesses"][0]


# ------------------------------------------------------------------------------------------ example file


def test_example_file_loads() -> None:
    """config.example.toml is what operators copy, so it must be a valid config with the contract's values."""
    config = load_config(EXAMPLE, environ={})
    clinic = config.business("harbour-clinic")
    assert clinic.name == "Harbour Clinic"
    assert clinic.channels[0].kind == "whatsapp"
    assert clinic.channels[0].phone_number_id == "1000000001"
    assert clinic.hours["mon"] == ["08:00-12:00", "13:00-17:00"]


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found = {model}
    for field in model.model_fields.values():
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and candidate not in found:
                found |= _models(candidate)
    return found


def test_example_file_documents_every_key() -> None:
    """A key the models accept but the example leaves out is a key nobody will find."""
    text = EXAMPLE.read_text()
    missing = []
    for model in _models(config_module.Config):
        for name in model.model_fields:
            as_key = re.search(rf"^[ \t]*#?[ \t]*{name}[ \t]*=", text, re.MULTILINE)
            as_table = re.search(rf"^\[\[?(\w+\.)*{name}\]\]?", text, re.MULTILINE)
            if not (as_key or as_table):
                missing.append(f"{model.__name__}.{name}")
    assert not missing, f"config.example.toml does not document: {missing}"


def test_example_file_documents_secret_variables() -> None:
    """Operators who keep secrets out of the file need to find every variable that can carry one."""
    text = EXAMPLE.read_text()
    for name in [*list(SECRET_VARIABLES)[:6], "JOLA_BUSINESS_<ID>_API_TOKEN", "JOLA_CHANNEL_<ASSET_ID>"]:
        assert name in text


# ---------------------------------------------------------------------------------------------- problems


def test_bad_hours_reported_with_contract_key_path() -> None:
    """The contract quotes this exact line for check-config."""
    data = valid()
    business(data)["hours"] = {"mon": "9-17"}
    assert problems_of(data) == ['businesses[0].hours.mon: "9-17" is not HH:MM-HH:MM']


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to valid(): path like "businesses.0.booking.min_notice"."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value

    return change


def _duplicate_business(data: dict[str, Any]) -> None:
    clone = {k: v for k, v in business(data).items() if k != "channels"}
    data["businesses"].append(clone)


def _shared_channel(data: dict[str, Any]) -> None:
    data["businesses"].append(
        {"id": "other", "name": "Other", "channels": [{"kind": "whatsapp", "phone_number_id": "1000000001"}]}
    )


MASSAGE = {"id": "massage", "name": "Massage", "duration_minutes": 60}


def _business(**values: Any) -> Callable[[dict[str, Any]], None]:
    """A change to valid(): these keys of the first business replaced."""

    def change(data: dict[str, Any]) -> None:
        data["businesses"][0].update(values)

    return change


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown top-level key", _set("colour", "blue"), "colour: is not a known key"),
    ("unknown section key", _set("server.prot", 80), "server.prot: is not a known key"),
    ("unknown business key", _set("businesses.0.opening", "9"), "businesses[0].opening: is not a known key"),
    (
        "unknown service key",
        _set("businesses.0.services", [{**MASSAGE, "colour": "blue"}]),
        "businesses[0].services[0].colour: is not a known key",
    ),
    (
        "bad timezone",
        _set("businesses.0.timezone", "Mars/Olympus"),
        'businesses[0].timezone: "Mars/Olympus" is not an IANA time zone like "Europe/Copenhagen"',
    ),
    ("bad locale", _set("businesses.0.locale", "fr"), "businesses[0].locale: Input should be 'en' or 'da'"),
    (
        "bad duration",
        _set("businesses.0.booking.min_notice", "2x"),
        'businesses[0].booking.min_notice: "2x" is not a duration like "2h", "30m", "60d"',
    ),
    (
        "bad lead time",
        _set("businesses.0.reminders.lead_times", ["24h", "2x"]),
        'businesses[0].reminders.lead_times: "2x" is not a duration like "2h", "30m", "60d"',
    ),
    (
        "bad quiet hours",
        _set("businesses.0.reminders.quiet_hours", ["9pm-8am"]),
        'businesses[0].reminders.quiet_hours: "9pm-8am" is not HH:MM-HH:MM',
    ),
    (
        "end before start",
        _set("businesses.0.hours", {"tue": ["17:00-09:00"]}),
        'businesses[0].hours.tue: "17:00-09:00" ends before it starts',
    ),
    (
        "end after midnight",
        _set("businesses.0.hours", {"fri": ["20:00-24:30"]}),
        'businesses[0].hours.fri: "20:00-24:30" ends after 24:00',
    ),
    (
        "not a weekday",
        _set("businesses.0.hours", {"monday": ["08:00-12:00"]}),
        'businesses[0].hours.monday: "monday" is not a weekday (mon, tue, wed, thu, fri, sat, sun)',
    ),
    (
        "hours neither text nor list",
        _set("businesses.0.hours", {"wed": 9}),
        'businesses[0].hours.wed: 9 is not "HH:MM-HH:MM" or a list of them',
    ),
    (
        "bad database driver",
        _set("database.url", "mysql://jola@localhost/jola"),
        'database.url: "mysql://jola@localhost/jola" is not a sqlite+aiosqlite:// or '
        "postgresql+asyncpg:// database URL",
    ),
    (
        "sync driver",
        _set("database.url", "postgresql://jola@localhost/jola"),
        'database.url: "postgresql://jola@localhost/jola" is not a sqlite+aiosqlite:// or '
        "postgresql+asyncpg:// database URL",
    ),
    (
        "bad sqlite_synchronous",
        _set("database.sqlite_synchronous", "OFF"),
        "database.sqlite_synchronous: Input should be 'FULL' or 'NORMAL'",
    ),
    (
        "bad postgres_schema",
        _set("database.postgres_schema", "Jola-Prod"),
        "database.postgres_schema: String should match pattern",
    ),
    (
        "bad graph api version",
        _set("meta.graph_api_version", "23"),
        'meta.graph_api_version: "23" is not a Graph API version like "v23.0"',
    ),
    (
        "port out of range",
        _set("server.port", 70000),
        "server.port: Input should be less than or equal to 65535",
    ),
    (
        "whatsapp channel without its asset id",
        _set("businesses.0.channels", [{"kind": "whatsapp", "access_token": "t"}]),
        'businesses[0].channels[0]: every whatsapp channel needs "phone_number_id"',
    ),
    (
        "messenger channel without its asset id",
        _set("businesses.0.channels", [{"kind": "messenger", "phone_number_id": "1"}]),
        'businesses[0].channels[0]: every messenger channel needs "page_id"',
    ),
    (
        "instagram channel without its asset id",
        _set("businesses.0.channels", [{"kind": "instagram", "account_id": ""}]),
        'businesses[0].channels[0]: every instagram channel needs "account_id"',
    ),
    (
        "duplicate service ids",
        _set("businesses.0.services", [MASSAGE, {**MASSAGE, "name": "Long massage"}]),
        "businesses[0].services: service ids must be unique: massage",
    ),
    (
        "duplicate business ids",
        _duplicate_business,
        "businesses: business ids must be unique: harbour-clinic",
    ),
    (
        "channel in two businesses",
        _shared_channel,
        "businesses: a channel (kind and id) may belong to one business only",
    ),
    (
        "missing business id",
        _set("businesses.0.id", None),
        "businesses[0].id: Input should be a valid string",
    ),
    # Practitioners, rooms and classes: each problem at its own key.
    (
        "practitioner with a service that does not exist",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia", "services": ["massage", "yoga"]}]),
        'businesses[0].practitioners[0].services[1]: "yoga" is not a service of harbour-clinic',
    ),
    (
        "practitioner hours past midnight",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia", "hours": {"mon": ["09:00-25:00"]}}]),
        'businesses[0].practitioners[0].hours.mon: "09:00-25:00" is not HH:MM-HH:MM',
    ),
    (
        "practitioner hours ending after 24:00",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia", "hours": {"fri": "20:00-24:30"}}]),
        'businesses[0].practitioners[0].hours.fri: "20:00-24:30" ends after 24:00',
    ),
    (
        "practitioner hours ending before they start",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia", "hours": {"tue": ["17:00-09:00"]}}]),
        'businesses[0].practitioners[0].hours.tue: "17:00-09:00" ends before it starts',
    ),
    (
        "unknown practitioner key",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia", "colour": "red"}]),
        "businesses[0].practitioners[0].colour: is not a known key",
    ),
    (
        "duplicate practitioner ids",
        _set("businesses.0.practitioners", [{"id": "mia", "name": "Mia"}, {"id": "mia", "name": "Mia H"}]),
        "businesses[0].practitioners: practitioner ids must be unique: mia",
    ),
    (
        "a service nobody performs",
        _set(
            "businesses.0.practitioners",
            [{"id": "mia", "name": "Mia", "services": []}],
        ),
        "businesses[0].services[0]: no practitioner performs massage",
    ),
    (
        "room with a service that does not exist",
        _set("businesses.0.rooms", [{"id": "gym", "name": "Gym", "services": ["yoga"]}]),
        'businesses[0].rooms[0].services[0]: "yoga" is not a service of harbour-clinic',
    ),
    (
        "room without services",
        _set("businesses.0.rooms", [{"id": "gym", "name": "Gym", "services": []}]),
        "businesses[0].rooms[0].services: List should have at least 1 item",
    ),
    (
        "a message template that skips a placeholder",
        _set("businesses.0.message_templates", [{"name": "follow_up", "text": "Hi {{1}}, see you {{3}}"}]),
        "businesses[0].message_templates[0].text: placeholders must be {{1}}, {{2}}, ... in order, "
        "none missing",
    ),
    (
        "a message template name Meta would not take",
        _set("businesses.0.message_templates", [{"name": "Follow Up", "text": "Hi"}]),
        "businesses[0].message_templates[0].name: String should match pattern '^[a-z0-9_]{1,512}$'",
    ),
    (
        "a public URL that is not one",
        _set("server.public_url", "jola.example.org"),
        "server.public_url: String should match pattern '^(https?://[^\\s/]+(/[^\\s]*)?)?$'",
    ),
    (
        "class without sessions",
        _set("businesses.0.services", [{**MASSAGE, "capacity": 3}]),
        "businesses[0].services[0].sessions: a class (capacity 3) needs sessions",
    ),
    (
        "sessions without capacity",
        _set("businesses.0.services", [{**MASSAGE, "sessions": [{"days": ["tue"], "time": "18:00"}]}]),
        "businesses[0].services[0].capacity: a service with sessions is a class and needs capacity = N",
    ),
    (
        "session both weekly and once",
        _set(
            "businesses.0.services",
            [
                {
                    **MASSAGE,
                    "capacity": 3,
                    "sessions": [{"days": ["tue"], "date": "2026-12-01", "time": "18:00"}],
                }
            ],
        ),
        'businesses[0].services[0].sessions[0]: a session needs either "days" (every week) or "date" (once)',
    ),
    (
        "session neither weekly nor once",
        _set("businesses.0.services", [{**MASSAGE, "capacity": 3, "sessions": [{"time": "18:00"}]}]),
        'businesses[0].services[0].sessions[0]: a session needs either "days" (every week) or "date" (once)',
    ),
    (
        "session time not HH:MM",
        _set(
            "businesses.0.services",
            [{**MASSAGE, "capacity": 3, "sessions": [{"days": ["tue"], "time": "7pm"}]}],
        ),
        'businesses[0].services[0].sessions[0].time: "7pm" is not HH:MM',
    ),
    (
        "session held by nobody",
        _business(
            services=[{**MASSAGE, "capacity": 3, "sessions": [{"days": ["tue"], "time": "18:00"}]}],
            practitioners=[{"id": "mia", "name": "Mia"}],
        ),
        "businesses[0].services[0].sessions[0].practitioner: every session needs the one who holds it",
    ),
    (
        "session held by someone unknown",
        _business(
            services=[
                {
                    **MASSAGE,
                    "capacity": 3,
                    "sessions": [{"days": ["tue"], "time": "18:00", "practitioner": "bo"}],
                }
            ],
            practitioners=[{"id": "mia", "name": "Mia"}],
        ),
        'businesses[0].services[0].sessions[0].practitioner: "bo" is not a practitioner',
    ),
    (
        "session held by someone who does not perform it",
        _business(
            services=[
                MASSAGE,
                {
                    "id": "yoga",
                    "name": "Yoga",
                    "duration_minutes": 60,
                    "capacity": 3,
                    "sessions": [{"days": ["tue"], "time": "18:00", "practitioner": "mia"}],
                },
            ],
            practitioners=[
                {"id": "mia", "name": "Mia", "services": ["massage"]},
                {"id": "ida", "name": "Ida", "services": ["yoga"]},
            ],
        ),
        'businesses[0].services[1].sessions[0].practitioner: "mia" does not perform yoga',
    ),
    (
        "session in an unknown room",
        _set(
            "businesses.0.services",
            [{**MASSAGE, "capacity": 3, "sessions": [{"days": ["tue"], "time": "18:00", "room": "gym"}]}],
        ),
        'businesses[0].services[0].sessions[0].room: "gym" is not a room',
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_its_key_path(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    """check-config is only useful if each problem names the key to fix."""
    data = valid()
    change(data)
    problems = problems_of(data)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_every_problem_is_listed_at_once() -> None:
    """An operator fixes a config in one pass, not one error per run."""
    data = valid()
    data["colour"] = "blue"
    data["database"]["url"] = "mysql://localhost/jola"
    clinic = business(data)
    clinic["timezone"] = "Mars/Olympus"
    clinic["locale"] = "fr"
    clinic["hours"] = {"mon": "9-17", "tue": ["08:00-12:00", "13:00-11:00"], "sun": 5}
    clinic["booking"]["max_ahead"] = "2x"
    clinic["services"] = [MASSAGE, MASSAGE]
    clinic["channels"] = [{"kind": "messenger"}]
    problems = problems_of(data)
    expected_paths = [
        "colour",
        "database.url",
        "businesses[0].timezone",
        "businesses[0].locale",
        "businesses[0].hours.mon",
        "businesses[0].hours.tue",
        "businesses[0].hours.sun",
        "businesses[0].booking.max_ahead",
        "businesses[0].services",
        "businesses[0].channels[0]",
    ]
    assert sorted(p.split(": ")[0] for p in problems) == sorted(expected_paths), problems
    assert 'businesses[0].hours.mon: "9-17" is not HH:MM-HH:MM' in problems
    assert 'businesses[0].hours.tue: "13:00-11:00" ends before it starts' in problems


def test_config_error_message_joins_all_problems() -> None:
    """Code that only prints str(err) still shows every problem."""
    data = valid()
    data["server"]["bogus"] = 1
    data["meta"]["bogus"] = 2
    with pytest.raises(
        ConfigError, match=r"server\.bogus: is not a known key; meta\.bogus: is not a known key"
    ):
        parse_config(data, environ={})


def test_defaults_fill_missing_sections() -> None:
    """Every key is optional apart from a business's identity, so a tiny config works."""
    config = parse_config({"businesses": [{"id": "harbour-clinic", "name": "Harbour Clinic"}]}, environ={})
    assert config.server.port == 8080
    assert config.database.url == "sqlite+aiosqlite:///jola-data/jola.db"
    assert config.database.sqlite_synchronous == "FULL"
    assert config.database.postgres_schema is None
    assert config.meta.graph_api_url == "https://graph.facebook.com"
    clinic = config.businesses[0]
    assert clinic.reminders.lead_times == ["24h", "2h"]
    assert clinic.hours == {}


def test_single_range_is_a_list_of_one() -> None:
    """`sat = "10:00-14:00"` is accepted and means the same as a one-element list."""
    data = valid()
    business(data)["hours"] = {"sat": "10:00-14:00", "sun": ["20:00-24:00"]}
    assert parse_config(data, environ={}).businesses[0].hours == {
        "sat": ["10:00-14:00"],
        "sun": ["20:00-24:00"],
    }


# ------------------------------------------------------------------------------------------- environment


def test_environment_overrides_file_secrets() -> None:
    """Secrets may be kept out of the file; the environment wins when both are set."""
    config = parse_config(valid(), environ=dict(SECRET_VARIABLES))
    assert config.server.secret_key == "env-secret-key"
    assert config.database.url == "postgresql+asyncpg://jola:env-pw@db.internal/jola"
    assert config.meta.app_secret == "env-app-secret"
    assert config.meta.verify_token == "env-verify-token"
    assert config.meta.app_id == "900000000000009"
    assert config.meta.graph_api_url == "http://127.0.0.1:9999"
    assert config.businesses[0].api_token == "env-api-token"
    assert config.businesses[0].channels[0].access_token == "env-access-token"


def test_environment_fills_secrets_missing_from_the_file() -> None:
    """A file with no secret sections at all still gets them from the environment."""
    data = valid()
    del data["server"], data["meta"], data["database"]
    del business(data)["api_token"], business(data)["channels"][0]["access_token"]
    config = parse_config(data, environ=dict(SECRET_VARIABLES))
    assert config.server.secret_key == "env-secret-key"
    assert config.meta.verify_token == "env-verify-token"
    assert config.businesses[0].api_token == "env-api-token"
    assert config.businesses[0].channels[0].access_token == "env-access-token"


def test_empty_or_unrelated_variables_leave_the_file_alone() -> None:
    """An empty variable, or one for another business or channel, must not wipe a file's secret."""
    environ = {
        "JOLA_SERVER_SECRET_KEY": "",
        "JOLA_BUSINESS_OTHER_API_TOKEN": "other",
        "JOLA_CHANNEL_2000000002_ACCESS_TOKEN": "other",
    }
    config = parse_config(valid(), environ=environ)
    assert config.server.secret_key == "file-secret-key"
    assert config.businesses[0].api_token == "file-api-token"
    assert config.businesses[0].channels[0].access_token == "file-access-token"


def test_environment_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit environ, os.environ is used: that is how `jola serve` gets its secrets."""
    for name in [name for name in os.environ if name.startswith("JOLA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("JOLA_META_APP_SECRET", "from-os-environ")
    assert parse_config(valid()).meta.app_secret == "from-os-environ"


def test_environment_with_a_malformed_section_still_reports_the_problem() -> None:
    """A secret variable must not turn `server = "x"` into a crash instead of a problem line."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"server": "x", "businesses": 5}, environ=dict(SECRET_VARIABLES))
    assert [p.split(":")[0] for p in caught.value.problems] == ["server", "businesses"]


def test_load_config_applies_environment(tmp_path: Path) -> None:
    """load_config passes its environ on, so file and environment combine the same way from disk."""
    path = tmp_path / "jola.toml"
    path.write_text(EXAMPLE.read_text())
    config = load_config(path, environ={"JOLA_CHANNEL_1000000001_ACCESS_TOKEN": "env-access-token"})
    assert config.business("harbour-clinic").channels[0].access_token == "env-access-token"


# ------------------------------------------------------------------------------------------- files


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    """A typo in --config should say so, not show a traceback."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [f"{path}: no such file"]


def test_directory_is_one_problem(tmp_path: Path) -> None:
    """Pointing --config at a directory is an unreadable file, reported in one line."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{tmp_path}: cannot be read (")


def test_non_utf8_file_is_one_problem(tmp_path: Path) -> None:
    """TOML is UTF-8; a Latin-1 file (æøå from a Danish editor) gets a clear line."""
    path = tmp_path / "jola.toml"
    path.write_bytes('[[businesses]]\nname = "Kø"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [f"{path}: is not UTF-8 text"]


def test_invalid_toml_is_one_problem(tmp_path: Path) -> None:
    """A syntax error is one line naming the file and where the parser stopped."""
    path = tmp_path / "jola.toml"
    path.write_text("[server\nport = 8080\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: is not valid TOML (")
    assert "line 1" in problem
    assert "\n" not in problem


# ------------------------------------------------------------------------------------ finding the config


def test_find_config_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config beats $JOLA_CONFIG beats ./jola.toml; with none of them it is the demo (None)."""
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None, environ={}) is None
    assert find_config_path(None, environ={"JOLA_CONFIG": ""}) is None
    assert find_config_path(None, environ={"JOLA_CONFIG": "env.toml"}) == Path("env.toml")
    assert find_config_path("cli.toml", environ={"JOLA_CONFIG": "env.toml"}) == Path("cli.toml")
    (tmp_path / "jola.toml").write_text("")
    assert find_config_path(None, environ={}) == Path("jola.toml")
    assert find_config_path(None, environ={"JOLA_CONFIG": "env.toml"}) == Path("env.toml")
    assert find_config_path("cli.toml", environ={"JOLA_CONFIG": "env.toml"}) == Path("cli.toml")


def test_find_config_path_reads_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit environ, $JOLA_CONFIG comes from the process."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOLA_CONFIG", "from-env.toml")
    assert find_config_path(None) == Path("from-env.toml")


def test_demo_config_makes_secrets_once(tmp_path: Path) -> None:
    """The demo's secrets survive a restart, so staff sessions and API tokens keep working."""
    data_dir = tmp_path / "jola-data"
    first = demo_config(data_dir)
    secrets_file = data_dir / "demo-secrets.toml"
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    second = demo_config(data_dir)
    assert second.server.secret_key == first.server.secret_key != ""
    assert second.meta.app_secret == first.meta.app_secret != ""
    assert second.meta.verify_token == first.meta.verify_token != ""
    assert second.businesses[0].api_token == first.businesses[0].api_token != ""
    assert first.businesses[0].id == "harbour-clinic"
    assert first.database.url == f"sqlite+aiosqlite:///{(data_dir / 'jola.db').as_posix()}"


def test_demo_config_ignores_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo is self-contained: a stray JOLA_DATABASE_URL must not point it at a real database."""
    monkeypatch.setenv("JOLA_DATABASE_URL", "postgresql+asyncpg://x:y@127.0.0.1:1/db")
    assert demo_config(tmp_path).database.url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize(
    "content", ["secret_key = [", 'secret_key = "only one"\n'], ids=["not-toml", "incomplete"]
)
def test_demo_config_with_damaged_secrets_is_one_problem(tmp_path: Path, content: str) -> None:
    """A damaged demo-secrets.toml is a one-line problem for `jola serve`, not a traceback."""
    (tmp_path / "demo-secrets.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        demo_config(tmp_path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{tmp_path / 'demo-secrets.toml'}: the demo secrets cannot be read or kept (")


def test_toml_times_and_dates_are_taken_for_sessions(tmp_path: Path) -> None:
    """TOML has time and date literals; an operator writing `time = 18:00:00` means 18:00."""
    path = tmp_path / "jola.toml"
    path.write_text(
        """
[[businesses]]
id = "studio"
name = "Studio"

[[businesses.services]]
id = "yoga"
name = "Yoga"
duration_minutes = 60
capacity = 12

[[businesses.services.sessions]]
days = ["tue"]
time = 18:00:00

[[businesses.services.sessions]]
date = 2026-12-19
time = "10:00"
"""
    )
    [weekly, once] = load_config(path, environ={}).businesses[0].services[0].sessions
    assert (weekly.time, weekly.days, once.date.isoformat(), once.time) == (
        "18:00",
        ["tue"],
        "2026-12-19",
        "10:00",
    )


def test_the_example_clinic_has_practitioners_a_room_and_a_class() -> None:
    """The profile the flows use: practitioners (hours narrowed to the business's), rooms, classes."""
    from datetime import time

    from bot.tenants import business_profile

    profile = business_profile(load_config(EXAMPLE, environ={}).business("harbour-clinic"))
    jonas = profile.practitioner("jonas")
    assert jonas is not None and not jonas.does("massage") and jonas.does("physio")
    assert jonas.rules.hours[2] == ((time(8), time(12)),)  # Wednesday mornings only
    assert 4 not in jonas.rules.hours  # no Fridays
    assert [p.key for p in profile.qualified("massage")] == ["mia", "ida"]
    assert [r.key for r in profile.rooms_for("massage")] == ["massage-room"]
    back_school = next(s for s in profile.services if s.key == "back-school")
    assert back_school.is_class and back_school.capacity == 8 and len(back_school.sessions) == 2
