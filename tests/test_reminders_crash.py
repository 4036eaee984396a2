"""A restart with a SIGKILL mid-window sends each reminder exactly once, checked against the fake Graph
API's record and the database.

`jola serve` runs as a real subprocess on a database file, talking to the in-process fake Graph API over
127.0.0.1. Its clock is the real one plus an offset the test moves (`CLOCK_PRELUDE`: set before the command
starts, read again on SIGUSR1); nothing in Jola itself knows about it.

1. 200 clients write on WhatsApp (each has a conversation and an open 24-hour window) and are booked
   through the REST API, one appointment every 5 minutes from 25 hours ahead: each has one reminder
   ("24h"), due one every 5 minutes from an hour ahead.
2. The clock moves to the middle of those reminders: about half fall due, the worker queues them and the
   sender sends them. The fake answers the first `ANSWERED` of them and leaves the calls after hanging
   (as Meta would a call it never took). The process is SIGKILLed with reminders sent, in flight, queued
   or still being queued, and not yet due: in the first test once Jola has committed what the Graph API
   answered, in the second at once.
3. `jola serve` starts again; the clock moves past the last reminder and past the sender's lease on the
   rows the dead process had claimed. Every reminder must arrive, nothing be left pending, and the only
   reminders sent twice be those the Graph API had answered and Jola had not yet committed at the kill:
   none in the first test.

What "delivered" means here: a call counts once the fake has written its answer; a call left hanging when
the process dies counts as one Meta never took, and is sent again. The window between the Graph API's
answer and Jola's commit of it cannot be closed by Jola alone (the Graph API takes no idempotency key): a
crash in it sends those messages again (at least once, never lost). benchmarks/reminders.py measures it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.signature import sign
from storage.db import Database
from storage.models import Message, Outbox, Reminder
from tests.conftest import DatabaseTarget
from tests.support.fake_graph import FakeGraph, GraphCall
from tests.support.live_secrets import API_TOKEN, APP_SECRET, SECRET_KEY, VERIFY_TOKEN
from tests.support.payloads import PHONE_NUMBER_ID, whatsapp_text

CLIENTS = 200
DUE_BEFORE_KILL = 100  # reminders 0..DUE_BEFORE_KILL fall due before the kill, the rest after the restart
ANSWERED = 40  # reminders the fake answers before it stops answering
STEP = timedelta(minutes=5)
SENDER_TIMEOUT = 5.0  # seconds; the sender's lease on a claimed row is 3 x this + 30 s
LEASE = timedelta(seconds=SENDER_TIMEOUT * 3 + 30)
WAIT = 60.0  # seconds: the longest any one step may take before the test fails
REMINDER_TEXT = "a reminder from Harbour Clinic"
LISTENING = re.compile(r"Jola is listening on http://127\.0\.0\.1:(\d+)")

# `python -c CLOCK_PRELUDE serve --config F --port 0` is `python -m bot serve --config F --port 0` on a
# clock the test moves: the real time plus the offset in seconds written in $CRASH_TEST_CLOCK_FILE, read at
# start and again on SIGUSR1. It patches the process it starts; no config or environment reaches it in a
# real deployment.
CLOCK_PRELUDE = """
import os, runpy, signal, sys
from datetime import UTC, datetime, timedelta
import bot.clock

def _read():
    with open(os.environ["CRASH_TEST_CLOCK_FILE"]) as f:
        return timedelta(seconds=float(f.read()))

_offset = [_read()]

def _reload(*_):
    _offset[0] = _read()

signal.signal(signal.SIGUSR1, _reload)
bot.clock.Clock.now = lambda self: datetime.now(UTC) + _offset[0]
sys.argv[0] = "jola"
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


# ------------------------------------------------------------------------------------------ the fake


def appointment_of(call: GraphCall) -> int | None:
    """The appointment a reminder call is about (its buttons carry it), or None for any other call."""
    if REMINDER_TEXT not in (call.text or ""):
        return None
    return int(call.option_ids[-1].split(":")[1])  # "cancel:<id>"


