"""Issue 18: property-based fuzzing of everything that reads what strangers send. Arbitrary JSON and
bytes, and Meta's own fixtures mutated, go through each channel's parser, the real webhook (signed, on a
running Jola), Meta's privacy callbacks and the REST API's JSON bodies: never an exception out of an
adapter, never a 5xx, and a good item beside junk in one delivery is still handled.

Deterministic: examples are derived from each test's name (`derandomize`), no example database."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import create_app
from bot.channels import instagram, messenger, whatsapp
from bot.channels.directory import ChannelDirectory, ChannelInfo
from bot.channels.parsing import Parsed
from bot.signature import sign
from bot.webhook import parse_json
from flows.messages import ChannelKind, EchoMessage, InboundMessage, StatusUpdate
from storage.models import InboundEvent, Message
from tests.conftest import (
    BACKENDS,
    DatabaseTarget,
    Jola,
    SettableClock,
    database_at,
    make_config,
    start_jola,
)
from tests.support.clinic import NOW, WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.page_payloads import IG_ACCOUNT_ID, PAGE_ID
from tests.support.payloads import APP_SECRET, PHONE_NUMBER_ID
from tests.support.staff import StaffBrowser, add_account

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SHARED_LOOP = pytest.mark.asyncio(loop_scope="module")  # the tests that share one running Jola
PURE = settings(max_examples=120, deadline=None, derandomize=True, database=None)
SERVED = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TOKEN = {"Authorization": "Bearer api-token"}

# Both copies of Meta's fixtures: the shared originals and the tests' copy (which may grow apart).
FIXTURE_DIRS = [
    Path(__file__).resolve().parent / "fixtures" / "meta",
    Path(__file__).resolve().parents[2] / "shared" / "meta" / "fixtures",
]
ADAPTERS: dict[str, ModuleType] = {"whatsapp": whatsapp, "messenger": messenger, "instagram": instagram}
CHANNELS = [
    ChannelInfo(id=1, business_id="harbour-clinic", kind=ChannelKind.WHATSAPP, external_id=PHONE_NUMBER_ID),
    ChannelInfo(id=2, business_id="harbour-clinic", kind=ChannelKind.MESSENGER, external_id=PAGE_ID),
    ChannelInfo(id=3, business_id="harbour-clinic", kind=ChannelKind.INSTAGRAM, external_id=IG_ACCOUNT_ID),
]
# Column widths the stored items must fit (storage/models.py): a longer value fails the insert.
PROVIDER_KEY, CONVERSATION_KEY, PLATFORM_ID, USER_ID = 300, 240, 200, 160


def _fixtures() -> dict[str, Any]:
    """Every JSON fixture by name, each distinct text once."""
    found: dict[str, Any] = {}
    seen: set[bytes] = set()
    for folder in FIXTURE_DIRS:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            raw = path.read_bytes()
            if raw not in seen:
                seen.add(raw)
                found[path.stem if path.stem not in found else f"{path.stem}@{folder.parent.name}"] = (
                    json.loads(raw)
                )
    return found


FIXTURES = _fixtures()
INBOUND = {
    kind: sorted(name for name in FIXTURES if name.startswith(kind + "_")) for kind in ADAPTERS
}  # whatsapp_*, messenger_*, instagram_*: the deliveries; the rest are Graph requests and answers


def _keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys_in(v)}
    return set()


KNOWN_KEYS = sorted(set().union(*(_keys_in(f) for f in FIXTURES.values())))
KNOWN_IDS = [PHONE_NUMBER_ID, PAGE_ID, IG_ACCOUNT_ID, "2000000000000011", "900000000000001", "15550000001"]

# ---------------------------------------------------------------------------------------------- strategies

ODD_TEXTS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud800",  # a lone surrogate: valid JSON once escaped, not valid UTF-8
        "\u202e\u200b",
        "x" * 5000,
        "9" * 400,
        "1e400",
        "-1",
        "NaN",
        "null",
        "wamid.",
        "m_",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "'; DROP TABLE messages; --",
        "%s%s%n",
        "😀" * 300,
        *KNOWN_IDS,
    ]
)
ODD_NUMBERS = st.sampled_from(
    [0, -1, 2**31, 2**63, -(2**63) - 1, 10**20, 10**400, 1793000000, 1793000000000, 1.5, -0.0, 1e308]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | ODD_NUMBERS
    | st.floats()  # nan and inf too: Python's json writes them, and the webhook's fallback reads them
    | st.text(max_size=30)
    | ODD_TEXTS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the root too), as key/index paths."""
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*here, index))
    return found


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def mutated(draw: st.DrawFn, names: list[str]) -> Any:
    """A real delivery with one to five things changed: a value replaced by any JSON (or a value of the
    wrong kind), a key dropped or added, a list item doubled or emptied."""
    document = copy.deepcopy(FIXTURES[draw(st.sampled_from(names))])
    for _ in range(draw(st.integers(1, 5))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            continue
        parent, last = _at(document, path[:-1]), path[-1]
        operation = draw(st.sampled_from(["replace", "replace", "drop", "add", "double", "empty", "retype"]))
        current = parent[last]
        if operation == "replace":
            parent[last] = draw(JSON)
        elif operation == "drop":
            parent.pop(last)
        elif operation == "add" and isinstance(current, dict):
            current[draw(st.sampled_from(KNOWN_KEYS))] = draw(JSON)
        elif operation == "double" and isinstance(current, list) and current:
            current.extend(copy.deepcopy(current) * draw(st.integers(1, 3)))
        elif operation == "empty":
            parent[last] = type(current)() if isinstance(current, dict | list | str) else None
        elif operation == "retype":
            parent[last] = _retyped(current)
    return document


def _retyped(value: Any) -> Any:
    """The same value as Meta might (wrongly) send it: a number as text, text as a number, one as a list."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return int(value) if value.isdigit() and len(value) < 300 else [value]
    if isinstance(value, list):
        return value[0] if value else {}
    if isinstance(value, dict):
        return [value]
    return 0


def directory() -> ChannelDirectory:
    return ChannelDirectory(CHANNELS)


def assert_storable(adapter: ModuleType, parsed: Parsed) -> None:
    """What the webhook does with every item: key it, serialise it strictly, and fit the inbox's columns."""
    assert isinstance(parsed, Parsed)
    for item in parsed.items:
        assert isinstance(item, InboundMessage | StatusUpdate | EchoMessage)
        stored = json.loads(json.dumps(item.to_json(), allow_nan=False))
        assert type(item).from_json(stored) == item
        assert len(adapter.provider_key(item)) <= PROVIDER_KEY
        assert len(item.conversation_key) <= CONVERSATION_KEY
        assert len(item.platform_id) <= PLATFORM_ID
        who = item.recipient if isinstance(item, EchoMessage) else getattr(item, "sender", None)
        if who is not None:
            assert len(who.user_id or "") <= USER_ID
        assert item.business_id == "harbour-clinic"


# ---------------------------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
@PURE
@given(data=st.data())
def test_each_parser_reads_mutated_real_deliveries_without_raising(kind: str, data: st.DataObject) -> None:
    """Meta's fixtures with values swapped, dropped, doubled or retyped: parse returns, items storable."""
    adapter = ADAPTERS[kind]
    body = data.draw(mutated(INBOUND[kind]))
    if isinstance(body, dict):
        assert_storable(adapter, adapter.parse(body, directory()))


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
@PURE
@given(body=st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), JSON, max_size=5))
def test_each_parser_reads_arbitrary_json_objects_without_raising(kind: str, body: dict[str, Any]) -> None:
    """Any JSON object, also as an entry, a change and an event of the channel's shape."""
    adapter = ADAPTERS[kind]
    shapes = [
        body,
        {"object": adapter.OBJECT, "entry": [body]},
        {"object": adapter.OBJECT, "entry": [{"id": PAGE_ID, "messaging": [body], "standby": [body]}]},
        {"object": adapter.OBJECT, "entry": [{"id": IG_ACCOUNT_ID, "messaging": [body]}]},
        {"object": adapter.OBJECT, "entry": [{"changes": [{"field": "messages", "value": body}]}]},
        {
            "entry": [
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {"metadata": {"phone_number_id": PHONE_NUMBER_ID}, **body},
                        }
                    ]
                }
            ]
        },
    ]
    for shape in shapes:
        assert_storable(adapter, adapter.parse(shape, directory()))


