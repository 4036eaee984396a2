"""The grammar behind `when.py`: client text to tokens to readings (dates, weekdays, clock times)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from flows.understanding import when_words as words

# --- reading the text into tokens -------------------------------------------------------------------

_TOKEN = re.compile(r"[0-9]+(?:[./:-][0-9]+)*\.?|[^\W\d_]+")
_MERIDIEM = re.compile(r"\b([ap])\.\s?m\b\.?")
_OCLOCK = re.compile(r"\bo'?\s?clock\b")
_NUMBER = re.compile(r"([0-9]{1,4})(?:([./:-])([0-9]{1,4})(?:\2([0-9]{1,4}))?)?")


@dataclass(frozen=True, slots=True)
class _Tok:
    key: str  # a folded word, or a number as written without its trailing dot
    num: bool = False


def _tokens(text: str) -> list[_Tok]:
    clean = unicodedata.normalize("NFKC", text).casefold().replace("’", "'").replace("@", " at ")
    clean = _OCLOCK.sub(" oclock", _MERIDIEM.sub(r"\1m", clean))
    tokens = []
    for match in _TOKEN.finditer(clean):
        raw = match.group()
        if raw[0] in "0123456789":
            tokens.append(_Tok(raw.rstrip("."), num=True))
        else:
            tokens.append(_Tok(words.fold(raw)))
    return tokens


# --- what the grammar finds --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    hour: int  # as named: 11 for "halv elleve"
    offset: int = 0  # minutes from that hour: 30 for "10:30", -30 for "halv elleve"
    meridiem: str | None = None
    literal: bool = False  # a 24-hour reading ("07:30", "14"): no am/pm guessing


@dataclass(frozen=True, slots=True)
class Day:
    value: date | None  # None: a date that does not exist, like 31/2
    weak: bool = False  # "tonight" names today only if nothing else names a day


@dataclass(frozen=True, slots=True)
class Weekday:
    index: int
    mode: str  # "plain", "next" or "last"


@dataclass(frozen=True, slots=True)
class Part:
    part: str  # a PartOfDay value


@dataclass(frozen=True, slots=True)
class NextWeek:
    pass


@dataclass(frozen=True, slots=True)
class Either:
    """A token that is a date or a time ("10.11"); the rest of the message decides."""

    day: Day
    clock: Clock


Finding = Clock | Day | Weekday | Part | NextWeek | Either
_Match = tuple[int, list[Finding]]  # tokens used, what they say


@dataclass(slots=True)
class Ctx:
    tokens: list[_Tok]
    today: date
    english: bool
    whole: bool  # the message is one meaningful token: "10" alone is a time
    day_end: int = -1  # the token right after the last day reading: "tomorrow 10" makes 10 a time

    def word(self, i: int) -> str:
        token = self.tokens[i] if 0 <= i < len(self.tokens) else None
        return token.key if token and not token.num else ""

    def number(self, i: int, low: int = 0, high: int = 9999) -> int | None:
        """A plain number (no separators) at i within low..high."""
        token = self.tokens[i] if 0 <= i < len(self.tokens) else None
        if token is None or not token.num or not token.key.isdigit() or len(token.key) > 4:
            return None
        return int(token.key) if low <= int(token.key) <= high else None

    def loose(self, i: int) -> bool:
        return self.whole or self.day_end == i


# --- the scan: at each token, the longest reading wins ------------------------------------------------


def scan(text: str, today: date, *, english: bool) -> list[Finding]:
    """Everything the text says about days and times, each reading on its own."""
    tokens = _tokens(text)
    meaningful = [token for token in tokens if token.key not in words.FILLERS]
    ctx = Ctx(tokens, today, english, whole=len(meaningful) == 1)
    found: list[Finding] = []
    i = 0
    while i < len(ctx.tokens):
        match = _best(ctx, i, _MATCHERS)
        if match is None:
            i += 1
            continue
        used, items = match
        found.extend(items)
        i += max(used, 1)
        if any(isinstance(item, Day | Weekday | Part | NextWeek) for item in items):
            ctx.day_end = i
    return found


def _best(ctx: Ctx, i: int, matchers: tuple[Callable[[Ctx, int], _Match | None], ...]) -> _Match | None:
    best = None
    if i >= len(ctx.tokens):
        return None
    for matcher in matchers:
        match = matcher(ctx, i)
        if match is not None and (best is None or match[0] > best[0]):
            best = match
    return best


def _m_phrase(ctx: Ctx, i: int) -> _Match | None:
    for size in range(words.LONGEST_PHRASE, 0, -1):
        phrase = words.PHRASES.get(tuple(ctx.word(j) for j in range(i, i + size)))
        if phrase is None:
            continue
        found: list[Finding] = []
        if phrase.day is not None:
            found.append(Day(ctx.today + timedelta(days=phrase.day), weak=phrase.weak))
        if phrase.part:
            found.append(Part(phrase.part))
        if phrase.noon:
            found.append(Clock(12, literal=True))
        if phrase.next_week:
            found.append(NextWeek())
        return size, found
    return None


def _m_relative(ctx: Ctx, i: int) -> _Match | None:
    """ "in 3 days", "om en uge", "om 14 dage"."""
    if ctx.word(i) not in words.IN:
        return None
    count = ctx.number(i + 1, 1, 366) or words.COUNTS.get(ctx.word(i + 1))
    span = words.SPANS.get(ctx.word(i + 2))
    if count is None or span is None or count * span > 366:
        return None
    return 3, [Day(ctx.today + timedelta(days=count * span))]


def _m_weekday(ctx: Ctx, i: int) -> _Match | None:
    mode, j = "plain", i
    while j < i + 3 and ctx.word(j) in words.WEEKDAY_PREFIX:
        mode = words.WEEKDAY_PREFIX[ctx.word(j)] if mode == "plain" else mode
        j += 1
    index = words.WEEKDAYS.get(ctx.word(j))
    if index is None:
        return None
    if ctx.word(j) in words.WEAK_WEEKDAYS and j == i and not (ctx.whole or ctx.number(j + 1) is not None):
        return None
    return j - i + 1, [Weekday(index, mode)]


def _m_negated(ctx: Ctx, i: int) -> _Match | None:
    """ "after 2pm", "ikke fredag", "between 2pm and 4pm": read, then dropped."""
    if ctx.word(i) not in words.NEGATORS:
        return None
    used = 1 + ((_best(ctx, i + 1, _READERS) or (0, []))[0])
    if ctx.word(i + used) in words.RANGE_JOIN and (after := _best(ctx, i + used + 1, _READERS)):
        used += 1 + after[0]
    return used, []


# --- dates --------------------------------------------------------------------------------------------


def _m_date(ctx: Ctx, i: int) -> _Match | None:
    j = i + (ctx.word(i) in words.ON)
    marker = ctx.word(j) if ctx.word(j) in words.DATE_MARKERS else ""
    j += bool(marker)
    match = _day_month(ctx, j) or _month_day(ctx, j) or _marked_numeric(ctx, j, marker)
    match = match or _day_of_month(ctx, j, marker, prefixed=j > i)
    return None if match is None else (j - i + match[0], match[1])


def _day_month(ctx: Ctx, j: int) -> _Match | None:
    """ "24 november", "24. nov 2026", "24th of November"."""
    day = ctx.number(j, 1, 31)
    k = j + 1
    k += ctx.word(k) in words.ORDINAL
    k += ctx.word(k) == "of"
    month = words.MONTHS.get(ctx.word(k))
    if day is None or month is None:
        return None
    year = ctx.number(k + 1, 1900, 2199)
    return k - j + 1 + (year is not None), [Day(_calendar(ctx.today, day, month, year))]


def _month_day(ctx: Ctx, j: int) -> _Match | None:
    """ "november 24", "Nov 24th", "november the 24th, 2026"."""
    month = words.MONTHS.get(ctx.word(j))
    k = j + 1 + (ctx.word(j + 1) == "the")
    day = ctx.number(k, 1, 31)
    if month is None or day is None:
        return None
    k += 1 + (ctx.word(k + 1) in words.ORDINAL)
    if ctx.word(k) in words.UNITS:
        return None
    year = ctx.number(k, 1900, 2199)
    return k - j + (year is not None), [Day(_calendar(ctx.today, day, month, year))]


def _marked_numeric(ctx: Ctx, j: int, marker: str) -> _Match | None:
    """ "d. 24/11", "den 10.11": after a date word, a number with separators is a date."""
    if not marker or j >= len(ctx.tokens) or not ctx.tokens[j].num:
        return None
    day, _ = _classify(ctx, ctx.tokens[j].key)
    return None if day is None else (1, [day])


def _day_of_month(ctx: Ctx, j: int, marker: str, *, prefixed: bool) -> _Match | None:
    """ "den 24.", "d. 3", "the 24th", "on the 1st", "friday 27th"; the next such date from today."""
    day = ctx.number(j, 1, 31)
    ordinal = ctx.word(j + 1) in words.ORDINAL
    if day is None or ctx.word(j + 1 + ordinal) in words.UNITS:
        return None
    if not (marker in ("den", "d") or (ordinal and (marker or prefixed or ctx.loose(j)))):
        return None
    month_start = ctx.today.replace(day=1)
    for ahead in range(12):
        year, month = divmod(month_start.month - 1 + ahead, 12)
        candidate = _safe(month_start.year + year, month + 1, day)
        if candidate is not None and candidate >= ctx.today:
            return 1 + ordinal, [Day(candidate)]
    return 1 + ordinal, [Day(None)]


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _calendar(today: date, day: int, month: int, year: int | None) -> date | None:
    """The date meant; without a year, this year's unless it has passed."""
    if year is not None:
        return _safe(year + 2000 if year < 100 else year, month, day)
    for candidate in (_safe(today.year, month, day), _safe(today.year + 1, month, day)):
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _classify(ctx: Ctx, raw: str) -> tuple[Day | None, Clock | None]:
    """A number with separators as a date and as a clock time; either or both may be None."""
    match = _NUMBER.fullmatch(raw)
    if match is None or match.group(2) is None:
        return None, None
    a, sep, b, c = match.group(1), match.group(2), match.group(3), match.group(4)
    if c is not None:
        if sep == ":":
            return None, _clock_reading(a, b) if len(c) == 2 and int(c) < 60 else None
        if len(a) == 4:
            return Day(_safe(int(a), int(b), int(c))), None
        return (_date_reading(ctx, (int(a), int(b), int(c)), sep) if len(c) in (2, 4) else None), None
    short = sep != ":" and len(a) <= 2 and len(b) <= 2
    day = _date_reading(ctx, (int(a), int(b), None), sep) if short else None
    return day, _clock_reading(a, b) if sep in ":." else None


