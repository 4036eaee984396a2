"""Days and times as clients read them, in English and Danish ("Thursday 26 November at 10:00",
"torsdag den 26. november kl. 10.00"). Two locales do not need CLDR; these tables are the whole of it."""

from __future__ import annotations

from datetime import date, datetime

WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
}
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "da": (
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ),
}
RELATIVE = {"en": ("today", "tomorrow"), "da": ("i dag", "i morgen")}


def _locale(locale: str) -> str:
    return locale if locale in WEEKDAYS else "en"


def clock(moment: datetime, locale: str) -> str:
    """10:00 in English, 10.00 in Danish."""
    sep = "." if _locale(locale) == "da" else ":"
    return f"{moment.hour:02d}{sep}{moment.minute:02d}"


def day(value: date, locale: str, today: date | None = None) -> str:
    """ "Thursday 26 November" / "torsdag den 26. november"; close ones also say "today"/"tomorrow" first
    ("tomorrow, Thursday 26 November"): a client who reads it the next morning is not misled."""
    locale = _locale(locale)
    if today is not None and 0 <= (value - today).days <= 1:
        return f"{RELATIVE[locale][(value - today).days]}, {_date(value, locale, today)}"
    return _date(value, locale, today)


def _date(value: date, locale: str, today: date | None) -> str:
    weekday, month = WEEKDAYS[locale][value.weekday()], MONTHS[locale][value.month - 1]
    year = "" if today is None or value.year == today.year else f" {value.year}"
    if locale == "da":
        return f"{weekday} den {value.day}. {month}{year}"
    return f"{weekday} {value.day} {month}{year}"


def day_month(value: date, locale: str) -> str:
    """ "24 December" / "24. december": a date without its weekday (holidays)."""
    locale = _locale(locale)
    month = MONTHS[locale][value.month - 1]
    return f"{value.day}. {month}" if locale == "da" else f"{value.day} {month}"


def day_span(first: date, last: date, locale: str) -> str:
    """ "24–26 December", "30 December–2 January" / "24.–26. december"; one day: "24 December"."""
    if first == last:
        return day_month(first, locale)
    if (first.year, first.month) == (last.year, last.month):
        dot = "." if _locale(locale) == "da" else ""
        return f"{first.day}{dot}–{day_month(last, locale)}"
    return f"{day_month(first, locale)}–{day_month(last, locale)}"


def moment(value: datetime, locale: str, today: date | None = None) -> str:
    """ "Thursday 26 November at 10:00" / "torsdag den 26. november kl. 10.00"; "tomorrow, Thursday 26
    November, at 10:00" / "i morgen, torsdag den 26. november, kl. 10.00" when close."""
    joiner = " kl. " if _locale(locale) == "da" else " at "
    named = day(value.date(), locale, today)
    close = today is not None and 0 <= (value.date() - today).days <= 1
    return f"{named},{joiner}{clock(value, locale)}" if close else f"{named}{joiner}{clock(value, locale)}"


def slot_title(value: datetime, locale: str, today: date | None = None) -> str:
    """Short enough for a WhatsApp list row (24 characters): "Thu 26 Nov 10:00", "tor 26. nov 10.00"."""
    locale = _locale(locale)
    if today is not None and 0 <= (value.date() - today).days <= 1:
        label = RELATIVE[locale][(value.date() - today).days]
        return f"{label[0].upper()}{label[1:]} {clock(value, locale)}"
    weekday, month = WEEKDAYS[locale][value.weekday()][:3], MONTHS[locale][value.month - 1][:3]
    if locale == "da":
        return f"{weekday} {value.day}. {month} {clock(value, locale)}"
    return f"{weekday} {value.day} {month} {clock(value, locale)}"


def day_title(value: date, locale: str, today: date | None = None) -> str:
    """A day as a list row: "Fri 14 May 2027", "fre 14. maj"; "Tomorrow" when close."""
    locale = _locale(locale)
    if today is not None and 0 <= (value - today).days <= 1:
        label = RELATIVE[locale][(value - today).days]
        return f"{label[0].upper()}{label[1:]}"
    weekday, month = WEEKDAYS[locale][value.weekday()][:3], MONTHS[locale][value.month - 1][:3]
    year = "" if today is None or value.year == today.year else f" {value.year}"
    if locale == "da":
        return f"{weekday} {value.day}. {month}{year}"
    return f"{weekday} {value.day} {month}{year}"
