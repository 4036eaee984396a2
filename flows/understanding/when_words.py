"""The English and Danish words `when.py` reads days and times by, kept apart so the grammar stays short."""

from __future__ import annotations

from dataclasses import dataclass


def fold(word: str) -> str:
    """One spelling per word: æ/ø/å become ae/oe/aa, so "lørdag" and "loerdag" look the same."""
    return word.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")


def _table(rows: dict[str, int]) -> dict[str, int]:
    """Space-separated spellings to one value, every spelling folded."""
    return {fold(spelling): value for words, value in rows.items() for spelling in words.split()}


def _words(text: str) -> frozenset[str]:
    return frozenset(fold(word) for word in text.split())


WEEKDAYS = _table(
    {
        "monday mon mandag mandagen": 0,
        "tuesday tue tues tirsdag tirsdagen": 1,
        "wednesday wed onsdag onsdagen": 2,
        "thursday thu thur thurs torsdag torsdagen": 3,
        "friday fri fredag fredagen": 4,
        "saturday sat lørdag lordag lørdagen lordagen": 5,
        "sunday sun søndag sondag søndagen sondagen": 6,
    }
)
# Short forms that are also everyday words ("I sat", Danish "fri" = free, "mon" = I wonder): read as a
# weekday only after "on"/"next"/"på"…, right before a number, or as the whole message.
WEAK_WEEKDAYS = _words("mon fri sat sun")
# A word before a weekday, and what it does: "plain" = the next such day from today on.
WEEKDAY_PREFIX = dict.fromkeys(_words("on på pa this coming kommende den nu"), "plain")
WEEKDAY_PREFIX |= dict.fromkeys(_words("next næste naste"), "next")
WEEKDAY_PREFIX |= dict.fromkeys(_words("last sidste forrige"), "last")

MONTHS = _table(
    {
        "january jan januar": 1,
        "february feb februar": 2,
        "march mar marts": 3,
        "april apr": 4,
        "may maj": 5,
        "june jun juni": 6,
        "july jul juli": 7,
        "august aug": 8,
        "september sep sept": 9,
        "october oct oktober okt": 10,
        "november nov": 11,
        "december dec": 12,
    }
)

HOURS = _table(
    {
        "one en et": 1,
        "two to": 2,
        "three tre": 3,
        "four fire": 4,
        "five fem": 5,
        "six seks": 6,
        "seven syv": 7,
        "eight otte": 8,
        "nine ni": 9,
        "ten ti": 10,
        "eleven elleve": 11,
        "twelve tolv": 12,
    }
)
# Hour words too short or too common to be a whole message's time on their own.
AMBIGUOUS_HOURS = _words("one en et to")
COUNTS = HOURS | _table({"a an": 1, "fourteen fjorten": 14})
# Minutes before "past"/"over"/"to"/"i": "twenty five past ten", "fem i halv elleve".
MINUTE_WORDS: dict[tuple[str, ...], int] = {
    ("five",): 5,
    ("ten",): 10,
    ("twenty",): 20,
    ("twenty", "five"): 25,
    ("twentyfive",): 25,
    ("quarter",): 15,
    ("fem",): 5,
    ("ti",): 10,
    ("tyve",): 20,
    ("femogtyve",): 25,
    ("kvart",): 15,
}
MINUTE_UNIT = _words("minute minutes mins min minut minutter")
PAST = _words("past after over")
TO = _words("to till til of i")

MARKERS = _words("at kl klokken ved omkring around about ca cirka approx approximately")
POSTFIX = _words("oclock tiden ish sharp præcis")
MERIDIEM = _words("am pm")
ORDINAL = _words("st nd rd th")
DATE_MARKERS = _words("the den d")
ON = _words("on på pa")
IN = _words("in om")
SPANS = _table({"day days dag dage døgn": 1, "week weeks uge uger": 7})
# A number followed by one of these counts something else: "2 people", "60 min", "kl 10 personer".
UNITS = _words(
    "people person persons pers personer ppl pax guests gæster adults voksne kids children børn "
    "min mins minute minutes minut minutter hour hours hr hrs h time timer day days dag dage week weeks "
    "uge uger month months måned måneder year years år kr dkk eur euro euros usd x stk gange times "
    "km kg procent percent sessions session behandlinger behandling treatments klip"
)
# A reading right after one of these is not the time the client wants: "after 2pm", "ikke fredag".
NEGATORS = _words(
    "after before efter før inden indtil until till from fra between mellem senest tidligst latest "
    "earliest not ikke cannot except undtagen"
)
RANGE_JOIN = _words("and og to til until till")
ALTERNATIVES = _words("or eller and og")
FILLERS = _words(
    "ok okay please pls plz tak gerne ja yes yeah yep maybe måske perhaps then så how about what hvad med"
)