def _date_reading(ctx: Ctx, numbers: tuple[int, int, int | None], sep: str) -> Day | None:
    """Day/month; with locale "en", "11/24" (impossible that way round) as month/day."""
    first, second, year = numbers
    if 1 <= first <= 31 and 1 <= second <= 12:
        return Day(_calendar(ctx.today, first, second, year))
    if ctx.english and sep in "/-" and 1 <= first <= 12 and 13 <= second <= 31:
        return Day(_calendar(ctx.today, second, first, year))
    return None


def _clock_reading(hours: str, minutes: str) -> Clock | None:
    if len(hours) > 2 or len(minutes) != 2 or int(hours) > 23 or int(minutes) > 59:
        return None
    hour = int(hours)
    return Clock(hour, int(minutes), literal=hour == 0 or hour > 12 or hours.startswith("0"))


def _m_numeric(ctx: Ctx, i: int) -> _Match | None:
    """A number with separators standing alone: "24/11", "24.11.2026", or the undecided "10.11"."""
    if not ctx.tokens[i].num or ctx.word(i + 1) in words.MERIDIEM:
        return None
    day, clock = _classify(ctx, ctx.tokens[i].key)
    if day is None:
        return None
    if ctx.word(i + 1) in words.UNITS:
        return 2, []  # "1.5 timer"
    if clock is None or clock.offset % 5:
        return 1, [day]  # "1.12" is 1 December, not 13:12
    return 1, [Either(day, clock)]


