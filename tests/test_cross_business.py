"""Issue 18: one Jola, two businesses, and nothing of one reachable from the other. Business A's API token
and A's staff, given business B's ids, get the answer a made-up id gets (404, never 403, 200 or 500), and
nothing of B changes; A's lists, searches, filters, pages and live stream show nothing of B.

Every route comes from the app's own router, so a route added later is swept too: a route with an id in
its path is tried with B's ids (the segment before the id says what kind of id); a page or list without
one is searched for B's data; anything else must be listed in NOT_BY_ID with why."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import parse_config
from storage.models import Base, Channel, SavedReply
from tests.conftest import DatabaseTarget, Jola, SettableClock, make_config, start_jola
from tests.support.clinic import NOW, WEEKDAYS
from tests.support.fake_graph import FakeGraph
from tests.support.payloads import PHONE_NUMBER_ID, whatsapp_text
from tests.support.staff import StaffBrowser, add_account
from tests.test_privacy import signed_request

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

A, B = "harbour-clinic", "bluebell-spa"
A_TOKEN = {"Authorization": "Bearer api-token"}
B_TOKEN = {"Authorization": "Bearer bluebell-token"}
B_PHONE_NUMBER_ID = "100000000000099"
# B's words, none of which A has anywhere: finding one in an answer to A is a leak.
B_NAME, B_PHONE, B_EMAIL = "Quentin Zabriskie", "+4598761234", "quentin.zabriskie@example.org"
B_SAID, B_NOTES = "hello, zanzibar walrus here", "allergic to kelp, xq7"
B_MARKERS = (
    "Quentin",
    "Zabriskie",
    "98761234",
    "zabriskie@",
    "zanzibar",
    "walrus",
    "kelp",
    "Bluebell",
    "bluebell",
    "Bertha",
    "Seaweed",
    "Mira Vang",
)
NOWHERE = "987654321987"  # an id no row has: what B's ids must be indistinguishable from

# Routes that name no row by an id, each with why; the id-less GET routes are also searched for B's data.
NOT_BY_ID = {
    ("POST", "/webhook"): "Meta's deliveries: the channel's asset id names the business",
    ("POST", "/meta/data-deletion"): "Meta's callback: a signed user id, across businesses by design",
    ("POST", "/meta/deauthorize"): "Meta's callback: a signed asset id",
    ("POST", "/login"): "before anyone is signed in",
    ("POST", "/logout"): "ends the caller's own session",
    ("POST", "/account/calendar"): "a practitioner key of the caller's business (test_ids_in_bodies)",
    ("POST", "/account/language"): "the caller's own language",
    ("POST", "/appointments"): "a client id in the form (test_ids_in_bodies)",
    ("POST", "/replies"): "adds a saved reply to the caller's business",
    ("POST", "/settings/{section}"): "a section name from a fixed set; saves the caller's business",
    ("POST", "/settings/people/time-off"): "a practitioner key in the form (test_ids_in_bodies)",
    ("POST", "/playground/reset"): "the caller's own test runs",
    ("POST", "/playground/messages"): "the caller's own test runs",
    ("POST", "/api/v1/appointments"): "a practitioner key in the body (test_ids_in_bodies)",
    ("GET", "/events"): "a stream of the caller's business (test_the_live_stream_carries_nothing_of_b)",
    ("GET", "/static"): "files of the app",
    ("GET", "/webhook"): "Meta's subscription handshake",
    ("GET", "/healthz"): "whether the database answers",
    ("GET", "/metrics"): "counts by business id, channel and outcome, never a row's content",
    ("GET", "/login"): "before anyone is signed in",
    ("GET", "/meta/data-deletion/status"): "a deletion's confirmation code, for the person who asked",
}
# Placeholders that are names from a fixed set, not row ids: their pages are searched with every name.
NAMED = {"/settings/{section}"}
NOT_SEARCHED = {
    "/events",
    "/static",
    "/login",
    "/webhook",
    "/healthz",
    "/metrics",
    "/meta/data-deletion/status",
}


def deauthorization(asset: str) -> dict[str, Any]:
    return {"algorithm": "HMAC-SHA256", "issued_at": int(NOW.timestamp()) - 60, "profile_id": asset}


def business(
    id: str, name: str, token: str, phone_number_id: str, services: list[Any], practitioners: list[Any]
) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "timezone": "Europe/Copenhagen",
        "locale": "en",
        "api_token": token,
        "hours": WEEKDAYS,
        "services": services,
        "practitioners": practitioners,
        "channels": [{"kind": "whatsapp", "phone_number_id": phone_number_id, "access_token": "t"}],
    }


@dataclass
class Two:
    """The running Jola and what each business holds: row ids by kind (the path segment naming them)."""

    jola: Jola
    a: dict[str, int] = field(default_factory=dict)
    b: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def two(database: DatabaseTarget, fake_graph: FakeGraph) -> AsyncIterator[Two]:
    """Harbour Clinic (A) and Bluebell Spa (B), both with a practitioner keyed "mia", each with a client
    who wrote, a booking, time off, a saved reply, notes and an email address, and staff."""
    data = make_config(database, fake_graph.url).model_dump()
    data["businesses"] = [
        business(
            A,
            "Harbour Clinic",
            "api-token",
            PHONE_NUMBER_ID,
            [{"id": "massage", "name": "Massage", "duration_minutes": 60}],
            [{"id": "mia", "name": "Mia Holm"}],
        ),
        business(
            B,
            "Bluebell Spa",
            "bluebell-token",
            B_PHONE_NUMBER_ID,
            [{"id": "seaweed", "name": "Seaweed Wrap", "duration_minutes": 60}],
            [{"id": "mia", "name": "Mira Vang"}, {"id": "bertha", "name": "Bertha Quill"}],
        ),
    ]
    jola = await start_jola(parse_config(data, environ={}), fake_graph, clock=SettableClock(NOW))
    try:
        two = Two(jola)
        two.a = await _fill(jola, A, A_TOKEN, "Anna Jensen", "+4511111111", "massage", "mia", PHONE_NUMBER_ID)
        two.b = await _fill(jola, B, B_TOKEN, B_NAME, B_PHONE, "seaweed", "bertha", B_PHONE_NUMBER_ID)
        yield two
    finally:
        await jola.client.close()


async def _fill(
    jola: Jola,
    business_id: str,
    token: dict[str, str],
    name: str,
    phone: str,
    service: str,
    who: str,
    asset: str,
) -> dict[str, int]:
    """Everything a business holds, made through its own doors (its client's chat, its API, its staff)."""
    said = B_SAID if business_id == B else "hello, I'd like a massage"
    await jola.deliver(
        whatsapp_text(
            said,
            wa_id=phone[1:],
            name=name,
            user_id=None,
            phone_number_id=asset,
            timestamp=int(NOW.timestamp()),
        )
    )
    await jola.settle()
    booking = {
        "service": service,
        "start": "2026-11-27T10:00:00+01:00",
        "client": {"name": name, "phone": phone},
        "practitioner": who,
    }
    made = await jola.client.post("/api/v1/appointments", json=booking, headers=token)
    assert made.status == 201, await made.text()
    appointment = await made.json()
    ids = {"appointments": appointment["id"], "clients": appointment["client"]["id"]}
    conversations = (await (await jola.client.get("/api/v1/conversations", headers=token)).json())[
        "conversations"
    ]
    ids["conversations"] = conversations[0]["id"]
    for practitioner in (who, "mia"):
        away = {
            "from": "2026-12-07",
            "to": "2026-12-08",
            "note": f"{'Bertha at a kelp course' if business_id == B else 'course'}",
        }
        added = await jola.client.post(
            f"/api/v1/practitioners/{practitioner}/time-off", json=away, headers=token
        )
        assert added.status == 201, await added.text()
        ids[f"time-off:{practitioner}"] = (await added.json())["id"]
    ids["time-off"] = ids[f"time-off:{who}"]
    owner = f"owner@{business_id}.example"
    ids["staff"] = await add_account(
        jola,
        owner,
        name="Bertha Owner" if business_id == B else "Olga Owner",
        role="owner",
        business=business_id,
    )
    ids["colleague"] = await add_account(
        jola, f"staff@{business_id}.example", name="Rita", business=business_id
    )
    browser = StaffBrowser(jola)
    try:
        await browser.log_in(owner)
        client = ids["clients"]
        notes = B_NOTES if business_id == B else "likes tea"
        assert (await browser.post(f"/clients/{client}/notes", {"notes": notes})).status == 200
        email = B_EMAIL if business_id == B else "anna@example.org"
        assert (
            await browser.post(f"/clients/{client}/email", {"email": email, "email_reminders": "on"})
        ).status == 200
        reply = {"shortcut": "hours", "text": "Bluebell is open 9-17" if business_id == B else "We open at 8"}
        assert (await browser.post("/replies", reply)).status == 200
    finally:
        await browser.close()
    async with jola.db.read() as session:
        ids["replies"] = (
            await session.execute(select(SavedReply.id).where(SavedReply.business_id == business_id))
        ).scalar_one()
        ids["channels"] = (
            await session.execute(select(Channel.id).where(Channel.external_id == asset))
        ).scalar_one()
    # B: Meta says the app was removed from the asset; the channel waits for its owner to turn it on.
    if business_id == B:
        form = {"signed_request": signed_request(deauthorization(asset))}
        assert (await jola.client.post("/meta/deauthorize", data=form)).status == 200
    return ids


# ---------------------------------------------------------------------------------------------- helpers

PLACEHOLDER = re.compile(r"\{([^}]+)\}")
# A body or form that would do its route's work if the id were A's own: so only the id can refuse it.
FORM = {
    "text": "A's staff writing",
    "notes": "A's notes",
    "email": "someone@harbour.example",
    "email_reminders": "on",
    "confirm": "ERASE",
    "template": "appointment_reminder",
    "value": "x",
    "date": "2026-11-30",
    "time": "11:00",
    "practitioner": "mia",
    "shortcut": "changed",
    "from": "2026-12-14",
    "to": "2026-12-15",
    "note": "A's note",
    "stop": "1",
    "restricted_reason": "client_asked",
    "restricted_note": "A's reason",
    "name": "A's name",
    "phone": "+4511112222",
    "locale": "da",
}
BODY: dict[str, Any] = {
    "text": "A's staff writing",
    "from": "2026-12-14T00:00:00+01:00",
    "to": "2026-12-15T00:00:00+01:00",
    "note": "A's note",
    "keep_appointments": True,
    "name": "A's name",
    "email": "someone@harbour.example",
    "locale": "da",
}
# Bodies for routes that refuse fields they do not take (else only a 400 would answer, the id unread).
BODIES = {
    ("PATCH", "/api/v1/clients/{id}"): {"name": "A's name", "email": "a@harbour.example", "locale": "da"}
}


def routes_of(jola: Jola) -> list[tuple[str, str]]:
    return sorted(
        {(r.method, r.resource.canonical) for r in jola.app.router.routes() if r.resource is not None}
        - {("HEAD", r.resource.canonical) for r in jola.app.router.routes() if r.resource is not None}
    )


def fillings(path: str, ids: dict[str, Any], *, shared_key: bool = True) -> list[str]:
    """`path` with its placeholders set to `ids`' rows: an `{id}` by the segment before it (/clients/{id}
    is a client); a practitioner by B's own key and, where a row id follows, by the key both businesses
    have; a channel kind by one A has too (the row id decides). A placeholder this sweep does not know
    fails the test: teach it the new kind of id."""
    parts = path.split("/")
    holes = [i for i, part in enumerate(parts) if PLACEHOLDER.fullmatch(part)]
    names = {i: PLACEHOLDER.fullmatch(parts[i]).group(1) for i in holes}  # type: ignore[union-attr]
    keys: list[str | None] = [None]
    if "practitioner" in names.values():
        keys = ["bertha", "mia"] if shared_key and len(holes) > 1 else ["bertha"]
    found = []
    for key in keys:
        filled = list(parts)
        for i in holes:
            name, kind = names[i], parts[i - 1]
            if name == "practitioner":
                filled[i] = "nobody" if ids is NOWHERE_IDS and key == "bertha" else str(key)
            elif name == "channel":
                filled[i] = "whatsapp"
            elif name == "id" and kind == "time-off" and key is not None:
                filled[i] = str(ids[f"time-off:{key}"])
            else:
                assert name == "id" and (kind in ids or ids is NOWHERE_IDS), (
                    f"{path}: teach the sweep what {{{name}}} after /{kind}/ is"
                )
                filled[i] = str(ids[kind])
        found.append("/".join(filled))
    return found


class _Nowhere(dict):  # type: ignore[type-arg]
    """Ids no row has, of every kind."""

    def __missing__(self, key: str) -> str:
        return NOWHERE


NOWHERE_IDS: dict[str, Any] = _Nowhere()


async def b_rows(jola: Jola) -> list[str]:
    """Every stored row that is not A's (B's, and those of no business): what A must never change. A row
    without a business of its own belongs to the row its foreign key names (a history to its booking)."""
    rows: list[str] = []
    async with jola.db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "login_failures":
                continue
            query = select(table)
            if table.name == "businesses":
                query = query.where(table.c.id != A)
            elif "business_id" in table.c:
                query = query.where((table.c.business_id != A) | table.c.business_id.is_(None))
            else:
                for key in table.foreign_keys:
                    owner = key.column.table
                    if "business_id" in owner.c:
                        theirs = select(key.column).where(owner.c.business_id != A)
                        query = query.where(key.parent.in_(theirs))
            rows += [f"{table.name}: {tuple(row)!r}" for row in await session.execute(query)]
    return rows


def leaks(text: str) -> list[str]:
    return [marker for marker in B_MARKERS if marker in text]


@dataclass
class Answer:
    status: int
    text: str


async def as_api(jola: Jola, method: str, path: str, body: Any = None) -> Answer:
    response = await jola.client.request(method, path, json=body, headers=A_TOKEN)
    return Answer(response.status, await response.text())


async def as_staff(
    browser: StaffBrowser, method: str, path: str, form: dict[str, str] | None = None
) -> Answer:
    """A request as the signed-in person, redirects not followed (a 303 is a change that was made)."""
    url = browser.base + path
    if method in ("GET", "HEAD"):
        async with browser.http.request(
            method, url, headers={"Accept": "text/html"}, allow_redirects=False
        ) as r:
            return Answer(r.status, await r.text())
    data = {**(form or {}), "csrf_token": browser.csrf}
    async with browser.http.request(
        method, url, data=data, headers={"Accept": "text/html"}, allow_redirects=False
    ) as r:
        return Answer(r.status, await r.text())


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def is_web(path: str) -> bool:
    return not path.startswith(("/api/", "/webhook", "/healthz", "/metrics", "/meta/", "/static"))


async def signed_in(jola: Jola, email: str) -> StaffBrowser:
    browser = StaffBrowser(jola)
    page = await browser.log_in(email)
    assert page.status == 200 and page.url != "/login", page.text[:300]
    return browser


# ---------------------------------------------------------------------------------------------- ids


async def test_every_route_is_swept_or_said_to_take_no_id(two: Two) -> None:
    """A route added later is swept by the tests below or must be listed here with why not."""
    unknown = []
    for method, path in routes_of(two.jola):
        if PLACEHOLDER.search(path) and path not in NAMED:
            fillings(path, two.b)  # fails on an id of a kind the sweep cannot fill
        elif not (method == "GET" and path not in NOT_SEARCHED) and (method, path) not in NOT_BY_ID:
            unknown.append(f"{method} {path}")
    assert unknown == []


async def test_a_with_b_ids_gets_what_a_made_up_id_gets_and_b_is_untouched(two: Two) -> None:
    """For every route with an id in its path, A's token and A's owner (and A's plain staff, where the
    role decides first) with B's ids get what a made-up id gets, 404 for the owner and the token, and B's
    rows stay exactly as they were."""
    jola = two.jola
    before = await b_rows(jola)
    owner = await signed_in(jola, f"owner@{A}.example")
    staff = await signed_in(jola, f"staff@{A}.example")
    swept: list[str] = []
    try:
        for method, route in routes_of(jola):
            if not PLACEHOLDER.search(route) or route in NAMED or not (is_api(route) or is_web(route)):
                continue
            methods = [method, "HEAD"] if method == "GET" else [method]
            body = BODIES.get((method, route), {**BODY, "client_id": two.a["clients"]})  # link: to A's own
            for verb in methods:
                for path, nowhere_path in zip(
                    fillings(route, two.b), fillings(route, NOWHERE_IDS), strict=True
                ):
                    if is_api(route):
                        theirs = await as_api(jola, verb, path, body if verb not in ("GET", "HEAD") else None)
                        made_up = await as_api(
                            jola, verb, nowhere_path, body if verb not in ("GET", "HEAD") else None
                        )
                        assert (theirs.status, theirs.text) == (404, made_up.text), f"{verb} {path}: {theirs}"
                    else:
                        for who, browser in (("owner", owner), ("staff", staff)):
                            theirs = await as_staff(browser, verb, path, FORM)
                            made_up = await as_staff(browser, verb, nowhere_path, FORM)
                            assert (theirs.status, theirs.text) == (made_up.status, made_up.text), (
                                f"{who} {verb} {path}: {theirs} vs {made_up}"
                            )
                            assert theirs.status == 404 or (who == "staff" and theirs.status == 403), (
                                f"{who} {verb} {path}: {theirs}"
                            )
                    assert leaks(theirs.text) == [], f"{verb} {path}"
                    swept.append(f"{verb} {path}")
    finally:
        await owner.close()
        await staff.close()
    assert await b_rows(jola) == before
    for must in ("DELETE /api/v1/clients/", "POST /clients/", "POST /appointments/", "GET /conversations/"):
        assert any(s.startswith(must) for s in swept), must


# ---------------------------------------------------------------------------------------------- lists


def searches(b: dict[str, Any]) -> list[dict[str, str]]:
    """Query strings that would find B's data if a list, search or filter forgot the business."""
    queries: list[dict[str, str]] = [
        {},
        {"q": "Zabriskie"},
        {"q": "quentin"},  # lower case: a "Quentin" shown is a found client, not the search echoed
        {"q": B_PHONE},
        {"q": "98761234"},
        {"q": "zanzibar"},
        {"q": "bluebell"},
        {"phone": B_PHONE},
        {"from": "2026-11-01", "to": "2026-12-31"},
        {"service": "seaweed", "from": "2026-11-26", "to": "2026-11-28"},
        {"service": "massage", "practitioner": "bertha", "from": "2026-11-26", "to": "2026-11-28"},
        {"date": "2026-11-27"},
        {"date": "2026-11-27", "view": "week", "who": "bertha"},
        {
            "client": str(b["clients"]),
            "client_id": str(b["clients"]),
            "conversation": str(b["conversations"]),
        },
        {"before": str(b["clients"] + 1)},
        {"channel": "whatsapp", "run": "1", "after": "0"},
    ]
    queries += [{"status": s} for s in ("booked", "confirmed", "cancelled", "needs_staff", "staff", "bot")]
    queries += [{"show": s} for s in ("needs_staff", "mine", "bot", "all")]
    return queries


async def test_no_list_search_or_filter_of_a_shows_anything_of_b(two: Two) -> None:
    """Every page and API list without an id in its path, asked with every search and filter (B's
    client's name, phone and words, B's services, practitioners and days), shows A nothing of B."""
    jola = two.jola
    owner = await signed_in(jola, f"owner@{A}.example")
    seen: list[str] = []
    try:
        for method, route in routes_of(jola):
            if method != "GET" or route in NOT_SEARCHED:
                continue
            paths = [route]
            if route == "/settings/{section}":
                from bot.web.settings_forms import SECTIONS

                paths = [f"/settings/{section}" for section in (*SECTIONS, "changes")]
            elif PLACEHOLDER.search(route):
                continue  # swept by id above
            for path in paths:
                for query in searches(two.b):
                    url = path + (
                        "?" + "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in query.items())
                        if query
                        else ""
                    )
                    if is_api(path):
                        answer = await as_api(jola, "GET", url)
                    else:
                        answer = await as_staff(owner, "GET", url)
                    assert answer.status < 500, f"{url}: {answer}"
                    typed = " ".join(query.values())  # a search box shows what was typed: not a leak
                    found = [m for m in leaks(answer.text) if m not in typed]
                    assert found == [], f"{url}: {found}"
                seen.append(path)
    finally:
        await owner.close()
    for must in ("/api/v1/clients", "/api/v1/appointments", "/inbox", "/clients", "/calendar", "/"):
        assert must in seen
    # And the same searches as B find B's own (so the searches above could have found something).
    found = await jola.client.get("/api/v1/clients", params={"q": "Zabriskie"}, headers=B_TOKEN)
    assert B_NAME in await found.text()


async def test_ids_in_bodies_and_forms_are_a_made_up_id_too(two: Two) -> None:
    """Ids that travel in a form or a JSON body (a client to book for, a colleague to give a conversation
    to, a practitioner, a client to link) answer as a made-up one does, and change nothing of B."""
    jola = two.jola
    before = await b_rows(jola)
    owner = await signed_in(jola, f"owner@{A}.example")
    a, b = two.a, two.b
    try:
        for path, field, theirs_value, made_up in [
            ("/appointments", "client", str(b["clients"]), NOWHERE),
            (f"/conversations/{a['conversations']}/assign", "staff_id", str(b["colleague"]), NOWHERE),
            ("/account/calendar", "practitioner", "bertha", "nobody"),
            ("/settings/people/time-off", "practitioner", "bertha", "nobody"),
        ]:
            form = {**FORM, "service": "massage", "practitioner": "", field: theirs_value}
            if field == "practitioner":
                form = {**FORM, field: theirs_value}
            theirs = await as_staff(owner, "POST", path, form)
            nowhere = await as_staff(owner, "POST", path, {**form, field: made_up})
            assert theirs.status in (400, 404) and theirs.status == nowhere.status, f"{path}: {theirs}"
            assert leaks(theirs.text) == [], path
        linked = await as_api(
            jola, "POST", f"/api/v1/clients/{a['clients']}/link", {"client_id": b["clients"]}
        )
        nowhere = await as_api(
            jola, "POST", f"/api/v1/clients/{a['clients']}/link", {"client_id": int(NOWHERE)}
        )
        assert (linked.status, linked.text) == (404, nowhere.text)
        booking = {
            "service": "massage",
            "start": "2026-11-30T10:00:00+01:00",
            "client": {"name": "Someone", "phone": "+4511112222"},
        }
        theirs = await as_api(jola, "POST", "/api/v1/appointments", {**booking, "practitioner": "bertha"})
        nowhere = await as_api(jola, "POST", "/api/v1/appointments", {**booking, "practitioner": "nobody"})
        assert theirs.status == 400 and theirs.text == nowhere.text.replace("nobody", "bertha")
        # B's client's phone booked by A is A's own new client, nothing joined to B's record.
        same_phone = await as_api(
            jola, "POST", "/api/v1/appointments", {**booking, "client": {"name": "Q", "phone": B_PHONE}}
        )
        assert same_phone.status == 201 and json.loads(same_phone.text)["client"]["id"] != b["clients"]
        assert [m for m in leaks(same_phone.text) if m not in B_PHONE] == []  # the number is what A typed
    finally:
        await owner.close()
    assert await b_rows(jola) == before


async def test_the_live_stream_carries_nothing_of_b(two: Two) -> None:
    """A's open page hears of A's conversations only: B's client writing makes no event there."""
    jola = two.jola
    owner = await signed_in(jola, f"owner@{A}.example")
    try:
        async with owner.http.get(owner.base + "/events", headers={"Accept": "text/event-stream"}) as stream:
            assert await stream.content.readuntil(b"event: hello\n")
            await jola.deliver(
                whatsapp_text(
                    "zanzibar again",
                    wa_id=B_PHONE[1:],
                    user_id=None,
                    phone_number_id=B_PHONE_NUMBER_ID,
                    timestamp=int(NOW.timestamp()),
                )
            )
            await jola.settle()
            await jola.deliver(
                whatsapp_text(
                    "and me again", wa_id="4511111111", user_id=None, timestamp=int(NOW.timestamp())
                )
            )
            await jola.settle()
            heard: set[Any] = set()
            async with asyncio.timeout(10):
                while two.a["conversations"] not in heard:
                    line = (await stream.content.readline()).decode()
                    if line.startswith("data: "):
                        change = json.loads(line[6:])
                        if "conversation" in change:  # not the hello's (nor a resync's) empty data
                            heard.add(change["conversation"])
            assert two.b["conversations"] not in heard
            assert heard <= {two.a["conversations"], None}
    finally:
        await owner.close()
