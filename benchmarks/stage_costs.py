#!/usr/bin/env python3
"""CPU cost per delivery of each stage of Jola's path, measured one stage at a time in one process:

    .venv/bin/python benchmarks/stage_costs.py --deliveries 3000 [--profile FILE.pstats]

1. **ack**: signed WhatsApp "hello" deliveries POSTed to Jola's webhook (the workers are held back, so
   only the ack path runs); the load generator runs in a child process, and the server's own CPU is what
   is counted;
2. **dispatch**: the dispatcher drains them (flows, messages, outbox rows), nothing else running;
3. **send**: the sender drains the outbox to the fake Graph API (a child process).

Each stage's figure is the server process's CPU seconds (all threads, so SQLite's worker thread counts)
divided by the deliveries. webhook_load.py measures the whole under load; this says where it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import webhook_load as wl


def post_all(port: int, n: int, conversations: int, tag: str) -> None:
    """In a child process: POST n signed deliveries, 64 at a time; `tag` keeps their message ids apart
    from another round's (a repeated id is a duplicate: acked, never handled)."""
    code = f"""
import asyncio, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import aiohttp, webhook_load as wl
async def main():
    templates = [wl.delivery_template(c) for c in range({conversations})]
    sem = asyncio.Semaphore(64)
    async with aiohttp.ClientSession() as s:
        async def one(i):
            body = templates[i % {conversations}].replace(b"@@WAMID@@", b"wamid.{tag}%d" % i).replace(
                b"@@TS@@", b"%d" % int(time.time()))
            async with sem:
                async with s.post("http://127.0.0.1:{port}/webhook", data=body,
                    headers={{"X-Hub-Signature-256": wl.sign(body, wl.APP_SECRET),
                             "Content-Type": "application/json"}}) as r:
                    assert r.status == 200, r.status
                    await r.read()
        await asyncio.gather(*(one(i) for i in range({n})))
asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", code], check=True)


WARMUP = 200  # deliveries through every stage before measuring, so caches and connections exist


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def system_cpu() -> float:
    return os.times().system


async def run(args: argparse.Namespace) -> None:
    from aiohttp import web

    from bot import keys
    from bot.ack_pressure import HOLD
    from bot.app import create_app
    from bot.config import load_config
    from bot.logs import setup_logging

    setup_logging(args.log_level)  # as `jola serve` does: its log lines are part of the cost
    tmp = Path(tempfile.mkdtemp(prefix="jola-stages-"))
    fake = wl.ServerProcess(
        "fake-graph",
        [sys.executable, wl.__file__, "--role", "fake-graph"],
        r"LISTENING (\d+)",
        tmp / "graph.log",
        wl.clean_env(),
    ).start()
    try:
        config_path = tmp / "jola.toml"
        ns = argparse.Namespace(sqlite_synchronous=None, log_level=args.log_level)
        wl.jola_config(config_path, tmp / "jola.db", fake.port, ns)
        with config_path.open("a") as f:
            if args.dispatch_batch:
                f.write(f"\n[dispatch]\nbatch_size = {args.dispatch_batch}\n")
            if args.send_batch:
                f.write(f"\n[sender]\nbatch_size = {args.send_batch}\n")
        config = load_config(config_path)
        app = create_app(config, workers=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        pipeline = app[keys.PIPELINE]
        from bot.serve import settle_memory

        settle_memory()  # the collector set up as `jola serve` does it
        profile = cProfile.Profile(time.thread_time) if args.profile else None

        acks = app[keys.METRICS].registry

        def ack_seconds() -> tuple[float, float]:
            total = acks.get_sample_value("jola_webhook_ack_seconds_sum") or 0.0
            return total, acks.get_sample_value("jola_webhook_ack_seconds_count") or 0.0

        async def measure(name: str, work) -> float:  # type: ignore[no-untyped-def]
            """Runs `work`, prints its CPU per delivery; returns its wall seconds."""
            start_cpu, start, start_sys = cpu(), time.perf_counter(), system_cpu()
            start_loop, start_acks = time.thread_time(), ack_seconds()
            if profile and name in args.stages:
                profile.enable()
            await work()
            if profile:
                profile.disable()
            used, wall = cpu() - start_cpu, time.perf_counter() - start
            kernel, loop = system_cpu() - start_sys, time.thread_time() - start_loop
            print(
                f"{name:9} {used / args.deliveries * 1e6:8.0f} µs CPU per delivery"
                f"  ({used:.2f} s CPU of which {kernel:.2f} s in the kernel and {loop:.2f} s on the event"
                f" loop's thread, {wall:.2f} s wall)"
            )
            (acked, count), (acked_before, count_before) = ack_seconds(), start_acks
            if count > count_before:
                mean = (acked - acked_before) / (count - count_before)
                print(f"{'':9} server-side ack (request read to 200) {mean * 1000:.2f} ms on average")
            return wall

        # warm-up: one small round through every stage, so caches and connections exist
        await asyncio.to_thread(post_all, port, WARMUP, args.conversations, "WARMUP")
        pipeline.dispatcher.start()
        pipeline.sender.start()
        await pipeline.settle()
        await pipeline.dispatcher.stop()
        await pipeline.sender.stop()

        async def ack() -> None:
            await asyncio.to_thread(post_all, port, args.deliveries, args.conversations, "STAGE")

        await measure("ack", ack)

        # the ack stage's 64 requests at once count as a flood: let it pass, so dispatch runs unpaced
        await asyncio.sleep(HOLD)

        async def dispatch() -> None:
            while await pipeline.dispatcher.run_once():
                pass

        await measure("dispatch", dispatch)

        async def send() -> None:
            pipeline.sender.start()
            await pipeline.sender.wait_idle()
            await pipeline.sender.stop()

        await measure("send", send)

        if args.drain:
            # the whole reply path as `jola serve` runs it after a flood: dispatcher and sender together
            await asyncio.to_thread(post_all, port, args.deliveries, args.conversations, "DRAIN")
            await asyncio.sleep(HOLD)

            async def drain() -> None:
                pipeline.dispatcher.start()
                pipeline.sender.start()
                await pipeline.settle()
                await pipeline.dispatcher.stop()
                await pipeline.sender.stop()

            wall = await measure("drain", drain)
            print(f"{'':9} {args.deliveries / wall:.0f} replies/s")
        count = wl.http_get_json(f"http://127.0.0.1:{fake.port}/count")["count"]
        expected = args.deliveries * (2 if args.drain else 1) + WARMUP
        print(f"fake Graph API got {count} replies ({expected} expected)")
        if profile:
            profile.dump_stats(args.profile)
            print(f"profile of {', '.join(args.stages)}: {args.profile}")
        await runner.cleanup()
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--dispatch-batch", type=int, help="dispatch.batch_size (default: Jola's)")
    parser.add_argument("--send-batch", type=int, help="sender.batch_size (default: Jola's)")
    parser.add_argument(
        "--drain", action="store_true", help="then a fourth stage: dispatcher and sender together"
    )
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--stages", nargs="*", default=["dispatch", "send"])
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args))
    except ImportError:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
