#!/usr/bin/env python3
"""Webhook load benchmark: signed WhatsApp deliveries against a running `jola serve`, and the same load
against a bare aiohttp handler as the ceiling, in one run.

    .venv/bin/python benchmarks/webhook_load.py --rate 500 --duration 10 --conversations 200

What one run does (every process on 127.0.0.1, every loop bounded in count and time):

1. starts a bare aiohttp server (one POST handler: read the body, answer 200), runs the phases on it and
   stops it;
2. starts a fake Graph API in its own process (answers sends with {"messages":[{"id":"wamid.X"}]},
   counts them; GET /count, GET /at?n=K give the count and the time of the K-th reply);
3. writes a temp config (SQLite in a temp dir, meta.app_secret, meta.graph_api_url -> the fake, one
   business with services and a WhatsApp channel) and starts `jola serve --config ... --port 0`;
4. per target, phases: a short warm-up, open loop at --rate (sends scheduled by the clock, latency counted
   from the scheduled time, so a slow server cannot slow the generator down), open loop at --e2e-rate, and
   a closed loop (--concurrency senders back to back, as fast as the server answers);
5. after each Jola phase waits (bounded by --drain-timeout) for one reply per acknowledged delivery at the
   fake Graph API: end-to-end replies/s = replies / (first delivery sent -> last reply received);
6. prints a table and PASS/FAIL against the targets; --json FILE writes every figure.

The load generator runs in --clients worker processes (default 1) so it does not share an event loop with
anything else; its CPU use is reported per phase so you can see whether it, not the server, was the limit.
The machine's CPU use by processes outside the benchmark is reported too ("others"), and before each phase
the run waits (bounded by --wait-quiet) for them to calm down: other sessions may share this machine.
Every delivery is a WhatsApp text "hello" from one of --conversations clients with a unique wamid; the
welcome flow answers "hello" in every state, so each delivery should produce exactly one Graph send (a
phase that gets more is flagged).

Jola runs from the installed package (the work tree) unless --jola-ref REF (a `git archive` of that commit
in the temp dir) or --jola-src DIR says otherwise; the commit is printed and kept in the JSON. The bare
handler, fake Graph API and generator use uvloop where it is installed, as `jola serve` does (--loop).
See benchmarks/README.md for the figures measured and what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import hashlib
import hmac
import itertools
import json
import math
import multiprocessing as mp
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from array import array
from collections import Counter, deque
from pathlib import Path
from typing import Any

PHONE_NUMBER_ID = "100000000000002"
APP_SECRET = "be4c0ffee0ddba11be4c0ffee0ddba11"  # 32 hex, as Meta issues them (`jola serve` checks)
ACCESS_TOKEN = "bench-access-token"
HOST = "127.0.0.1"  # the only address this benchmark ever talks to
REQUEST_TIMEOUT = 10.0
READY_TIMEOUT = 60.0

TARGET_P99_MS = 25.0
TARGET_P99_RATE = 500.0
TARGET_RATIO = 0.5
TARGET_REPLIES_PER_S = 1000.0


# ---------------------------------------------------------------------------------------- helpers


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM it when this process dies, however it dies (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _exit_when_orphaned() -> None:
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def cpu_seconds(pid: int) -> float | None:
    """user + system CPU seconds used so far by a process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / tick, total / tick


def run_loop(main: Any, kind: str | None = None) -> Any:
    """asyncio.run, on uvloop where it is installed (as `jola serve` does) unless asked for plain asyncio."""
    kind = kind or os.environ.get("JOLA_BENCH_LOOP", "auto")
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def loop_name(kind: str) -> str:
    if kind == "asyncio":
        return "asyncio"
    try:
        import uvloop

        return f"uvloop {uvloop.__version__}"
    except ImportError:
        return "asyncio (uvloop not installed)"


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy: 127.0.0.1 only


def http_get_json(url: str, timeout: float = 5.0) -> Any:
    with _opener.open(url, timeout=timeout) as response:
        return json.loads(response.read())


# ------------------------------------------------------------------- deliveries (no import from tests/)