class AnsweringGraph(FakeGraph):
    """The fake Graph API, recording a call in `calls` only once its answer is written. It answers the
    first `reminders_to_answer` reminder calls; the ones after hang (counted in `hanging`) until
    `release()`. `answering = False` stops it answering anything."""

    def __init__(self) -> None:
        super().__init__()
        self.reminders_to_answer: int | None = None
        self.answering = True
        self.hanging = 0  # calls left unanswered
        self._reminders_taken = 0
        self._release = asyncio.Event()

    def release(self) -> None:
        self._release.set()

    def reminder_calls(self) -> list[GraphCall]:
        return [c for c in self.calls if appointment_of(c) is not None]

    async def wait_until(self, done: Callable[[], bool], timeout: float = WAIT) -> None:
        """Until `done()` holds, checked at each recorded call."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(done)

        await asyncio.wait_for(_wait(), timeout)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        call = GraphCall(request.path, request.headers.get("Authorization"), body, None)
        answer = self.answering
        if answer and appointment_of(call) is not None and self.reminders_to_answer is not None:
            answer = self._reminders_taken < self.reminders_to_answer
            self._reminders_taken += answer
        if not answer:
            self.hanging += 1
            await self._notify()
            await self._release.wait()
            return web.Response(status=503)  # to a process that is gone: never read
        if body.get("status") == "read":
            payload: dict[str, Any] = {"success": True}
        else:
            call.message_id = f"wamid.FAKE{next(self._ids):06d}"
            payload = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": call.message_id}],
            }
        response = web.json_response(payload)
        await response.prepare(request)
        await response.write_eof()
        self.calls.append(call)  # delivered: the answer is on its way to Jola
        await self._notify()
        return response


# ------------------------------------------------------------------------------------------ the process


def write_config(path: Path, database: DatabaseTarget, graph_url: str) -> None:
    """TOML (JSON strings and arrays are TOML too): a clinic open all day every day, one 5-minute service,
    one reminder 24 hours ahead, no quiet hours."""
    q = json.dumps
    schema = f"postgres_schema = {q(database.schema)}\n" if database.schema else ""
    hours = "".join(f'{day} = "00:00-24:00"\n' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    path.write_text(
        f"""
[server]
secret_key = {q(SECRET_KEY)}
log_level = "info"

[database]
url = {q(database.url)}
{schema}
[meta]
app_secret = {q(APP_SECRET)}
verify_token = {q(VERIFY_TOKEN)}
graph_api_url = {q(graph_url)}
graph_api_version = "v23.0"

[dispatch]
poll_seconds = 0.2

[sender]
poll_seconds = 0.2
timeout_seconds = {SENDER_TIMEOUT}
retry_base_seconds = 0.05
retry_max_seconds = 0.5

[reminders]
poll_seconds = 0.2
batch_size = 25

[[businesses]]
id = "harbour-clinic"
name = "Harbour Clinic"
timezone = "Europe/Copenhagen"
locale = "en"
api_token = {q(API_TOKEN)}

[businesses.hours]
{hours}
[businesses.booking]
slot_step_minutes = 5
min_notice = "0m"

[businesses.reminders]
lead_times = ["24h"]
quiet_hours = []

[[businesses.services]]
id = "checkup"
name = "Check-up"
duration_minutes = 5

