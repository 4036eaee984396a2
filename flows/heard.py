"""What the client meant by one turn, read once from their text or the option they tapped.

Every machine works from a `Heard`, never from raw text, so "massage tomorrow at 10" and three taps on
buttons reach the same guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flows.context import BusinessProfile, Turn
from flows.messages import MessageType
from flows.understanding.clock_words import from_now, spelled_out
from flows.understanding.day_words import counted_from, counts_from_a_day, mended, names_a_day
from flows.understanding.intents import Intent, read_intents
from flows.understanding.language import asked_language, detect_language
from flows.understanding.late import Late, read_late
from flows.understanding.practitioners import read_practitioner
from flows.understanding.services import ServiceCandidate, match_services
from flows.understanding.when import When, read_when

# Option ids: what a tap means. Flows build options with these prefixes; `understand` reads them back.
SERVICE = "svc:"
SLOT = "slot:"
DAY = "day:"  # a day to book on: "day:2027-05-14", one reading of "14.05"
WITH = "@"  # a time offered with someone: "slot:<start>@<practitioner>"
APPOINTMENT = "appt:"
CHANGE = "change:"
LANGUAGE = "lang:"
# The answer to "someone on Messenger gave your number: is that you?", asked on WhatsApp.
LINK_YES = "link:yes"
LINK_NO = "link:no"
# Reminder buttons carry the appointment: "confirm:42", "reschedule:42", "cancel:42".
ACTING_ON = {"confirm:": Intent.YES, "reschedule:": Intent.RESCHEDULE, "cancel:": Intent.CANCEL}
TAPS = {
    "yes": Intent.YES,
    "no": Intent.NO,
    "person": Intent.TALK_TO_PERSON,
    "help": Intent.HELP,
    "start_over": Intent.START_OVER,
    "book": Intent.BOOK,
    "mine": Intent.MY_APPOINTMENTS,
    "reschedule": Intent.RESCHEDULE,
    "cancel": Intent.CANCEL,
    "other_time": Intent.OTHER_TIME,
    "first_available": Intent.FIRST_AVAILABLE,
    LINK_YES: Intent.YES,
    LINK_NO: Intent.NO,
}
# A message longer than this is read by its first and last READ_PART characters.
READ_LIMIT = 1500
READ_PART = 400
UNREADABLE = {MessageType.UNSUPPORTED, MessageType.CONTACTS, MessageType.UNKNOWN}


@dataclass(frozen=True, slots=True)
class Heard:
    text: str
    choice: str | None = None
    intents: tuple[Intent, ...] = ()
    services: tuple[str, ...] = ()
    when: When | None = None
    language: str | None = None
    asked_language: str | None = None
    appointment: int | None = None
    unreadable: bool = False
    practitioner: str | None = None  # a practitioner's key: "with Mia", or the one on a tapped time
    named_with: bool = False  # the name came after "with" / "hos"
    anyone: bool = False  # "whoever is free"
    same_as_last: bool = False  # "the same as last time"
    unread_day: bool = False  # a time, and words that meant a day the grammar could not read
    late: Late | None = None  # "I'm running 10 minutes late"
    clipped: bool = False  # a very long message: only its start and its end were read

    def says(self, *intents: Intent) -> bool:
        return any(i in self.intents for i in intents)

    @property
    def slot(self) -> datetime | None:
        """The start the client tapped, as an aware datetime ("slot:<start>" or "slot:<start>@<who>")."""
        if self.choice and self.choice.startswith(SLOT):
            try:
                moment = datetime.fromisoformat(self.choice.removeprefix(SLOT).split(WITH, 1)[0])
            except ValueError:
                return None
            return moment if moment.tzinfo is not None else None
        return None

    @property
    def change(self) -> str | None:
        if self.choice and self.choice.startswith(CHANGE):
            return self.choice.removeprefix(CHANGE)
        return None


def understand(turn: Turn, business: BusinessProfile, now: datetime) -> Heard:
    """`now` is in the business's time zone; days and times are read there."""
    if turn.type in UNREADABLE or (turn.type == MessageType.MEDIA and not (turn.text or "").strip()):
        return Heard(text="", unreadable=True)  # a sticker or a photo without words: we cannot read it
    if turn.choice_id:
        return _tapped(turn.choice_id, turn.text or "")
    text = (turn.text or "").strip()
    if not text:
        return Heard(text="")
    if len(text) <= READ_LIMIT:
        return _read(text, business, now)
    # What a client wants is said at the start or at the end: each is read on its own (the end first, as
    # the request usually closes the letter), the middle is left, and the client is told so (engine).
    head = _read(text[:READ_PART].rsplit(None, 1)[0], business, now)
    tail = _read(text[-READ_PART:].split(None, 1)[-1], business, now)
    return Heard(
        text=f"{head.text}\n…\n{tail.text}",
        intents=tuple(dict.fromkeys((*tail.intents, *head.intents))),
        services=tuple(dict.fromkeys((*tail.services, *head.services))),
        when=tail.when or head.when,
        unread_day=tail.unread_day if tail.when else head.unread_day,
        late=tail.late or head.late,
        clipped=True,
        language=tail.language or head.language,
        asked_language=tail.asked_language or head.asked_language,
        practitioner=tail.practitioner or head.practitioner,
        named_with=tail.named_with or head.named_with,
        anyone=tail.anyone or head.anyone,
        same_as_last=tail.same_as_last or head.same_as_last,
    )