@PURE
@given(
    raw=st.binary(max_size=300)
    | st.builds(lambda d: json.dumps(d).encode(), JSON)
    | st.builds(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2], JSON)
)
def test_bytes_read_as_json_reach_no_parser_as_anything_but_an_object(raw: bytes) -> None:
    """The webhook's reading of raw bytes: None or JSON, and whatever object comes out, every parser
    (and the Page parser under both kinds) returns."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        return
    for adapter in ADAPTERS.values():
        assert_storable(adapter, adapter.parse(body, directory()))


# ---------------------------------------------------------------------------------------------- one Jola

SERVED_CHANNELS = [
    {"kind": "whatsapp", "phone_number_id": PHONE_NUMBER_ID, "access_token": "wa-token"},
    {"kind": "messenger", "page_id": PAGE_ID, "access_token": "page-token"},
    {"kind": "instagram", "account_id": IG_ACCOUNT_ID, "access_token": "ig-token"},
]
PRACTITIONERS = [
    {"id": "mia", "name": "Mia Holm", "services": ["massage"]},
    {"id": "jon", "name": "Jon Berg"},
]
_senders = itertools.count(1)


class ErrorLines(logging.Handler):
    """Every ERROR line the server logs while the module runs: a handling failure or a caught bug."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


class Served:
    def __init__(self, jola: Jola, errors: ErrorLines) -> None:
        self.jola, self.errors = jola, errors
        self.browser = StaffBrowser(jola)  # the owner, signed in by _seeded
        self.ids: dict[str, str] = {}  # placeholder kind -> a real id of it, for the API's routes


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """One Jola for the whole module (per backend): three channels, two practitioners, a booked client."""
    async for database in database_at(request.param, tmp_path_factory.mktemp("fuzz")):
        graph = FakeGraph()
        await graph.start()
        config = make_config(
            database,
            graph.url,
            business={"hours": WEEKDAYS, "channels": SERVED_CHANNELS, "practitioners": PRACTITIONERS},
        )
        jola = await start_jola(config, graph, clock=SettableClock(NOW))
        errors = ErrorLines()
        logging.getLogger().addHandler(errors)
        served = Served(jola, errors)
        try:
            yield await _seeded(served)
        finally:
            await served.browser.close()
            logging.getLogger().removeHandler(errors)
            await jola.client.close()
            await graph.close()