[[businesses.channels]]
kind = "whatsapp"
phone_number_id = {q(PHONE_NUMBER_ID)}
access_token = "test-token"
"""
    )


class Serve:
    """`jola serve` as a subprocess on the test's clock."""

    def __init__(self, tmp_path: Path, config: Path) -> None:
        self._config = config
        self._clock_file = tmp_path / "clock-offset"
        self._log = tmp_path / "serve.log"
        self._clock_file.write_text("0")
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""

    def offset(self) -> str:
        return self._clock_file.read_text()

    def log(self) -> str:
        return self._log.read_text() if self._log.exists() else ""

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOLA_")}
        env.update(PYTHONUNBUFFERED="1", CRASH_TEST_CLOCK_FILE=str(self._clock_file))
        with self._log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-c", CLOCK_PRELUDE, "serve", "--config", str(self._config), "--port", "0"),
                cwd=self._config.parent,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        while True:
            line = (await asyncio.wait_for(self.process.stdout.readline(), WAIT)).decode()
            assert line, f"jola serve ended early:\n{self.log()}"
            found = LISTENING.match(line)
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                return

    def set_clock(self, moment: datetime) -> None:
        """Jola's clock shows `moment` now (and runs on from there)."""
        self._clock_file.write_text(str((moment - datetime.now(UTC)).total_seconds()))
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGUSR1)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL
        assert await asyncio.wait_for(self.process.wait(), WAIT) == -signal.SIGKILL

    async def stop(self) -> None:
        """Ctrl-C: it finishes the sends in flight, records them, and exits 0."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(self.process.wait(), WAIT) == 0, self.log()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


# ------------------------------------------------------------------------------------------ the clients


def wa_id(index: int) -> str:
    return f"4550{index:06d}"


async def write_and_book(
    http: aiohttp.ClientSession, serve: Serve, graph: AnsweringGraph, first_start: datetime
) -> list[int]:
    """Each client writes "hi" (signed as Meta signs), then is booked through the REST API with their
    phone, so the appointment is theirs on WhatsApp; returns the appointment ids, client by client."""
    gate = asyncio.Semaphore(16)
    now = int(datetime.now(UTC).timestamp())

    async def writes(index: int) -> None:
        raw = json.dumps(
            whatsapp_text("hi", wa_id=wa_id(index), name=f"Client {index}", user_id=None, timestamp=now)
        )
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw.encode(), APP_SECRET)}
        async with gate, http.post(f"{serve.url}/webhook", data=raw, headers=headers) as response:
            assert response.status == 200, await response.text()

    async def books(index: int) -> int:
        body = {
            "service": "checkup",
            "start": (first_start + index * STEP).isoformat(),
            "client": {"name": f"Client {index}", "phone": f"+{wa_id(index)}"},
            "channel": "whatsapp",
        }
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with (
            gate,
            http.post(f"{serve.url}/api/v1/appointments", json=body, headers=headers) as response,
        ):
            assert response.status == 201, await response.text()
            return int((await response.json())["id"])

    await asyncio.gather(*(writes(i) for i in range(CLIENTS)))
    everyone = {wa_id(i) for i in range(CLIENTS)}
    try:  # each has been answered: the conversation (and its window) is there for the booking to find
        await graph.wait_until(lambda: everyone <= {c.to for c in graph.calls})
    except TimeoutError:
        raise AssertionError(f"not every client was answered:\n{serve.log()[-4000:]}") from None
    return list(await asyncio.gather(*(books(i) for i in range(CLIENTS))))


# ------------------------------------------------------------------------------------------ the database


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until another process's commits make `check()` true: nothing there can be awaited, so it looks
    every 20 ms."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def reminder_rows(
    db: Database, *, final: bool = False
) -> list[tuple[int, str, int, str | None, str | None]]:
    """(appointment, reminder state, attempts, its outbox row's state, its message's status) each.

    `final`: once every transaction a killed process left behind has ended. On PostgreSQL its COMMIT may
    still be on its way to the server when the process is gone, and commits then; taking the rows' locks
    waits for it (a transaction whose COMMIT was never sent is rolled back, holding its locks till then)."""
    async with db.write() if final else db.read() as session:
        if final:
            await session.execute(select(Outbox.id).with_for_update())
            await session.execute(select(Reminder.id).with_for_update())
        rows = await session.execute(
            select(Reminder.appointment_id, Reminder.state, Reminder.attempts, Outbox.state, Message.status)
            .outerjoin(Outbox, Outbox.message_id == Reminder.message_id)
            .outerjoin(Message, Message.id == Reminder.message_id)
            .order_by(Reminder.appointment_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def stuck(db: Database, graph: AnsweringGraph, serve: Serve, unrecorded: list[int]) -> str:
    """Why the restarted process has not sent every reminder: for the failure's message."""
    async with db.read() as session:
        rows = await session.execute(
            select(Outbox.id, Outbox.state, Outbox.claimed_until, Outbox.next_attempt_at, Outbox.last_error)
            .where(Outbox.state.in_(("pending", "sending")))
            .limit(20)
        )
        open_rows = [tuple(row) for row in rows]
    sent = [appointment_of(c) for c in graph.reminder_calls()]
    states = Counter((r, o) for _, r, _, o, _ in await reminder_rows(db))
    return (
        f"{len(sent)} reminder calls for {len(set(sent))} appointments (expected {CLIENTS} + "
        f"{len(unrecorded)} again); reminders (state, outbox) {dict(states)}; open outbox rows "
        f"{open_rows}; now {datetime.now(UTC)}, clock offset {serve.offset()} s\n{serve.log()[-4000:]}"
    )


async def open_outbox(db: Database) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(select(func.count()).where(Outbox.state.in_(("pending", "sending")))) or 0
        )


# ------------------------------------------------------------------------------------------ the tests


async def test_a_sigkill_mid_window_sends_each_reminder_exactly_once(
    database: DatabaseTarget, tmp_path: Path
) -> None:
    """Killed once Jola has recorded what the Graph API answered: every reminder arrives exactly once."""
    twice = await crash_and_restart(database, tmp_path, record_before_kill=True)
    assert twice == []


async def test_a_sigkill_between_answer_and_commit_sends_just_those_again(
    database: DatabaseTarget, tmp_path: Path
) -> None:
    """Killed the moment the Graph API has answered: the sends answered but not yet committed go again
    (at least once: nothing is lost), and nothing else does. This is the window exactly-once cannot
    close; benchmarks/reminders.py measures how wide it is."""
    await crash_and_restart(database, tmp_path, record_before_kill=False)


