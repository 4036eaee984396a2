#!/usr/bin/env python3
"""The understanding step's cost per message, and how much of the phrasing tables it reads right:

    .venv/bin/python benchmarks/understanding.py [--rounds 20] [--json FILE]

Every phrasing of the per-language tables `tests/flows/test_phrasings_en.py` and `test_phrasings_da.py`
(each row its expected day, time or part of day; 150+ per language) is read by `flows.heard.understand`,
the whole step a client's text goes through
(intents, services, practitioners, day and time, typo mending, clock talk, language), for a clinic with
three services and three practitioners. Reported per language: the share of rows whose reading matches
the row (`when` equal to the expected one), and the time per message (p50, p99, max) over all rounds;
the target is p99 < 2 ms. A round reads every row once; the first is a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.context import BusinessProfile, PractitionerInfo, ServiceInfo, Turn
from flows.heard import understand
from flows.messages import MessageType
from tests.flows.phrasings import as_understood
from tests.flows.test_phrasings_da import TABLE as DANISH
from tests.flows.test_phrasings_en import TABLE as ENGLISH
from tests.flows.test_when_phrasings import NOW

SERVICES = (
    ServiceInfo("massage", "Massage", 60),
    ServiceInfo("physio-first", "Physiotherapy, first visit", 45),
    ServiceInfo("physio-follow-up", "Physiotherapy, follow-up", 30),
)
PEOPLE = (
    PractitionerInfo("mia", "Mia Holm"),
    PractitionerInfo("jonas", "Jonas Berg"),
    PractitionerInfo("ida", "Ida Lund"),
)


def business(locale: str) -> BusinessProfile:
    return BusinessProfile(
        "clinic", "Clinic", locale, "Europe/Copenhagen", services=SERVICES, practitioners=PEOPLE
    )


def run(rounds: int) -> dict[str, object]:
    result: dict[str, object] = {"rounds": rounds, "target_p99_ms": 2.0}
    for name, table, locale in (("en", ENGLISH, "en"), ("da", DANISH, "da")):
        profile = business(locale)
        right = sum(
            understand(Turn(MessageType.TEXT, text), profile, NOW).when == as_understood(expected)
            for text, expected in table
        )
        timings = []
        for n in range(rounds + 1):
            for text, _ in table:
                started = time.perf_counter()
                understand(Turn(MessageType.TEXT, text), profile, NOW)
                if n:
                    timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        result[name] = {
            "rows": len(table),
            "read_right": right,
            "share": round(right / len(table), 3),
            "ms": {
                "p50": round(statistics.median(timings), 3),
                "p99": round(timings[int(len(timings) * 0.99) - 1], 3),
                "max": round(timings[-1], 3),
            },
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", help="write the result here too")
    args = parser.parse_args()
    result = run(args.rounds)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