async def _seeded(served: Served) -> Served:
    """A client who wrote (a conversation) and has a booking (an appointment), for the {id}s of the API."""
    jola = served.jola
    _, delivery = good_message("whatsapp")
    await jola.deliver(delivery)
    await jola.settle()
    booking = {
        "service": "massage",
        "start": "2026-11-27T10:00:00+01:00",
        "client": {"name": "Fuzz Seed", "phone": "+4511223344"},
    }
    made = await jola.client.post("/api/v1/appointments", json=booking, headers=TOKEN)
    assert made.status == 201, await made.text()
    appointment = await made.json()
    conversations = await (await jola.client.get("/api/v1/conversations", headers=TOKEN)).json()
    served.ids = {
        "appointments": str(appointment["id"]),
        "clients": str(appointment["client"]["id"]),
        "conversations": str(conversations["conversations"][0]["id"]),
        "practitioners": "mia",
        "time-off": "1",
        "replies": "1",
        "channels": "1",
    }
    await add_account(jola, "owner@harbour.example", role="owner")
    assert (await served.browser.log_in("owner@harbour.example")).url != "/login"
    return served


def good_message(kind: str) -> tuple[str, dict[str, Any]]:
    """A plain text from a new client on `kind`, written now: (its platform id, the delivery)."""
    n = next(_senders)
    now = int(NOW.timestamp())
    if kind == "whatsapp":
        wamid = f"wamid.FUZZGOOD{n:08d}"
        message = {"from": f"4560{n:08d}", "id": wamid, "timestamp": str(now), "type": "text"}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"wa_id": f"4560{n:08d}", "profile": {"name": "Fuzz Good"}}],
            "messages": [{**message, "text": {"body": "hello"}}],
        }
        entry: dict[str, Any] = {"id": "100000000000001", "changes": [{"field": "messages", "value": value}]}
        return wamid, {"object": whatsapp.OBJECT, "entry": [entry]}
    account = PAGE_ID if kind == "messenger" else IG_ACCOUNT_ID
    mid = f"m_FUZZGOOD{n:08d}"
    event = {
        "sender": {"id": f"77{n:012d}"},
        "recipient": {"id": account},
        "timestamp": now * 1000,
        "message": {"mid": mid, "text": "hello"},
    }
    return mid, {
        "object": ADAPTERS[kind].OBJECT,
        "entry": [{"id": account, "time": now * 1000, "messaging": [event]}],
    }