async def crash_and_restart(
    database: DatabaseTarget, tmp_path: Path, *, record_before_kill: bool
) -> list[int]:
    """Steps 1-3 of the module's docstring; checks that every reminder went out, that the ones sent twice
    are exactly those answered by the Graph API but not yet committed by Jola when it was killed, and that
    the database is settled. Returns the appointments whose reminder went twice."""
    graph = AnsweringGraph()
    await graph.start()
    config = tmp_path / "jola.toml"
    write_config(config, database, graph.url)
    serve = Serve(tmp_path, config)
    db = Database(database.url, schema=database.schema)
    try:
        async with aiohttp.ClientSession() as http:
            # 1. Clients write and are booked; their reminders fall due one every 5 minutes from in an hour.
            await serve.start()
            start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=25)
            appointments = await write_and_book(http, serve, graph, start)
            due = [start + i * STEP - timedelta(hours=24) for i in range(CLIENTS)]
            assert [(state, attempts) for _, state, attempts, _, _ in await reminder_rows(db)] == [
                ("pending", 0)
            ] * CLIENTS
            await until(lambda: _nothing_open(db), "the replies to the clients are sent")
            assert graph.reminder_calls() == []

            # 2. About half fall due; the fake answers ANSWERED of them and leaves the next hanging; Jola is
            # killed (once it has recorded the answered ones, or at once).
            graph.reminders_to_answer = ANSWERED
            serve.set_clock(due[DUE_BEFORE_KILL] + timedelta(seconds=1))
            try:
                await graph.wait_until(lambda: len(graph.reminder_calls()) == ANSWERED and graph.hanging > 0)
            except TimeoutError:
                raise AssertionError(await stuck(db, graph, serve, [])) from None
            if record_before_kill:
                await until(lambda: _sent_reminders(db, ANSWERED), "Jola has recorded the answered reminders")
            graph.answering = False
            await serve.kill()
            graph.release()  # the calls left hanging end, unanswered, into a dead process
            graph.answering, graph.reminders_to_answer = True, None
            answered = {appointment_of(c) for c in graph.reminder_calls()}
            at_kill = {
                appointment: outbox for appointment, _, _, outbox, _ in await reminder_rows(db, final=True)
            }
            unrecorded = sorted(a for a in answered if at_kill[a] == "sending")  # answered, not committed
            in_flight = [a for a, outbox in at_kill.items() if outbox == "sending" and a not in answered]
            assert in_flight, "nothing was in flight at the kill"
            not_due = [a for a, outbox in at_kill.items() if outbox is None]
            assert len(not_due) >= CLIENTS - DUE_BEFORE_KILL - 1  # (or not yet claimed by the worker)
            if record_before_kill:
                assert unrecorded == []

            # 3. Again, past the last reminder and past the lease on what the dead process had claimed.
            await serve.start()
            serve.set_clock(due[-1] + LEASE + timedelta(minutes=1))
            try:
                await graph.wait_until(lambda: len(graph.reminder_calls()) >= CLIENTS + len(unrecorded))
            except TimeoutError:
                raise AssertionError(await stuck(db, graph, serve, unrecorded)) from None
            await serve.stop()
    finally:
        await serve.close()
        graph.release()
        await graph.close()

    try:
        calls = graph.reminder_calls()
        sent = [appointment_of(c) for c in calls]
        twice = sorted({a for a in sent if sent.count(a) > 1})
        assert twice == unrecorded, (
            f"sent twice: {twice}; answered but not recorded at the kill: {unrecorded}"
        )
        assert sorted(set(sent)) == sorted(appointments)  # every appointment's reminder went out
        assert all(sent.count(a) == 1 for a in appointments if a not in unrecorded)
        assert sorted({c.to for c in calls}) == sorted(wa_id(i) for i in range(CLIENTS))
        assert await reminder_rows(db) == [(a, "queued", 1, "sent", "sent") for a in sorted(appointments)]
        assert await open_outbox(db) == 0
        async with db.read() as session:
            reminders_written = await session.scalar(
                select(func.count()).where(Message.text.like(f"%{REMINDER_TEXT}%"))
            )
        assert reminders_written == CLIENTS  # one message row each: none queued twice
    finally:
        await db.dispose()
    return twice


async def _nothing_open(db: Database) -> bool:
    return await open_outbox(db) == 0


async def _sent_reminders(db: Database, count: int) -> bool:
    async with db.read() as session:
        sent = await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .join(Outbox, Outbox.message_id == Reminder.message_id)
            .where(Outbox.state == "sent")
        )
    return sent == count