def _read(text: str, business: BusinessProfile, now: datetime) -> Heard:
    candidates = [
        ServiceCandidate(s.key, s.name, tuple(name for _, name in s.names if name != s.name))
        for s in business.offered
    ]
    asked = read_practitioner(text, [(p.key, p.name) for p in business.practitioners])
    dated = spelled_out(mended(text))  # "wensday" is Wednesday, "3 15 pm" is 15:15
    when = read_when(dated, business.locale, now)
    if when is None or (when.day is None and when.at is None):
        soon = from_now(text, now)  # "in 30 minutes"
        if soon is not None:
            when = When(day=soon.date(), at=soon.time(), part=None)
    if counts_from_a_day(dated):  # "two weeks from tomorrow": counted, or asked for; never one of the two
        counted = _counted_day(dated, business.locale, now)
        if when is None and counted is not None:
            when = When(day=counted)
        elif when is not None:
            when = replace(when, day=counted)
    if when is not None and when.day is not None:
        when = replace(when, day=_just_passed(when.day, now.date(), text))
    return Heard(
        text=text,
        intents=tuple(read_intents(text)),
        services=tuple(match_services(text, candidates)),
        when=when,
        unread_day=when is not None and when.day is None and when.at is not None and names_a_day(dated),
        late=read_late(text),
        language=detect_language(text, ("en", "da")),
        asked_language=asked_language(text),
        practitioner=asked.practitioner,
        named_with=asked.named_with,
        anyone=asked.anyone,
        same_as_last=asked.same_as_last,
    )


_YEAR = re.compile(r"\b20\d\d\b")
JUST_PASSED = 31  # days: a date without a year this recently past is that date, not next year's


def _just_passed(day: date, today: date, text: str) -> date:
    """ "24/11" said on 25 November means yesterday (and the bot says it has passed), not next year."""
    if (day - today).days < 300 or _YEAR.search(text):
        return day
    try:
        last_year = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day
    return last_year if 0 < (today - last_year).days <= JUST_PASSED else day


def _counted_day(text: str, locale: str, now: datetime) -> date | None:
    """The day "two weeks from tomorrow" means, or None (then the flow asks) when the day counted from
    cannot be read on its own."""
    counted = counted_from(text)
    if counted is None:
        return None
    days, base = counted
    read = read_when(base, locale, now)
    return read.day + timedelta(days=days) if read is not None and read.day is not None else None


def _tapped(choice: str, title: str) -> Heard:
    if choice in TAPS:
        return Heard(text=title, choice=choice, intents=(TAPS[choice],))
    if choice.startswith(SLOT) and WITH in choice:
        return Heard(text=title, choice=choice, practitioner=choice.rsplit(WITH, 1)[1] or None)
    if choice.startswith(DAY):
        try:
            return Heard(
                text=title, choice=choice, when=When(day=date.fromisoformat(choice.removeprefix(DAY)))
            )
        except ValueError:
            return Heard(text=title, choice=choice)
    if choice.startswith(SERVICE):
        return Heard(text=title, choice=choice, services=(choice.removeprefix(SERVICE),))
    if choice.startswith(APPOINTMENT):
        return Heard(text=title, choice=choice, appointment=_number(choice.removeprefix(APPOINTMENT)))
    if choice.startswith(LANGUAGE):
        return Heard(text=title, choice=choice, asked_language=choice.removeprefix(LANGUAGE))
    for prefix, intent in ACTING_ON.items():
        if choice.startswith(prefix):
            return Heard(
                text=title, choice=choice, intents=(intent,), appointment=_number(choice[len(prefix) :])
            )
    return Heard(text=title, choice=choice)


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 18 else None