def beside(kind: str, junk: Any, position: int) -> tuple[str, dict[str, Any]]:
    """`junk` as one delivery of `kind` with a good message's entry put among its entries."""
    good_id, good = good_message(kind)
    body = junk if isinstance(junk, dict) else {"junk": junk}
    entries = body.get("entry")
    entries = list(entries) if isinstance(entries, list) else ([] if entries is None else [entries])
    entries.insert(position % (len(entries) + 1), good["entry"][0])
    return good_id, {**body, "object": good["object"], "entry": entries}


async def handled(jola: Jola, platform_id: str) -> bool:
    async with jola.db.read() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.platform_message_id == platform_id, Message.direction == "in")
        )
    return bool(found)


async def failed_events(jola: Jola) -> int:
    async with jola.db.inbox.read() as session:
        return int(await session.scalar(select(func.count()).where(InboundEvent.state == "failed")) or 0)


def signed_post(jola: Jola, raw: bytes) -> Any:
    return jola.client.post(
        "/webhook",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)},
    )


# ---------------------------------------------------------------------------------------------- webhook


@SHARED_LOOP
@pytest.mark.parametrize("kind", sorted(ADAPTERS))
@SERVED
@given(junk=st.data(), position=st.integers(0, 5))
async def test_junk_beside_a_good_message_gets_200_and_the_good_one_is_handled(
    served: Served, kind: str, junk: st.DataObject, position: int
) -> None:
    """A signed delivery holding a mutated fixture (or any JSON) and one good message: Meta gets 200,
    the good message is handled like any other, and nothing fails on the way (no ERROR line)."""
    served.errors.lines.clear()
    body = junk.draw(mutated(INBOUND[kind]) | JSON)
    good_id, delivery = beside(kind, body, position)
    response = await signed_post(served.jola, json.dumps(delivery).encode())  # NaN and Infinity included
    assert response.status == 200, await response.text()
    await served.jola.settle()
    assert await handled(served.jola, good_id)
    assert served.errors.lines == []
    assert await failed_events(served.jola) == 0


@SHARED_LOOP
@SERVED
@given(
    raw=st.binary(max_size=400)
    | st.builds(lambda d: json.dumps(d).encode(), JSON)
    | st.builds(lambda d, n: json.dumps(d).encode()[:n], mutated(sorted(FIXTURES)), st.integers(0, 400))
)
async def test_any_signed_bytes_get_200_or_400(served: Served, raw: bytes) -> None:
    """Bytes that are not a JSON object are a 400; any object is a 200; never a 5xx, never an ERROR."""
    served.errors.lines.clear()
    response = await signed_post(served.jola, raw)
    assert response.status in (200, 400), await response.text()
    await served.jola.settle()
    assert served.errors.lines == []
    assert await failed_events(served.jola) == 0


# ------------------------------------------------------------------------------------- Meta's callbacks


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed(payload: Any, secret: str = APP_SECRET) -> str:
    body = _b64(json.dumps(payload).encode())
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()) + "." + body


