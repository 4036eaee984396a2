#!/usr/bin/env python3
"""How many turns a booking takes for the phrasing tables' requests, through the real pipeline:

    .venv/bin/python benchmarks/booking_turns.py [--json FILE]

For every row of `tests/flows/test_phrasings_en.py` and `test_phrasings_da.py` that names a day or a time,
a new WhatsApp client (with a profile name, as WhatsApp gives) of the test clinic (`tests.support.clinic`:
weekdays 08:00-12:00 and 13:00-17:00, a massage and a physiotherapy service, the clock at Wednesday 25
November 2026, 09:00) writes "massage " and the row, then answers as a patient client would: taps the first
time offered, gives a name when asked, taps "Yes, book it" at the summary. Each booking is cancelled after
it is made, so every row meets the same free calendar. The fewest possible is 2 turns (the request, then
"yes" at the summary). A turn is one message or tap of the client's; the booking counts when
the bot says it is booked, within at most 8 turns. The real aiohttp server, SQLite file and fake Graph
API of the tests are used, so every turn goes through webhook, inbox, dispatcher, flows and outbox.
Reported per language: rows, bookings made, mean and distribution of turns, and the rows that needed the
most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.appointments import change_status, list_appointments
from tests.conftest import DatabaseTarget, WhatsAppClient
from tests.flows.test_phrasings_da import TABLE as DANISH
from tests.flows.test_phrasings_en import TABLE as ENGLISH
from tests.support.clinic import BUSINESS, NOW, clinic
from tests.support.fake_graph import FakeGraph

MAX_TURNS = 8
BOOKED = ("You're booked", "Du er booket")
SUMMARY = ("Shall I book this?", "Skal jeg booke dette?")
NAME = ("What is your name?", "Hvad er dit navn?", "What name should", "Hvilket navn")


async def book(client: WhatsAppClient, first: str) -> int | None:
    """Turns until booked, or None."""
    replies = await client.says(first)
    for turn in range(1, MAX_TURNS + 1):
        if not replies:
            return None
        last = replies[-1]
        text = last.text or ""
        if any(mark in text for mark in BOOKED):
            return turn
        if any(mark in text for mark in SUMMARY):
            replies = await client.taps(last.options[0])
        elif any(mark in text for mark in NAME):
            replies = await client.says("Anna Jensen")
        elif last.options:
            replies = await client.taps(last.options[0])
        else:
            return None
    return None


async def cancel_all(jola: Any) -> None:
    async with jola.db.write() as session:
        for appointment in await list_appointments(session, BUSINESS, status="booked"):
            await change_status(
                session, BUSINESS, appointment.id, to="cancelled", actor="bench", action="cancelled", now=NOW
            )


async def run() -> dict[str, Any]:
    result: dict[str, Any] = {"max_turns": MAX_TURNS}
    for name, table, locale in (("en", ENGLISH, "en"), ("da", DANISH, "da")):
        rows = list(dict.fromkeys(text for text, when in table if when is not None and (when.day or when.at)))
        graph = FakeGraph()
        await graph.start()
        with tempfile.TemporaryDirectory() as tmp:
            target = DatabaseTarget(f"sqlite+aiosqlite:///{tmp}/jola.db")
            async with clinic(target, graph, locale=locale) as (jola, _):
                turns: dict[str, int | None] = {}
                for number, text in enumerate(rows):
                    client = WhatsAppClient(jola, wa_id=f"4560{number:06d}", user_id=None, name="Anna Jensen")
                    turns[text] = await book(client, f"massage {text}")
                    await cancel_all(jola)
        await graph.close()
        made = [t for t in turns.values() if t is not None]
        result[name] = {
            "rows": len(rows),
            "booked": len(made),
            "mean_turns": round(statistics.mean(made), 2) if made else None,
            "turns": dict(sorted(Counter(made).items())),
            "not_booked": [text for text, t in turns.items() if t is None],
            "most_turns": sorted((t, text) for text, t in turns.items() if t)[-5:],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="write the result here too")
    args = parser.parse_args()
    result = asyncio.run(run())
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
