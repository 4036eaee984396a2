"""English as clients write it in chat: every row its day, time or part of day, read through the whole
understanding step. With the grammar's own table (test_when_phrasings.ENGLISH) these are the English
table of the conversation-quality issue; rows were written here from chat habits (typos, clock talk,
counted days, corrections), in the spirit of the public rule tests of date parsers such as Duckling's."""

from __future__ import annotations

import pytest

from flows.understanding.when import When
from tests.flows.phrasings import AFTER_WORK, EARLY, LATE_M, LUNCH, A, E, M, cases, read, w
from tests.flows.test_when_phrasings import ENGLISH as GRAMMAR

ROWS: list[tuple[str, When | None]] = [
    # Typos and chat spellings of days
    ("wensday", w("today")),
    ("wednsday at 2", w("today", "14:00")),
    ("thrusday", w("tomorrow")),
    ("thursdy at 10", w("tomorrow", "10:00")),
    ("tomorow", w("tomorrow")),
    ("tommorow at 9", w("tomorrow", "09:00")),
    ("fridy", w("fri")),
    ("firday at 11", w("fri", "11:00")),
    ("saterday", w("sat")),
    ("sundy", w("sun")),
    ("monady morning", w("mon", part=M)),
    ("tuseday at 4", w("tue", "16:00")),
    # Clock talk
    ("tomorrow 3 15 pm", w("tomorrow", "15:15")),
    ("friday at 1545", w("fri", "15:45")),
    ("tomorrow ten thirty", w("tomorrow", "10:30")),
    ("friday eleven fifteen", w("fri", "11:15")),
    ("monday two thirty", w("mon", "14:30")),
    ("quarter to 6 on friday", w("fri", "17:45")),
    ("twenty past 4 tomorrow", w("tomorrow", "16:20")),
    ("half past nine on monday", w("mon", "09:30")),
    ("friday at 9 in the morning", w("fri", "09:00", M)),
    ("monday at 5pm", w("mon", "17:00")),
    ("at 7 in the evening tomorrow", w("tomorrow", "19:00", E)),
    ("1030", w(at="10:30")),
    # Days counted and dates
    ("in 2 days", w("fri")),
    ("in 3 days at 10", w("sat", "10:00")),
    ("in a week", w("wed+")),
    ("in two weeks", w("2026-12-09")),
    ("in 3 weeks", w("2026-12-16")),
    ("two weeks from tomorrow", w("2026-12-10")),
    ("a week from monday", w("2026-12-07")),
    ("3 days after friday", w("mon")),
    ("friday next week", w("2026-12-04")),
    ("the 20th of next month", w("2026-12-20")),
    ("december 3rd at 10", w("2026-12-03", "10:00")),
    ("3 dec 11am", w("2026-12-03", "11:00")),
    ("3/12 at 14", w("2026-12-03", "14:00")),
    ("the 30th at 9", w("mon", "09:00")),
    ("can I book for the 4th of december at 10am", w("2026-12-04", "10:00")),
    # Counted from now
    ("in 30 minutes", w("today", "09:30")),
    ("in an hour", w("today", "10:00")),
    ("in 2 hours", w("today", "11:00")),
    ("in half an hour", w("today", "09:30")),
    # Parts of days
    ("monday evening", w("mon", part=E)),
    ("tomorrow afternoon", w("tomorrow", part=A)),
    ("friday morning", w("fri", part=M)),
    ("this evening", w("today", part=E)),
    ("tonight", w("today", part=E)),
    ("saturday afternoon at 2", w("sat", "14:00", A)),
    ("I'd like to come tomorrow morning around 9", w("tomorrow", "09:00", M)),
    ("do you have anything on friday afternoon?", w("fri", part=A)),
    # Corrections and questions
    ("make that 2pm instead", w(at="14:00")),
    ("no wait, thursday", w("tomorrow")),
    ("actually friday at 11", w("fri", "11:00")),
    ("sorry, I meant monday", w("mon")),
    ("how about tuesday at 10?", w("tue", "10:00")),
    ("is thursday at 4 free?", w("tomorrow", "16:00")),
    ("any time monday", w("mon")),
    ("what about next tuesday", w("tue")),
    ("could I please get a massage on Monday at 10?", w("mon", "10:00")),
    ("hi! is there any chance of fri at 2", w("fri", "14:00")),
    ("Monday 30/11 at 8", w("mon", "08:00")),
    ("tomorrow at 8:15", w("tomorrow", "08:15")),
    ("tomorrow @ 10", w("tomorrow", "10:00")),
    ("10am tomorrow pls", w("tomorrow", "10:00")),
    ("2morrow at 10", w("tomorrow", "10:00")),
    # Windows of the day people plan around
    ("friday before work", w("fri", part=EARLY)),
    ("first thing tomorrow", w("tomorrow", part=EARLY)),
    ("early morning on monday", w("mon", part=EARLY)),
    ("late morning on monday", w("mon", part=LATE_M)),
    ("can I come in my lunch break on friday", w("fri", part=LUNCH)),
    ("tomorrow at lunchtime", w("tomorrow", part=LUNCH)),
    ("lunch at 1 on friday", w("fri", "13:00", LUNCH)),
    ("after work on thursday", w("tomorrow", part=AFTER_WORK)),
    ("monday after work at 5", w("mon", "17:00", AFTER_WORK)),
    ("late afternoon friday", w("fri", part=A)),
    ("noon tomorrow", w("tomorrow", "12:00")),
    # Nothing to read as a day or time
    ("asap", None),
    ("whenever suits", None),
    ("I need a massage", None),
]

# Read wrongly or not at all today: the next grammar work. A fix makes its test pass unexpectedly.
GAPS: set[str] = set()
TABLE = [*GRAMMAR, *ROWS]


@pytest.mark.parametrize(("text", "expected"), cases(ROWS, GAPS), ids=[text for text, _ in ROWS])
def test_read_as_clients_write(text: str, expected: When | None) -> None:
    assert read(text, "en") == expected


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 150