NOW_S = int(NOW.timestamp())
PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "algorithm": st.sampled_from(["HMAC-SHA256", "hmac-sha256", "RS256"]) | JSON,
        "issued_at": st.sampled_from([NOW_S - 60, NOW_S, NOW_S + 3600, 0]) | JSON,
        "user_id": st.sampled_from(["US.1000000000000000001", "77000000000001", "1" * 161]) | JSON,
        "profile_id": st.sampled_from([PAGE_ID, IG_ACCOUNT_ID]) | JSON,
        "page_id": JSON,
        "expires": JSON,
    },
)
SIGNED_REQUESTS = (
    st.text(max_size=200)
    | ODD_TEXTS
    | st.builds(_signed, PAYLOADS)
    | st.builds(_signed, JSON)
    | st.builds(lambda p: _signed(p, "another secret"), PAYLOADS)
    | st.builds(lambda a, b: f"{a}.{b}", st.text("A-Za-z0-9_-=+/.", max_size=60), st.text(max_size=60))
    | st.builds(lambda s, n: s[:n] + "x" + s[n + 1 :], st.builds(_signed, PAYLOADS), st.integers(0, 120))
)


FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=no-such-charset",
    "multipart/form-data; boundary=b",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/mixed; boundary=b",
    "application/json",
    "text/plain",
]
PART_HEADERS = st.sampled_from(
    [
        b"",
        b"Content-Type: text/plain; charset=no-such-charset\r\n",
        b"Content-Type: application/octet-stream\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Type: multipart/mixed; boundary=c\r\n",
    ]
)


@st.composite
def forms(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str]]) -> tuple[bytes, str]:
    """A form carrying `fields` as a browser (or anyone) might send it: urlencoded, multipart with odd
    part headers, or any bytes under any form-ish Content-Type; values in any Unicode, even broken."""
    values = {name: draw(values).encode("utf-8", "surrogatepass") for name, values in fields.items()}
    shape = draw(st.sampled_from(["urlencoded", "multipart", "bytes"]))
    if shape == "urlencoded":
        quote = lambda raw: re.sub(rb"[^A-Za-z0-9_.-]", lambda m: b"%%%02X" % m[0][0], raw)  # noqa: E731
        body = b"&".join(name.encode() + b"=" + quote(raw) for name, raw in values.items())
        return body, draw(st.sampled_from(FORM_TYPES[:3]))
    if shape == "multipart":
        parts = [
            b'--b\r\nContent-Disposition: form-data; name="' + name.encode() + b'"'
            + draw(st.sampled_from([b"", b'; filename="f.txt"'])) + b"\r\n"
            + draw(PART_HEADERS) + b"\r\n" + raw + b"\r\n"
            for name, raw in values.items()
        ]  # fmt: skip
        return b"".join(parts) + draw(st.sampled_from([b"--b--\r\n", b"", b"--b"])), FORM_TYPES[3]
    return draw(st.binary(max_size=300) | st.just(b"".join(values.values()))), draw(
        st.sampled_from(FORM_TYPES)
    )


@SHARED_LOOP
@pytest.mark.parametrize("route", ["/meta/data-deletion", "/meta/deauthorize"])
@SERVED
@given(form=forms({"signed_request": SIGNED_REQUESTS}))
async def test_meta_callbacks_answer_any_signed_request_without_a_5xx(
    served: Served, route: str, form: tuple[bytes, str]
) -> None:
    """Any signed_request (forged, truncated, not base64, signed but odd inside), sent any way: 200,
    400 or 403 and never an ERROR."""
    served.errors.lines.clear()
    body, kind = form
    response = await served.jola.client.post(route, data=body, headers={"Content-Type": kind})
    assert response.status in (200, 400, 403), await response.text()
    assert served.errors.lines == []


# ---------------------------------------------------------------------------------------------- REST API