def delivery_template(conversation: int) -> bytes:
    """A WhatsApp text webhook body shaped like tests/support/payloads.whatsapp_text, with placeholders."""
    wa_id = f"4580{conversation:08d}"
    user_id = f"US.BENCH{conversation:013d}"
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "100000000000001",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {
                                    "wa_id": wa_id,
                                    "profile": {"name": f"Bench Client {conversation}"},
                                    "user_id": user_id,
                                }
                            ],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": "@@WAMID@@",
                                    "timestamp": "@@TS@@",
                                    "type": "text",
                                    "text": {"body": "hello"},
                                    "from_user_id": user_id,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def sign(body: bytes, secret: str) -> str:
    """Same as bot.signature.sign (kept local so the load generator imports nothing of Jola)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------ server roles (subprocesses)


async def _serve_forever(app: Any, announce: str = "LISTENING {port}", before_start: Any = None) -> None:
    """Serve `app` on 127.0.0.1 (a free port) until SIGINT/SIGTERM; print `announce` once listening."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    if before_start is not None:
        before_start()
    site = web.TCPSite(runner, HOST, 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(announce.format(port=port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def role_fake_graph() -> None:
    """A minimal WhatsApp Cloud API: POST /{version}/{asset}/messages, plus /count and /at for the bench."""
    from aiohttp import web

    _exit_when_orphaned()
    times = array("d")
    ids = itertools.count(1)
    other = Counter()

    async def messages(request: web.Request) -> web.Response:
        raw = await request.read()
        if b'"status"' in raw and b'"read"' in raw:  # a read receipt or typing indicator, not a reply
            other["read"] += 1
            return web.json_response({"success": True})
        if len(times) < 50_000_000:
            times.append(time.time())
        body = b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.BENCHOUT%d"}]}' % next(ids)
        return web.Response(body=body, content_type="application/json")

    async def count(_: web.Request) -> web.Response:
        return web.json_response(
            {"count": len(times), "last": times[-1] if times else None, "read": other["read"]}
        )

    async def at(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        return web.json_response({"t": times[n - 1] if 0 < n <= len(times) else None})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/{version}/{asset}/messages", messages)
    app.router.add_get("/count", count)
    app.router.add_get("/at", at)
    run_loop(_serve_forever(app))


def role_bare() -> None:
    """The ceiling: one aiohttp POST handler that reads the body and answers 200, nothing else."""
    from aiohttp import web

    _exit_when_orphaned()

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="EVENT_RECEIVED")

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/webhook", receive)
    run_loop(_serve_forever(app))


class ServerProcess:
    """A server subprocess: started, awaited until it prints its port, stopped (gently, then not)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        ready: str,
        log_path: Path,
        env: dict[str, str],
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.argv = argv
        self.ready = re.compile(ready)
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self._lines: deque[str] = deque(maxlen=50)
        self._port_found = threading.Event()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = READY_TIMEOUT) -> ServerProcess:
        log = open(self.log_path, "w")  # noqa: SIM115 - the child keeps writing to it
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
            env=self.env,
            cwd=self.cwd,
            preexec_fn=_die_with_parent,
        )
        log.close()
        threading.Thread(target=self._read_stdout, daemon=True, name=f"{self.name}-stdout").start()
        deadline = time.monotonic() + timeout
        while not self._port_found.wait(0.1):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before listening\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not start listening within {timeout:.0f}s\n{self.tail()}"
                )
        return self

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:  # drained to the end so the child never blocks on a full pipe
            self._lines.append(line.rstrip())
            match = self.ready.search(line)
            if match and not self._port_found.is_set():
                self.port = int(match.group(1))
                self._port_found.set()

    def tail(self, n: int = 15) -> str:
        lines = list(self._lines)
        with contextlib.suppress(OSError):
            lines += self.log_path.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(f"    {self.name}: {line}" for line in lines[-n:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        return self.proc.returncode


# --------------------------------------------------------------------------------- load generation


def load_worker(
    spec: dict[str, Any], index: int, workers: int, ready_q: Any, go: Any, start_at: Any, out_q: Any
) -> None:
    """One load-generator process: waits for the common start, runs the phase, sends back raw timings."""
    with contextlib.suppress(Exception):
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: just die; the parent cleans up and reports
    try:
        result = run_loop(_worker(spec, index, workers, ready_q, go, start_at), spec["loop"])
        out_q.put(("result", index, result))
    except BaseException as err:
        out_q.put(("error", index, f"{type(err).__name__}: {err}"))


async def _worker(
    spec: dict[str, Any], index: int, workers: int, ready_q: Any, go: Any, start_at: Any
) -> dict[str, Any]:
    import aiohttp

    loop = asyncio.get_running_loop()
    conversations = spec["conversations"]
    templates = [delivery_template(c) for c in range(conversations)]
    tag = spec["tag"].encode()
    secret = spec["secret"]
    url = spec["url"]
    max_requests = spec["max_requests"]
    mode = spec["mode"]
    if mode == "open":
        limit = max(1, spec["connections"] // workers + (1 if index < spec["connections"] % workers else 0))
    else:
        limit = max(1, spec["concurrency"] // workers + (1 if index < spec["concurrency"] % workers else 0))
    sched, starts, ends = array("d"), array("d"), array("d")
    statuses = array("h")
    errors: Counter[str] = Counter()

    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        ready_q.put(index)
        if not await loop.run_in_executor(None, go.wait, READY_TIMEOUT):
            raise RuntimeError("no start signal")
        # The phase starts at the same wall-clock instant in every worker.
        # Timing uses perf_counter, not loop.time(): uvloop's loop clock has 1 ms steps and is cached per
        # loop iteration, too coarse for sub-millisecond acks.
        clock = time.perf_counter
        wall0, pc0 = time.time(), clock()
        t0 = pc0 + (start_at.value - wall0)
        to_wall = wall0 - pc0
        await asyncio.sleep(max(0.0, t0 - clock()))
        cpu0 = time.process_time()
        probe0 = _probe(spec.get("watch_pids", {})) if index == 0 else None
        ts = str(int(time.time())).encode()

        async def send(seq: int, scheduled: float) -> None:
            body = templates[seq % conversations].replace(b"@@WAMID@@", b"wamid.BENCH.%s.%09d" % (tag, seq))
            body = body.replace(b"@@TS@@", ts)
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, secret),
                "User-Agent": "facebookexternalua",
            }
            begun = clock()
            status = 0
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
                if status != 200:
                    errors[f"http_{status}"] += 1
            except TimeoutError:
                errors["timeout"] += 1
            except aiohttp.ClientError as err:
                errors[type(err).__name__] += 1
            except OSError as err:
                errors[type(err).__name__] += 1
            sched.append(scheduled + to_wall)
            starts.append(begun + to_wall)
            ends.append(clock() + to_wall)
            statuses.append(status)

        if mode == "open":
            rate, duration = spec["rate"], spec["duration"]
            total = min(int(rate * duration), max_requests)
            mine = range(index, total, workers)  # this worker's share of the global sequence
            tasks: set[asyncio.Task[None]] = set()
            for seq in mine:
                due = t0 + seq / rate
                now = clock()
                if due > now:
                    await asyncio.sleep(due - now)
                task = asyncio.create_task(send(seq, due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
        else:
            duration = spec["duration"]
            stop_at = t0 + duration
            counter = itertools.count()

            async def sender() -> None:
                while clock() < stop_at:
                    n = next(counter)
                    if n >= max_requests // workers:
                        return
                    await send(n * workers + index, clock())

            await asyncio.gather(*(sender() for _ in range(limit)))
        cpu = time.process_time() - cpu0
        probe1 = _probe(spec.get("watch_pids", {})) if index == 0 else None
    return {
        "sched": sched,
        "starts": starts,
        "ends": ends,
        "statuses": statuses,
        "errors": dict(errors),
        "cpu_seconds": cpu,
        "probe": (probe0, probe1) if probe0 and probe1 else None,
    }


def _probe(pids: dict[str, int]) -> dict[str, Any]:
    """CPU counters at one instant: the machine's and each watched process's."""
    busy, total = machine_cpu()
    return {"busy": busy, "total": total, "pids": {name: cpu_seconds(pid) for name, pid in pids.items()}}


def run_load(spec: dict[str, Any], clients: int) -> dict[str, Any]:
    """Runs one phase in `clients` worker processes and merges their timings."""
    ctx = mp.get_context("spawn")
    ready_q, out_q = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=load_worker,
            args=(spec, i, clients, ready_q, go, start_at, out_q),
            daemon=True,
            name=f"load-{i}",
        )
        for i in range(clients)
    ]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            try:
                ready_q.get(timeout=READY_TIMEOUT)
            except Exception:
                # a worker that died before it was ready says why on out_q
                detail = "no reason given"
                with contextlib.suppress(Exception):
                    detail = str(out_q.get(timeout=0.5)[2])
                raise RuntimeError(f"load workers did not get ready: {detail}") from None
        start_at.value = time.time() + 0.25
        go.set()
        results = []
        deadline = time.monotonic() + spec["duration"] + REQUEST_TIMEOUT + 60
        while len(results) < clients:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError("load workers did not finish in time")
            try:
                kind, idx, payload = out_q.get(timeout=min(remaining, 1.0))
            except Exception:
                if not any(p.is_alive() for p in procs):
                    raise RuntimeError("load workers died without a result") from None
                continue
            if kind == "error":
                raise RuntimeError(f"load worker {idx} failed: {payload}")
            results.append(payload)
        for p in procs:
            p.join(5)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
            if p.is_alive():
                p.kill()
    merged: dict[str, Any] = {
        "sched": [],
        "starts": [],
        "ends": [],
        "statuses": [],
        "errors": Counter(),
        "cpu": [],
    }
    for r in results:
        merged["sched"].extend(r["sched"])
        merged["starts"].extend(r["starts"])
        merged["ends"].extend(r["ends"])
        merged["statuses"].extend(r["statuses"])
        merged["errors"].update(r["errors"])
        merged["cpu"].append(r["cpu_seconds"])
        if r.get("probe"):
            merged["probe"] = r["probe"]
    return merged


def summarize(spec: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    sched, starts, ends, statuses = raw["sched"], raw["starts"], raw["ends"], raw["statuses"]
    sent = len(statuses)
    ok = [i for i, s in enumerate(statuses) if s == 200]
    acked = len(ok)
    if sent:
        first = min(starts)
        last_end = max(ends)
    else:
        first = last_end = time.time()
    window = max(last_end - first, 1e-9)
    if spec["mode"] == "open":
        # latency from the time the delivery was due: includes any queueing in the generator, so a slow
        # server cannot hide its delay by slowing the sender down (no coordinated omission)
        lat = sorted((ends[i] - sched[i]) * 1000 for i in ok)
        lag = sorted((starts[i] - sched[i]) * 1000 for i in range(sent))
    else:
        lat = sorted((ends[i] - starts[i]) * 1000 for i in ok)
        lag = []
    service = sorted((ends[i] - starts[i]) * 1000 for i in ok)
    errors = sent - acked
    return {
        "phase": spec["name"],
        "mode": spec["mode"],
        "target_rate": spec.get("rate") if spec["mode"] == "open" else None,
        "concurrency": spec["concurrency"] if spec["mode"] == "closed" else spec["connections"],
        "sent": sent,
        "acked": acked,
        "errors": errors,
        "error_kinds": dict(raw["errors"]),
        "first_send": first,
        "last_ack": last_end,
        "acks_per_s": acked / window,
        "p50_ms": percentile(lat, 0.50),
        "p90_ms": percentile(lat, 0.90),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else None,
        "service_p99_ms": percentile(service, 0.99),
        "generator_lag_p99_ms": percentile(lag, 0.99),
        "generator_lag_max_ms": lag[-1] if lag else None,
        "load_cpu_seconds": sum(raw["cpu"]),
        "load_cpu_pct": 100 * sum(raw["cpu"]) / window,
        "window_s": window,
    }


# --------------------------------------------------------------------------------------- the run


class FakeGraphClient:
    def __init__(self, port: int) -> None:
        self.base = f"http://{HOST}:{port}"

    def count(self) -> int:
        return int(http_get_json(f"{self.base}/count")["count"])

    def time_of(self, n: int) -> float | None:
        return http_get_json(f"{self.base}/at?n={n}")["t"]


BATCH_SERIES = ("jola_dispatch_batch_events", "jola_send_batch_rows")


def batch_figures(port: int) -> dict[str, float]:
    """The sums and counts of Jola's batch-size histograms, read from its /metrics."""
    with _opener.open(f"http://{HOST}:{port}/metrics", timeout=5.0) as response:
        text = response.read().decode()
    figures: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith(("_sum", "_count")) and name.rsplit("_", 1)[0] in BATCH_SERIES:
            figures[name] = float(value)
    return figures


def replies_by(graph: FakeGraphClient, base: int, count: int, moment: float) -> int:
    """How many of the replies after `base` had arrived at `moment` (binary search over /at)."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        at = graph.time_of(base + middle)
        if at is not None and at <= moment:
            low = middle
        else:
            high = middle - 1
    return low


def wait_for_replies(
    graph: FakeGraphClient, base: int, expected: int, timeout: float, stall: float
) -> tuple[int, float | None, bool]:
    """Until `expected` replies beyond `base` arrived, or `timeout`, or no new reply for `stall` seconds;
    returns (replies, time of the last counted reply, complete)."""
    deadline = time.monotonic() + timeout
    count = graph.count()
    progress_at = time.monotonic()
    while count < base + expected and time.monotonic() < deadline:
        time.sleep(0.05)
        latest = graph.count()
        if latest != count:
            progress_at = time.monotonic()
        elif time.monotonic() - progress_at > stall:
            break
        count = latest
    replies = count - base
    complete = replies >= expected
    last = graph.time_of(base + min(replies, expected)) if replies > 0 else None
    if complete:
        time.sleep(0.5)  # replies beyond one per delivery would make the rate look better than it is
        replies = graph.count() - base
    return replies, last, complete


def wait_quiet(limit: float, ours: list[int], threshold: float = 25.0) -> tuple[float, float]:
    """Waits (at most `limit` seconds) until processes other than ours (`ours`: the servers' pids) use less
    than `threshold`% of a core over one second."""
    started = time.monotonic()
    while True:
        before, ours_before = machine_cpu(), sum(cpu_seconds(p) or 0.0 for p in ours)
        time.sleep(1.0)
        after, ours_after = machine_cpu(), sum(cpu_seconds(p) or 0.0 for p in ours)
        span = max(after[1] - before[1], 1e-9) / (os.cpu_count() or 1)
        busy = 100 * (after[0] - before[0] - (ours_after - ours_before)) / span
        waited = time.monotonic() - started
        if busy < threshold or waited >= limit:
            return waited - 1.0, busy


def phase_specs(args: argparse.Namespace, url: str, target: str, run_tag: str) -> list[dict[str, Any]]:
    common = {
        "url": url,
        "conversations": args.conversations,
        "secret": APP_SECRET,
        "max_requests": args.max_requests,
        "connections": args.connections,
        "concurrency": args.concurrency,
        "loop": args.loop,
    }
    specs = []
    if args.warmup > 0:
        warm_rate = min(args.rate, 200.0)
        specs.append({**common, "name": "warmup", "mode": "open", "rate": warm_rate, "duration": args.warmup})
    specs.append(
        {
            **common,
            "name": f"open@{args.rate:g}/s",
            "mode": "open",
            "rate": args.rate,
            "duration": args.duration,
        }
    )
    if args.e2e_rate and args.e2e_rate != args.rate:
        specs.append(
            {
                **common,
                "name": f"open@{args.e2e_rate:g}/s",
                "mode": "open",
                "rate": args.e2e_rate,
                "duration": args.duration,
            }
        )
    if args.concurrency > 0:
        specs.append(
            {
                **common,
                "name": f"closed c={args.concurrency}",
                "mode": "closed",
                "rate": None,
                "duration": args.duration,
            }
        )
    for n, spec in enumerate(specs):
        spec["tag"] = f"{run_tag}{target[0]}{n}"
    return specs


def run_target(
    target: str,
    server: ServerProcess,
    args: argparse.Namespace,
    run_tag: str,
    graph: FakeGraphClient | None,
    graph_server: ServerProcess | None,
) -> list[dict[str, Any]]:
    url = f"http://{HOST}:{server.port}/webhook"
    results = []
    for spec in phase_specs(args, url, target, run_tag):
        if not server.alive():
            raise RuntimeError(f"{server.name} died\n{server.tail()}")
        label = f"{target} {spec['name']}"
        ours = [server.pid] + ([graph_server.pid] if graph_server else [])
        waited, others = wait_quiet(args.wait_quiet, ours)
        if waited >= 1.0:
            print(
                f"  (waited {waited:.0f}s for other processes to quiet down; they use {others:.0f}% now)",
                flush=True,
            )
        print(f"  {label:<26} running {spec['duration']:g}s ...", end="", flush=True)
        base = graph.count() if graph else 0
        batches_before = batch_figures(server.port) if graph else {}
        spec["watch_pids"] = {"server": server.pid} | (
            {"fake_graph": graph_server.pid} if graph_server else {}
        )
        raw = run_load(spec, args.clients)
        summary = summarize(spec, raw)
        summary["target"] = target
        if raw.get("probe"):
            # Sampled by the first load worker when the phase started and when its sends were done, so the
            # span is the load itself. 100% = one core. What the machine spent beyond the server, the fake
            # Graph API and the generator is someone else's load (other sessions share this machine).
            p0, p1 = raw["probe"]
            span = max(p1["total"] - p0["total"], 1e-9) / (os.cpu_count() or 1)
            used = {}
            for name in p0["pids"]:
                if p0["pids"][name] is not None and p1["pids"][name] is not None:
                    used[name] = p1["pids"][name] - p0["pids"][name]
                    summary[f"{name}_cpu_pct"] = 100 * used[name] / span
            busy = 100 * (p1["busy"] - p0["busy"]) / span
            ours = 100 * (sum(used.values()) + summary["load_cpu_seconds"]) / span
            summary["machine_busy_pct"] = busy
            summary["other_cpu_pct"] = max(0.0, busy - ours)
        line = (
            f" acked {summary['acked']}/{summary['sent']}, {summary['acks_per_s']:.0f}/s, "
            f"p99 {_ms(summary['p99_ms'])} ms"
        )
        if graph is not None:
            replies, last, complete = wait_for_replies(
                graph, base, summary["acked"], args.drain_timeout, args.stall_timeout
            )
            summary["replies"] = replies
            summary["replies_complete"] = complete
            if replies and summary.get("last_ack") and summary.get("first_send"):
                during = replies_by(graph, base, replies, summary["last_ack"])
                summary["replies_while_loaded"] = during
                summary["replies_per_s_while_loaded"] = during / max(
                    summary["last_ack"] - summary["first_send"], 1e-9
                )
            if last is not None:
                summary["last_reply"] = last
                summary["replies_per_s"] = min(replies, summary["acked"]) / max(
                    last - summary["first_send"], 1e-9
                )
                summary["drain_s"] = max(0.0, last - summary["last_ack"])
            after = batch_figures(server.port)
            for series, key in zip(BATCH_SERIES, ("dispatch_batch_mean", "send_batch_mean"), strict=True):
                n = after.get(f"{series}_count", 0) - batches_before.get(f"{series}_count", 0)
                total = after.get(f"{series}_sum", 0) - batches_before.get(f"{series}_sum", 0)
                summary[key] = total / n if n else None
            line += f"; replies {replies}/{summary['acked']}"
            if "replies_per_s" in summary:
                line += f", {summary['replies_per_s']:.0f}/s end to end"
            if "replies_per_s_while_loaded" in summary:
                line += f" ({summary['replies_per_s_while_loaded']:.0f}/s while the load lasted)"
            if summary.get("dispatch_batch_mean") and summary.get("send_batch_mean"):
                line += (
                    f" (batches: {summary['dispatch_batch_mean']:.1f} events per dispatch, "
                    f"{summary['send_batch_mean']:.1f} rows per send pass)"
                )
            if not complete:
                line += " (INCOMPLETE: drain or stall timeout; see the Jola log summary)"
            elif replies > summary["acked"]:
                line += f" (WARNING: {replies - summary['acked']} more replies than deliveries)"
        print(line, flush=True)
        results.append(summary)
    return results


def jola_config(path: Path, db_path: Path, graph_port: int, args: argparse.Namespace) -> None:
    sync = f'sqlite_synchronous = "{args.sqlite_synchronous}"\n' if args.sqlite_synchronous else ""
    path.write_text(
        f"""# written by benchmarks/webhook_load.py
[server]
secret_key = "bench-secret-key-for-staff-sessions-only"
log_level = "{args.log_level}"

[database]
url = "sqlite+aiosqlite:///{db_path.as_posix()}"
{sync}
[meta]
app_secret = "{APP_SECRET}"
verify_token = "bench-verify-token-0123"
graph_api_url = "http://{HOST}:{graph_port}"
graph_api_version = "v23.0"

[[businesses]]
id = "bench-clinic"
name = "Bench Clinic"
timezone = "Europe/Copenhagen"
locale = "en"
api_token = "bench-api-token-not-for-production-use"
hours = {{ mon = ["08:00-12:00", "13:00-17:00"], tue = ["08:00-17:00"] }}

[[businesses.services]]
id = "massage"
name = "Massage"
duration_minutes = 60

[[businesses.services]]
id = "physio"
name = "Physiotherapy"
duration_minutes = 45

[[businesses.channels]]
kind = "whatsapp"
phone_number_id = "{PHONE_NUMBER_ID}"
access_token = "{ACCESS_TOKEN}"
"""
    )


def jola_argv(config: Path, src: Path | None, acks_only: bool = False) -> list[str]:
    if acks_only:
        launcher = Path(__file__).resolve().with_name("serve_acks_only.py")
        return [sys.executable, str(launcher), str(config)]
    script = Path(sys.executable).with_name("jola")
    base = [str(script)] if script.exists() and src is None else [sys.executable, "-m", "bot"]
    return [*base, "serve", "--config", str(config), "--host", HOST, "--port", "0"]


REPO = Path(__file__).resolve().parent.parent


def _git(*argv: str) -> str | None:
    """Read-only git queries (no optional locks, so not even the index is refreshed)."""
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(REPO), *argv],
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode(errors="replace").strip()


def export_ref(ref: str, dest: Path) -> str:
    """`git archive REF` into dest (reads the repo, changes nothing); returns the commit id."""
    import tarfile

    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    if not commit:
        raise RuntimeError(f"--jola-ref {ref}: not a commit of {REPO}")
    dest.mkdir(parents=True)
    archive = dest.with_suffix(".tar")
    with open(archive, "wb") as f:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit], stdout=f, check=True, timeout=120
        )
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return commit


def jola_source(args: argparse.Namespace, tmp: Path) -> tuple[Path | None, dict[str, Any]]:
    """Where Jola's code comes from for this run, and how to name that in the report."""
    if args.jola_ref:
        src = tmp / "jola-src"
        commit = export_ref(args.jola_ref, src)
        return src, {"source": f"git archive {args.jola_ref}", "commit": commit, "dirty": False}
    if args.jola_src:
        src = Path(args.jola_src).resolve()
        if not (src / "bot" / "__init__.py").exists():
            raise RuntimeError(f"--jola-src {src}: no bot/ package there")
        return src, {"source": str(src), "commit": None, "dirty": None}
    changed = _git(
        "status", "--porcelain", "--untracked-files=no", "--", "bot", "flows", "storage", "templates"
    )
    return None, {
        "source": "installed package (the work tree)",
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(changed) if changed is not None else None,
    }


def log_summary(path: Path, limit: int = 8) -> dict[str, Any]:
    """Counts of WARNING/ERROR lines in Jola's log and its most frequent error events."""
    counts: Counter[str] = Counter()
    events: Counter[str] = Counter()
    with contextlib.suppress(OSError), open(path, errors="replace") as f:
        for line in f:
            level = "ERROR" if "level=ERROR" in line else "WARNING" if "level=WARNING" in line else None
            if level is None:
                if line.startswith("Traceback"):
                    counts["traceback"] += 1
                continue
            counts[level] += 1
            match = re.search(r"event=(\S+)(?:.*?error=(\S+))?", line)
            if match:
                events[f"{level} {match.group(1)}" + (f" {match.group(2)}" if match.group(2) else "")] += 1
    return {
        "counts": dict(counts),
        "top": events.most_common(limit),
        "bytes": path.stat().st_size if path.exists() else 0,
    }


def clean_env() -> dict[str, str]:
    # JOLA_* variables would override the config (secrets, database, graph URL); proxies must not apply.
    drop = ("JOLA_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _ms(value: float | None) -> str:
    return "-" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def print_table(phases: list[dict[str, Any]]) -> None:
    header = (
        f"{'target':<6} {'phase':<16} {'sent':>6} {'acked':>6} {'err':>4} {'acks/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'srv cpu':>7} {'gen cpu':>7} {'others':>6} {'replies':>7} "
        f"{'e2e/s':>6} {'drain s':>7}"
    )
    print(header)
    print("-" * len(header))
    for p in phases:
        if p["phase"] == "warmup":
            continue
        replies = (
            "-" if "replies" not in p else f"{p['replies']}" + ("" if p.get("replies_complete") else "*")
        )
        drain = "-" if "drain_s" not in p else f"{p['drain_s']:.1f}"
        print(
            f"{p['target']:<6} {p['phase']:<16} {p['sent']:>6} {p['acked']:>6} {p['errors']:>4} "
            f"{_rate(p['acks_per_s']):>7} {_ms(p['p50_ms']):>7} {_ms(p['p99_ms']):>7} {_ms(p['max_ms']):>7} "
            f"{_pct(p.get('server_cpu_pct')):>7} {_pct(p['load_cpu_pct']):>7} "
            f"{_pct(p.get('other_cpu_pct')):>6} {replies:>7} "
            f"{_rate(p.get('replies_per_s')):>6} {drain:>7}"
        )
    print(
        "  open loop: latency from the scheduled send time; closed loop: from the actual send. "
        "srv cpu: the server process (100% = one core); gen cpu: all load-generator processes; "
        "others: CPU used by processes outside this benchmark (machine busy minus ours). "
        "* = not every reply arrived in time."
    )


def evaluate(phases: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    def find(target: str, mode: str, rate: float | None = None) -> dict[str, Any] | None:
        for p in phases:
            same = p["target"] == target and p["mode"] == mode and p["phase"] != "warmup"
            if same and (rate is None or p.get("target_rate") == rate):
                return p
        return None

    checks = []
    jola_open = find("jola", "open", args.rate)
    if jola_open and args.rate >= TARGET_P99_RATE:
        p99 = jola_open["p99_ms"]
        ok = p99 is not None and p99 < TARGET_P99_MS and jola_open["errors"] == 0
        checks.append(
            {
                "target": f"ack p99 < {TARGET_P99_MS:g} ms at {args.rate:g} deliveries/s (Jola, open loop)",
                "measured": (
                    f"p99 {_ms(p99)} ms, {jola_open['acks_per_s']:.0f} acks/s, {jola_open['errors']} errors"
                ),
                "pass": ok,
            }
        )
    elif jola_open:
        checks.append(
            {
                "target": f"ack p99 < {TARGET_P99_MS:g} ms at 500/s",
                "measured": f"not measured (--rate {args.rate:g})",
                "pass": None,
            }
        )
    jola_closed, bare_closed = find("jola", "closed"), find("bare", "closed")
    if jola_closed and bare_closed:
        ratio = jola_closed["acks_per_s"] / max(bare_closed["acks_per_s"], 1e-9)
        checks.append(
            {
                "target": f"Jola max acks/s >= {TARGET_RATIO:.0%} of the bare handler's (closed loop)",
                "measured": (
                    f"{jola_closed['acks_per_s']:.0f} / {bare_closed['acks_per_s']:.0f} = {ratio:.0%}"
                ),
                "pass": ratio >= TARGET_RATIO and jola_closed["errors"] == 0,
                "ratio": ratio,
            }
        )
    e2e = [p for p in phases if p["target"] == "jola" and p["phase"] != "warmup" and "replies_per_s" in p]
    if e2e:
        best = max(e2e, key=lambda p: p["replies_per_s"] if p.get("replies_complete") else 0)
        measured = ", ".join(
            f"{p['phase']}: {p['replies_per_s']:.0f}/s"
            + ("" if p.get("replies_complete") else " (incomplete)")
            for p in e2e
        )
        checks.append(
            {
                "target": (
                    f"end to end >= {TARGET_REPLIES_PER_S:g} replies/s (best Jola phase, all replies in)"
                ),
                "measured": measured,
                "pass": bool(best.get("replies_complete")) and best["replies_per_s"] >= TARGET_REPLIES_PER_S,
            }
        )
    return checks


def print_checks(checks: list[dict[str, Any]]) -> None:
    print()
    for c in checks:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[c["pass"]]
        print(f"  {verdict}  {c['target']}\n        {c['measured']}")


# ----------------------------------------------------------------------------------- py-spy summary


def summarize_py_spy(path: Path, top: int = 20) -> list[tuple[str, float, float]]:
    """Collapsed stacks -> [(function, self %, inclusive %)] for the most expensive functions."""
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        self_counts[frames[-1]] += n
        for f in set(frames):
            incl_counts[f] += n
    if not total:
        return []
    return [(f, 100 * c / total, 100 * incl_counts[f] / total) for f, c in self_counts.most_common(top)]


# ------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=float, default=500.0, help="open-loop deliveries/s for the latency target (500)"
    )
    parser.add_argument(
        "--e2e-rate",
        type=float,
        default=1000.0,
        help="a second open-loop rate, for sustained end to end (1000; 0: skip)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of warm-up load per target, not reported (2)"
    )
    parser.add_argument("--conversations", type=int, default=200, help="distinct WhatsApp clients (200)")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="closed-loop senders (64; 0: skip the closed loop)"
    )
    parser.add_argument("--connections", type=int, default=256, help="open-loop connection pool size (256)")
    parser.add_argument("--clients", type=int, default=1, help="load-generator processes (1)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="cap on deliveries per phase (200000)"
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="max seconds to wait for replies after a phase (120)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=20.0,
        help="stop waiting for replies after S seconds without one (20)",
    )
    parser.add_argument(
        "--jola-ref",
        metavar="REF",
        help="run Jola from `git archive REF` of this repo (e.g. HEAD) instead of the installed tree",
    )
    parser.add_argument(
        "--jola-src",
        metavar="DIR",
        help="run Jola from this source tree (PYTHONPATH=DIR) instead of the installed one",
    )
    parser.add_argument(
        "--loop",
        choices=["auto", "uvloop", "asyncio"],
        default="auto",
        help="event loop of the bare handler, fake Graph API and load generator (auto: uvloop if installed)",
    )
    parser.add_argument("--targets", choices=["both", "jola", "bare"], default="both")
    parser.add_argument(
        "--acks-only",
        action="store_true",
        help="run Jola without its workers (benchmarks/serve_acks_only.py): the ack path's own ceiling",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["FULL", "NORMAL"],
        help="override database.sqlite_synchronous (default: Jola's default)",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="Jola's server.log_level (info, its default)",
    )
    parser.add_argument(
        "--py-spy", metavar="FILE", help="record Jola with py-spy (collapsed stacks) and print its hotspots"
    )
    parser.add_argument(
        "--py-spy-args",
        default="",
        metavar="ARGS",
        help='more py-spy record options, e.g. --py-spy-args="--gil --threads"',
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        metavar="S",
        help="before each phase wait up to S seconds for other processes to leave the CPUs idle (60)",
    )
    parser.add_argument("--json", metavar="FILE", help="write every figure as JSON ('-' for stdout)")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp dir (config, database, logs)")
    parser.add_argument("--role", choices=["fake-graph", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.conversations <= 0 or args.clients <= 0:
        parser.error("--rate, --duration, --conversations and --clients must be positive")
    if args.duration > 600 or args.drain_timeout > 1800:
        parser.error("keep it bounded: --duration <= 600, --drain-timeout <= 1800")
    return args


def environment() -> dict[str, Any]:
    import aiohttp

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).as_posix(), *sys.argv]),
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "fake-graph":
        role_fake_graph()
        return 0
    if args.role == "bare":
        role_bare()
        return 0

    # SIGTERM behaves like Ctrl-C: unwind through the finally blocks that stop every child.
    signal.signal(signal.SIGTERM, _interrupt)
    env_info = environment()
    print(
        f"webhook load benchmark: {env_info['date']}, {env_info['nproc']} CPUs ({env_info['cpu']}), "
        f"Python {env_info['python']}, aiohttp {env_info['aiohttp']}, {args.clients} load process(es)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="jola-bench-"))
    run_tag = dt.datetime.now().strftime("%H%M%S")
    env = clean_env()
    env["JOLA_BENCH_LOOP"] = args.loop  # for the bare handler and the fake Graph API
    env_info["bench_loop"] = loop_name(args.loop)
    print(f"bare handler, fake Graph API and load generator on {env_info['bench_loop']}")
    me = [sys.executable, str(Path(__file__).resolve())]
    servers: list[ServerProcess] = []
    spy: subprocess.Popen[bytes] | None = None
    phases: list[dict[str, Any]] = []
    hotspots: list[tuple[str, float, float]] = []
    code = 1
    try:
        if args.targets in ("both", "bare"):
            bare = ServerProcess("bare", [*me, "--role", "bare"], r"LISTENING (\d+)", tmp / "bare.log", env)
            servers.append(bare.start())
            print(f"bare aiohttp handler on :{bare.port}")
            phases += run_target("bare", bare, args, run_tag, None, None)
            bare.stop()
        if args.targets in ("both", "jola"):
            fake = ServerProcess(
                "fake-graph", [*me, "--role", "fake-graph"], r"LISTENING (\d+)", tmp / "graph.log", env
            )
            servers.append(fake.start())
            config = tmp / "jola.toml"
            jola_config(config, tmp / "jola.db", fake.port, args)
            src, source = jola_source(args, tmp)
            env_info["jola"] = source
            jola_env = dict(env)
            if src is not None:
                jola_env["PYTHONPATH"] = str(src)
            print(
                f"Jola from {source['source']}, commit {(source['commit'] or '?')[:12]}"
                + (" with uncommitted changes" if source["dirty"] else "")
            )
            jola = ServerProcess(
                "jola",
                jola_argv(config, src, args.acks_only),
                r"Jola is listening on http://[^\s:]+:(\d+)",
                tmp / "jola.log",
                jola_env,
                cwd=src,
            )
            servers.append(jola.start())
            print(f"fake Graph API on :{fake.port}; jola serve on :{jola.port} (log: {tmp / 'jola.log'})")
            if args.py_spy:
                exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                if Path(exe).exists():
                    spy = subprocess.Popen(
                        [
                            exe,
                            "record",
                            "--pid",
                            str(jola.pid),
                            "--format",
                            "raw",
                            "--rate",
                            "200",
                            "--output",
                            args.py_spy,
                            "--nonblocking",
                            *shlex.split(args.py_spy_args),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=open(tmp / "py-spy.log", "w"),  # noqa: SIM115
                        preexec_fn=_die_with_parent,
                    )
                    time.sleep(1.0)
                else:
                    print("py-spy not found (pip install py-spy into the venv); profiling skipped")
            graph = FakeGraphClient(fake.port)
            try:
                phases += run_target("jola", jola, args, run_tag, None if args.acks_only else graph, fake)
            finally:
                jola_log = log_summary(tmp / "jola.log")
                env_info["jola_log"] = jola_log
                print(
                    f"Jola log: {jola_log['bytes'] / 1e6:.1f} MB, "
                    + (
                        ", ".join(f"{n} {k}" for k, n in sorted(jola_log["counts"].items()))
                        or "no warnings or errors"
                    )
                )
                for event, n in jola_log["top"]:
                    print(f"    {n:>8}  {event}")
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    spy.wait(30)
                if Path(args.py_spy).exists():
                    hotspots = summarize_py_spy(Path(args.py_spy))
        print()
        print_table(phases)
        checks = evaluate(phases, args)
        print_checks(checks)
        if hotspots:
            print("\nJola hotspots (py-spy, share of non-idle samples): self%  incl%  function")
            for name, own, incl in hotspots:
                print(f"  {own:5.1f} {incl:6.1f}  {name}")
        if args.json:
            doc = {
                "environment": env_info,
                "args": {k: v for k, v in vars(args).items() if k != "role"},
                "phases": phases,
                "checks": checks,
                "hotspots": [{"function": f, "self_pct": s, "inclusive_pct": i} for f, s, i in hotspots],
            }
            text = json.dumps(doc, indent=2, default=str)
            if args.json == "-":
                print(text)
            else:
                Path(args.json).write_text(text + "\n")
        code = 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        code = 130
    except RuntimeError as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        code = 1
    finally:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(10)
            if spy.poll() is None:
                spy.kill()
        for server in reversed(servers):
            server.stop()
        if args.keep_temp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