# --- clock times --------------------------------------------------------------------------------------


def _m_clock(ctx: Ctx, i: int) -> _Match | None:
    markers = 0
    while markers < 3 and ctx.word(i + markers) in words.MARKERS:
        markers += 1
    reading = _clock_phrase(ctx, i + markers, marked=markers > 0)
    if reading is None:
        return (markers, []) if markers else None
    k, clock = i + markers + reading[0], reading[1]
    while (
        ctx.word(k) in words.ALTERNATIVES and (other := _clock_phrase(ctx, k + 1, marked=True)) and other[1]
    ):
        k, clock = k + 1 + other[0], None  # "kl 10 eller 11", "2pm or 4pm": offered, not chosen
    return k - i, [] if clock is None else [clock]


def _clock_phrase(ctx: Ctx, j: int, *, marked: bool) -> tuple[int, Clock | None] | None:
    """A clock expression at j and what follows it: "2.30 pm", "10-tiden", "10 people" (not a time)."""
    reading = _fraction(ctx, j) or _numeric_clock(ctx, j, marked=marked) or _hour(ctx, j)
    if reading is None:
        return None
    used, clock, bare = reading
    k = j + used
    if clock is not None and ctx.word(k) in words.MERIDIEM:
        clock = replace(clock, meridiem=ctx.word(k))
        k += 1
    context = clock is not None and clock.meridiem is not None
    if ctx.word(k) in words.POSTFIX:
        k, context = k + 1, True
    context = context or marked or _part_follows(ctx, k) or (ctx.loose(j) and ctx.tokens[j].num)
    if bare and not context:
        return None
    if ctx.word(k) in words.UNITS:
        return k - j + 1, None
    return k - j, clock


