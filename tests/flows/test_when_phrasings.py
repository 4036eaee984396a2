"""The phrasings clients really use for days and times, so a grammar change cannot quietly misread one."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.understanding.when import PartOfDay, When, read_when

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=ZONE)  # a Wednesday

# Days as seen from NOW.
TODAY, TOMORROW = "2026-11-25", "2026-11-26"
FRI, SAT, SUN, MON, TUE, NEXT_WED = (
    "2026-11-27",
    "2026-11-28",
    "2026-11-29",
    "2026-11-30",
    "2026-12-01",
    "2026-12-02",
)
M, A, E = PartOfDay.MORNING, PartOfDay.AFTERNOON, PartOfDay.EVENING


def w(day: str | None = None, at: str | None = None, part: PartOfDay | None = None) -> When:
    return When(
        day=date.fromisoformat(day) if day else None,
        at=time.fromisoformat(at) if at else None,
        part=part,
    )


ENGLISH: list[tuple[str, When | None]] = [
    ("today", w(TODAY)),
    ("tomorrow", w(TOMORROW)),
    ("tmrw", w(TOMORROW)),
    ("tmr at 3", w(TOMORROW, "15:00")),
    ("the day after tomorrow", w(FRI)),
    ("day after tomorrow at 11am", w(FRI, "11:00")),
    ("yesterday", w("2026-11-24")),
    ("friday", w(FRI)),
    ("on Friday", w(FRI)),
    ("this friday", w(FRI)),
    ("next friday", w(FRI)),
    ("wednesday", w(TODAY)),
    ("next wednesday", w(NEXT_WED)),
    ("next tuesday 2pm", w(TUE, "14:00")),
    ("last friday", w("2026-11-20")),
    ("on sat at 10", w(SAT, "10:00")),
    ("Sun 11am", w(SUN, "11:00")),
    ("mon", w(MON)),
    ("thurs at 4.30pm", w(TOMORROW, "16:30")),
    ("tues 10:15", w(TUE, "10:15")),
    ("in 3 days", w(SAT)),
    ("in a week", w(NEXT_WED)),
    ("in two weeks", w("2026-12-09")),
    ("next week", None),
    ("tuesday next week", w(TUE)),
    ("next week on thursday", w("2026-12-03")),
    ("24/11", w("2027-11-24")),
    ("26/11", w(TOMORROW)),
    ("24/11/2026", w("2026-11-24")),
    ("2026-12-03", w("2026-12-03")),
    ("November 24", w("2027-11-24")),
    ("Nov 24th", w("2027-11-24")),
    ("24th of November", w("2027-11-24")),
    ("December 1st at 9", w(TUE, "09:00")),
    ("December 24, 2026 at 14:00", w("2026-12-24", "14:00")),
    ("the 24th", w("2026-12-24")),
    ("on the 3rd", w("2026-12-03")),
    ("11/24", w("2027-11-24")),
    ("31/2", None),
    ("feb 30", None),
    ("friday the 27th", w(FRI)),
    ("friday the 28th", None),
    ("10", w(at="10:00")),
    ("3", w(at="15:00")),
    ("at 10", w(at="10:00")),
    ("at 7", w(at="19:00")),
    ("10:30", w(at="10:30")),
    ("2pm", w(at="14:00")),
    ("2 pm", w(at="14:00")),
    ("2.30pm", w(at="14:30")),
    ("10am", w(at="10:00")),
    ("10 a.m.", w(at="10:00")),
    ("12pm", w(at="12:00")),
    ("noon", w(at="12:00")),
    ("midday tomorrow", w(TOMORROW, "12:00")),
    ("half past ten", w(at="10:30")),
    ("half past two", w(at="14:30")),
    ("quarter past 2", w(at="14:15")),
    ("a quarter to 5", w(at="16:45")),
    ("twenty past ten", w(at="10:20")),
    ("ten to five", w(at="16:50")),
    ("10 o'clock", w(at="10:00")),
    ("around 11ish", w(at="11:00")),
    ("at 25:00", None),
    ("massage tomorrow at 10", w(TOMORROW, "10:00")),
    ("tomorrow 10", w(TOMORROW, "10:00")),
    ("24/11 at 9:15", w("2027-11-24", "09:15")),
    ("Can I come at 07:30 on Monday?", w(MON, "07:30")),
    ("3 people tomorrow at 2", w(TOMORROW, "14:00")),
    ("60 min massage friday", w(FRI)),
    ("morning", w(part=M)),
    ("tomorrow morning", w(TOMORROW, part=M)),
    ("in the afternoon", w(part=A)),
    ("this afternoon", w(TODAY, part=A)),
    ("tonight", w(TODAY, part=E)),
    ("tonight at 8", w(TODAY, "20:00", E)),
    ("7 in the morning", w(at="07:00", part=M)),
    ("friday evening at 6", w(FRI, "18:00", E)),
    ("tomorrow night", w(TOMORROW, part=E)),
    ("Good morning, can I book friday?", w(FRI)),
    ("after 2pm", None),
    ("between 2pm and 4pm on friday", w(FRI)),
    ("tomorrow or friday", None),
    ("at 10 or 11", None),
    ("2pm or 4pm", None),
    ("at 10 and 2 people", w(at="10:00")),
    ("not friday, saturday", w(SAT)),
]

DANISH: list[tuple[str, When | None]] = [
    ("i dag", w(TODAY)),
    ("idag kl 15", w(TODAY, "15:00")),
    ("i morgen", w(TOMORROW)),
    ("imorgen", w(TOMORROW)),
    ("i morgen kl. 10", w(TOMORROW, "10:00")),
    ("i overmorgen", w(FRI)),
    ("overmorgen kl 9", w(FRI, "09:00")),
    ("i overmorgen ved 10-tiden", w(FRI, "10:00")),
    ("i går", w("2026-11-24")),
    ("fredag", w(FRI)),
    ("på fredag", w(FRI)),
    ("fredag kl. 14.30", w(FRI, "14:30")),
    ("næste tirsdag", w(TUE)),
    ("på næste onsdag", w(NEXT_WED)),
    ("sidste fredag", w("2026-11-20")),
    ("onsdag", w(TODAY)),
    ("lørdag", w(SAT)),
    ("lordag kl 11", w(SAT, "11:00")),
    ("loerdag", w(SAT)),
    ("paa søndag", w(SUN)),
    ("sondag formiddag", w(SUN, part=M)),
    ("mandag morgen", w(MON, part=M)),
    ("torsdag eftermiddag", w(TOMORROW, part=A)),
    ("om 3 dage", w(SAT)),
    ("om en uge", w(NEXT_WED)),
    ("om 14 dage", w("2026-12-09")),
    ("i næste uge", None),
    ("tirsdag i næste uge", w(TUE)),
    ("naeste uge torsdag", w("2026-12-03")),
    ("24/11", w("2027-11-24")),
    ("24.11", w("2027-11-24")),
    ("24-11", w("2027-11-24")),
    ("24.11.2026", w("2026-11-24")),
    ("2/12 kl. 11", w(NEXT_WED, "11:00")),
    ("24. november", w("2027-11-24")),
    ("24 november", w("2027-11-24")),
    ("den 24.", w("2026-12-24")),
    ("d. 24/11", w("2027-11-24")),
    ("den 3. december kl 10.30", w("2026-12-03", "10:30")),
    ("1. dec", w(TUE)),
    ("4. okt", w("2027-10-04")),
    ("11/24", None),
    ("31/2", None),
    ("30. februar kl 10", w(at="10:00")),
    ("fredag d. 27/11", w(FRI)),
    ("tirsdag den 1.12", w(TUE)),
    ("10.10", w(at="10:10")),  # or 10 October: both readings are kept, and the flow settles which
    ("fredag 10.10", w(FRI, "10:10")),
    ("kl 10.11", w(at="10:11")),
    ("kl 9", w(at="09:00")),
    ("kl. 14", w(at="14:00")),
    ("klokken 3", w(at="15:00")),
    ("klokken tre", w(at="15:00")),
    ("kl ti", w(at="10:00")),
    ("halv elleve", w(at="10:30")),
    ("kl. halv 11", w(at="10:30")),
    ("halv to", w(at="13:30")),
    ("kvart over ti", w(at="10:15")),
    ("kvart i fem", w(at="16:45")),
    ("kvart over 2", w(at="14:15")),
    ("fem over halv elleve", w(at="10:35")),
    ("ti i halv tolv", w(at="11:20")),
    ("middag", w(part=PartOfDay.LUNCH)),
    ("torsdag kl 07.00", w(TOMORROW, "07:00")),
    ("på torsdag ved 13-tiden", w(TOMORROW, "13:00")),
    ("formiddag", w(part=M)),
    ("om formiddagen", w(part=M)),
    ("eftermiddag", w(part=A)),
    ("om eftermiddagen", w(part=A)),
    ("i aften", w(TODAY, part=E)),
    ("i aften kl 8", w(TODAY, "20:00", E)),
    ("kl. 8 om aftenen", w(at="20:00", part=E)),
    ("i morgen tidlig", w(TOMORROW, part=M)),
    ("i morgen formiddag", w(TOMORROW, part=M)),
    ("i morgen aften kl 7", w(TOMORROW, "19:00", E)),
    ("god morgen", None),
    ("Godmorgen, har I tid fredag?", w(FRI)),
    ("Kan jeg få en massage i morgen kl 10?", w(TOMORROW, "10:00")),
    ("2 personer", None),
    ("60 min massage", None),
    ("ikke fredag, men lørdag", w(SAT)),
    ("efter kl 16", None),
    ("kl 14-16", None),
    ("fredag eller lørdag", None),
    ("i morgen kl 10 eller 11", w(TOMORROW)),
    ("i morgen fredag", None),
    ("Jeg vil gerne bestille tid fredag den 4. december kl. 9.30", w("2026-12-04", "09:30")),
    ("fredag 4.12", w("2026-12-04")),
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH, ids=[text for text, _ in ENGLISH])
def test_english(text: str, expected: When | None) -> None:
    assert read_when(text, "en", NOW) == expected


@pytest.mark.parametrize(("text", "expected"), DANISH, ids=[text for text, _ in DANISH])
def test_danish(text: str, expected: When | None) -> None:
    assert read_when(text, "da", NOW) == expected


SPRING_NOW = datetime(2027, 3, 25, 10, 0, tzinfo=ZONE)  # Thursday; clocks go 02:00 -> 03:00 on Sunday 28th
AUTUMN_NOW = datetime(2027, 10, 28, 10, 0, tzinfo=ZONE)  # Thursday; clocks go 03:00 -> 02:00 on Sunday 31st

DST: list[tuple[str, str, datetime, str]] = [
    ("tomorrow at 10", "en", SPRING_NOW, "2027-03-26T10:00:00+01:00"),
    ("lørdag kl 10", "da", SPRING_NOW, "2027-03-27T10:00:00+01:00"),
    ("saturday 23:30", "en", SPRING_NOW, "2027-03-27T23:30:00+01:00"),
    ("sunday at 01:30", "en", SPRING_NOW, "2027-03-28T01:30:00+01:00"),
    ("søndag kl. 02.30", "da", SPRING_NOW, "2027-03-28T03:30:00+02:00"),
    ("sunday at 2:30am", "en", SPRING_NOW, "2027-03-28T03:30:00+02:00"),
    ("om 3 dage kl 03:00", "da", SPRING_NOW, "2027-03-28T03:00:00+02:00"),
    ("sunday at 10", "en", SPRING_NOW, "2027-03-28T10:00:00+02:00"),
    ("søndag kl 10", "da", SPRING_NOW, "2027-03-28T10:00:00+02:00"),
    ("28/3 kl 12", "da", SPRING_NOW, "2027-03-28T12:00:00+02:00"),
    ("næste søndag kl 14", "da", SPRING_NOW, "2027-03-28T14:00:00+02:00"),
    ("i overmorgen kl 10", "da", AUTUMN_NOW, "2027-10-30T10:00:00+02:00"),
    ("saturday 10am", "en", AUTUMN_NOW, "2027-10-30T10:00:00+02:00"),
    ("sunday 01:59", "en", AUTUMN_NOW, "2027-10-31T01:59:00+02:00"),
    ("sunday 02:00", "en", AUTUMN_NOW, "2027-10-31T02:00:00+02:00"),
    ("søndag kl. 02.30", "da", AUTUMN_NOW, "2027-10-31T02:30:00+02:00"),
    ("sunday 03:00", "en", AUTUMN_NOW, "2027-10-31T03:00:00+01:00"),
    ("sunday at 10", "en", AUTUMN_NOW, "2027-10-31T10:00:00+01:00"),
    ("31/10 kl 9", "da", AUTUMN_NOW, "2027-10-31T09:00:00+01:00"),
    ("31. oktober kl. 14", "da", AUTUMN_NOW, "2027-10-31T14:00:00+01:00"),
]


@pytest.mark.parametrize(
    ("text", "locale", "now", "expected"), DST, ids=[f"{text} ({now:%B})" for text, _, now, _ in DST]
)
def test_local_time_across_daylight_saving(text: str, locale: str, now: datetime, expected: str) -> None:
    when = read_when(text, locale, now)
    assert when is not None
    moment = when.local(ZONE)
    assert moment is not None and moment.isoformat() == expected
    assert moment.utcoffset() == datetime.fromisoformat(expected).utcoffset()


def test_local_needs_both_day_and_time() -> None:
    assert When(day=date(2027, 3, 28)).local(ZONE) is None
    assert When(at=time(10)).local(ZONE) is None


NOT_WHEN = [
    "hello",
    "I want a massage",
    "2 people",
    "my number is 20 30 40 50",
    "+45 20 30 40 50",
    "ring på 20304050",
    "massage 60",
    "60 min",
    "Hej, jeg vil gerne booke en massage",
    "to personer",
    "it costs 450 kr",
    "1.5 timer",
    "I sat down and had fun",
    "er du fri?",
    "may I book a massage",
    "",
]


@pytest.mark.parametrize("text", NOT_WHEN, ids=[text or "(empty)" for text in NOT_WHEN])
@pytest.mark.parametrize("locale", ["en", "da"])
def test_text_without_a_day_or_time(text: str, locale: str) -> None:
    assert read_when(text, locale, NOW) is None


_PIECES = [
    "i morgen kl",
    "halv",
    "kvart over",
    "to ti",
    "at the",
    "den d.",
    "next næste",
    "on på",
    "24/11",
    "10.30",
    "14.30",
    "2pm am pm",
    "friday fredag",
    "morning aften",
    "after ikke",
    "between and",
    "10",
    "3",
    "31/2",
    "2026-11-24",
    "nov 24th of",
    "quarter past",
    "20 30 40 50",
    "i overmorgen ved 10-tiden",
    "sun sat fri",
]


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join)),
    locale=st.sampled_from(["en", "da", "de", ""]),
)
def test_never_raises(text: str, locale: str) -> None:
    result = read_when(text, locale, NOW)
    assert result is None or isinstance(result, When)


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        ("at 8", [(None, "08:00"), (None, "20:00")]),
        ("friday at 4", [(FRI, "16:00"), (FRI, "04:00")]),
        ("halv ni", [(None, "08:30"), (None, "20:30")]),
        ("quarter to 6", [(None, "17:45"), (None, "05:45")]),
        ("10.10", [(None, "10:10"), (None, "22:10"), ("2027-10-10", None)]),
        ("at 8pm", [(None, "20:00")]),
        ("at 8 in the morning", [(None, "08:00")]),
        ("kl 14", [(None, "14:00")]),
        ("kl 08", [(None, "08:00")]),
        ("at 12", [(None, "12:00")]),
        ("after work at 6", [(None, "18:00")]),
        ("fredag 10.10", [(FRI, "10:10"), (FRI, "22:10")]),
    ],
)
def test_other_open_readings(text: str, readings: list[tuple[str | None, str | None]]) -> None:
    """A bare hour may be twelve hours either way, "10.10" a day: the flow settles them by opening hours."""
    found = read_when(text, "en", NOW)
    assert found is not None
    assert [(r.day, r.at) for r in found.readings()] == [
        (w(day).day if day else None, w(at=at).at if at else None) for day, at in readings
    ]