@dataclass(frozen=True, slots=True)
class Phrase:
    """What a fixed phrase says: a day (offset from today; weak = only if nothing else names a day)."""

    day: int | None = None
    weak: bool = False
    part: str | None = None
    noon: bool = False
    next_week: bool = False


def _phrases(rows: dict[str, Phrase]) -> dict[tuple[str, ...], Phrase]:
    """Phrases separated by "|", words by spaces."""
    table = {}
    for spellings, phrase in rows.items():
        for spelling in spellings.split("|"):
            table[tuple(fold(word) for word in spelling.split())] = phrase
    return table


_NOTHING = Phrase()
PHRASES = _phrases(
    {
        "today|i dag|idag": Phrase(day=0),
        "tomorrow|tmrw|tmr|tmrow|tomorow|tommorow|tommorrow|i morgen|imorgen": Phrase(day=1),
        "i morgen tidlig|imorgen tidlig": Phrase(day=1, part="morning"),
        "day after tomorrow|the day after tomorrow|overmorgen|i overmorgen": Phrase(day=2),
        "yesterday|i går|igår|i gar|igar": Phrase(day=-1),
        "tonight|this evening|i aften": Phrase(day=0, weak=True, part="evening"),
        "this afternoon|i eftermiddag": Phrase(day=0, weak=True, part="afternoon"),
        "this morning|i formiddag": Phrase(day=0, weak=True, part="morning"),
        "morning|in the morning|formiddag|formiddagen|om formiddagen|morgen|morgenen|om morgenen": Phrase(
            part="morning"
        ),
        "afternoon|in the afternoon|eftermiddag|eftermiddagen|om eftermiddagen": Phrase(part="afternoon"),
        "evening|in the evening|night|at night|aften|aftenen|om aftenen": Phrase(part="evening"),
        "noon|midday": Phrase(noon=True),
        "early morning|early in the morning|before work|before i go to work|first thing|first thing in the "
        "morning|tidlig morgen|tidligt om morgenen|tidlig om morgenen|før arbejde|inden arbejde|før job|"
        "inden jeg skal på arbejde|inden jeg skal pa arbejde": Phrase(part="early"),
        "late morning|late in the morning|sen formiddag|sent på formiddagen|sidst på formiddagen|"
        "sent pa formiddagen|sidst pa formiddagen": Phrase(part="late_morning"),
        "lunch|lunchtime|lunch time|at lunch|at lunchtime|around lunch|around lunchtime|in my lunch break|"
        "on my lunch break|over lunch|middag|middagstid|ved middag|ved middagstid|omkring middag|frokost|"
        "frokosttid|i frokosten|i frokostpausen|frokostpause|ved frokosttid|omkring frokost": Phrase(
            part="lunch"
        ),
        "after work|after i finish work|after my work|after school|efter arbejde|efter arbejdstid|efter job|"
        "efter fyraften|når jeg har fri|efter skole": Phrase(part="after_work"),
        "early afternoon|late afternoon|sidst på eftermiddagen|sidst pa eftermiddagen|sen eftermiddag|"
        "tidlig eftermiddag": Phrase(part="afternoon"),
        "next week|i næste uge|næste uge|i naste uge|naste uge": Phrase(next_week=True),
        # Greetings and meals that contain a part-of-day word but say nothing about when.
        "good morning|good afternoon|good evening|good night|god morgen|godmorgen|god formiddag": _NOTHING,
        "god eftermiddag|god aften|godaften|godnat|god nat|til middag|i morges": _NOTHING,
    }
)
LONGEST_PHRASE = max(len(words) for words in PHRASES)