def _part_follows(ctx: Ctx, k: int) -> bool:
    """ "7 in the morning", "8 om aftenen"."""
    match = _m_phrase(ctx, k) if ctx.word(k) in words.IN else None
    return match is not None and any(isinstance(item, Part) for item in match[1])


def _numeric_clock(ctx: Ctx, j: int, *, marked: bool) -> tuple[int, Clock | None, bool] | None:
    token = ctx.tokens[j] if j < len(ctx.tokens) else None
    if token is None or not token.num or token.key.isdigit():
        return None
    if marked and "-" in token.key:
        return 1, None, False  # "kl 14-16": a span, not one time
    day, clock = _classify(ctx, token.key)
    if clock is None or (day is not None and not marked and ctx.word(j + 1) not in words.MERIDIEM):
        return None
    return 1, clock, False


def _hour(ctx: Ctx, j: int) -> tuple[int, Clock | None, bool] | None:
    """A bare hour, "10" or "ti"; only a time with something around it that says so."""
    number = ctx.number(j, 1, 23)
    if number is not None and ctx.number(j + 1) is None and len(ctx.tokens[j].key) <= 2:
        return 1, Clock(number, literal=number > 12 or ctx.tokens[j].key.startswith("0")), True
    hour = words.HOURS.get(ctx.word(j))
    if hour is None:
        return None
    if ctx.whole and ctx.word(j) not in words.AMBIGUOUS_HOURS:
        return 1, Clock(hour), False
    return 1, Clock(hour), True


def _hour_at(ctx: Ctx, j: int) -> int | None:
    return (
        ctx.number(j, 0, 23) if ctx.tokens[j : j + 1] and ctx.tokens[j].num else words.HOURS.get(ctx.word(j))
    )


def _fraction(ctx: Ctx, j: int) -> tuple[int, Clock | None, bool] | None:
    """ "halv elleve", "half past ten", "a quarter to 5", "kvart i fem", "fem over halv elleve"."""
    if ctx.word(j) in ("halv", "half"):
        past = ctx.word(j) == "half" and ctx.word(j + 1) == "past"
        hour = _hour_at(ctx, j + 1 + past)
        sign = 1 if ctx.word(j) == "half" else -1
        return None if hour is None else (2 + past, Clock(hour, 30 * sign), False)
    k = j + (ctx.word(j) == "a")
    minutes, used = _minutes(ctx, k)
    if minutes is None:
        return None
    k += used
    k += ctx.word(k) in words.MINUTE_UNIT
    sign = 1 if ctx.word(k) in words.PAST else -1 if ctx.word(k) in words.TO else 0
    if sign == 0 or (sign < 0 and ctx.tokens[j].num):
        return None  # "10 to 12" is a span, not 11:50
    base = -30 if ctx.word(k + 1) == "halv" else 0
    hour = _hour_at(ctx, k + 1 + (base != 0))
    if hour is None:
        return None
    return k + 2 + (base != 0) - j, Clock(hour, base + sign * minutes), False


def _minutes(ctx: Ctx, k: int) -> tuple[int | None, int]:
    for size in (2, 1):
        minutes = words.MINUTE_WORDS.get(tuple(ctx.word(x) for x in range(k, k + size)))
        if minutes is not None:
            return minutes, size
    return ctx.number(k, 1, 59), 1


_READERS = (_m_phrase, _m_relative, _m_weekday, _m_date, _m_clock, _m_numeric)
_MATCHERS = (*_READERS, _m_negated)