BOOKING = {
    "service": "massage",
    "start": "2026-11-30T10:00:00+01:00",
    "client": {"name": "Fuzz Client", "phone": "+4512345678", "email": "fuzz@example.org"},
    "channel": "phone",
    "practitioner": "mia",
}
FIXTURES["api_booking"] = BOOKING
FIXTURES["api_message"] = {"text": "We have moved your appointment."}
FIXTURES["api_link"] = {"client_id": 1}
FIXTURES["api_time_off"] = {
    "from": "2026-12-01",
    "to": "2026-12-02",
    "note": "course",
    "keep_appointments": True,
}
API_BODIES = ["api_booking", "api_message", "api_link", "api_time_off"]
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def api_routes() -> list[tuple[str, str]]:
    """Every route of the REST API that reads a body, from the app's own router: later routes too."""
    app = create_app(make_config(DatabaseTarget("sqlite+aiosqlite://")))  # routes only: never started
    return sorted(
        {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith("/api/v1/")
            and route.method in ("POST", "PUT", "PATCH", "DELETE")
        }
    )


API_ROUTES = api_routes()


def _filled(path: str, ids: dict[str, str]) -> str:
    """The path with each {placeholder} set to a real id of what the segment before it names."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if _PLACEHOLDER.fullmatch(part):
            parts[i] = ids.get(parts[i - 1], "1")
    return "/".join(parts)


@SHARED_LOOP
@pytest.mark.parametrize(("method", "route"), API_ROUTES, ids=[f"{m} {r}" for m, r in API_ROUTES])
@SERVED
@given(
    body=mutated(API_BODIES) | JSON,
    encoding=st.sampled_from(["json", "json", "bytes"]),
    raw=st.binary(max_size=200),
)
async def test_every_api_route_with_a_body_answers_any_json_without_a_5xx(
    served: Served, method: str, route: str, body: Any, encoding: str, raw: bytes
) -> None:
    """POST /api/v1/appointments, a staff message, a link, time off (and whatever comes later): any JSON
    or bytes as the body is a 2xx or a 4xx, never a 5xx."""
    served.errors.lines.clear()
    data = json.dumps(body).encode("utf-8", "surrogatepass") if encoding == "json" else raw
    response = await served.jola.client.request(
        method,
        _filled(route, served.ids),
        data=data,
        headers={**TOKEN, "Content-Type": "application/json"},
    )
    assert response.status < 500, await response.text()
    assert served.errors.lines == []


# ---------------------------------------------------------------------------------------------- staff app

FIELD_VALUES = st.text(max_size=40) | ODD_TEXTS
FIELDS = ("email", "password", "text", "notes", "confirm", "date", "time", "service", "name", "phone",
    "practitioner", "client", "staff_id", "shortcut", "version", "from", "to", "run", "channel")  # fmt: skip


def web_posts() -> list[str]:
    """Every form the staff app takes, from its router (not /logout: the session must last the module)."""
    app = create_app(make_config(DatabaseTarget("sqlite+aiosqlite://")))
    return sorted(
        {
            route.resource.canonical
            for route in app.router.routes()
            if route.resource is not None
            and route.method == "POST"
            and not route.resource.canonical.startswith(("/api/", "/webhook", "/meta/"))
            and route.resource.canonical != "/logout"
        }
    )


@SHARED_LOOP
@pytest.mark.parametrize("route", web_posts())
@settings(SERVED, max_examples=12)
@given(form=forms({name: FIELD_VALUES for name in FIELDS}))
async def test_every_staff_form_reads_any_body_without_a_5xx(
    served: Served, route: str, form: tuple[bytes, str]
) -> None:
    """Any body under any form-ish Content-Type, to every form of the staff app (signed in, the CSRF
    token in its header so the body may be anything): a 2xx, 3xx or 4xx, never a 5xx."""
    served.errors.lines.clear()
    body, kind = form
    path = _filled(route.replace("{section}", "hours").replace("{channel}", "whatsapp"), served.ids)
    headers = {"Content-Type": kind, "X-CSRF-Token": served.browser.csrf, "Accept": "text/html"}
    async with served.browser.http.post(
        served.browser.base + path, data=body, headers=headers, allow_redirects=False
    ) as response:
        assert response.status < 500, await response.text()
    assert served.errors.lines == []
