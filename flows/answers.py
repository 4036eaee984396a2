"""Answers from the business's own data, in the client's language: its opening hours and its prices."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flows import formatting
from flows.context import BusinessProfile
from flows.texts import say


def _clock(moment: time | None, locale: str) -> str:
    """An opening range's end may be midnight (None): 24:00."""
    if moment is None:
        return "24.00" if locale == "da" else "24:00"
    return formatting.clock(datetime.combine(date.min, moment), locale)


def opening_hours(business: BusinessProfile, locale: str) -> list[dict[str, Any]]:
    """Days with the same hours run together: [{"days": "Monday–Friday", "hours": ["08:00–12:00", ...]}]."""
    names = formatting.WEEKDAYS["da" if locale == "da" else "en"]
    hours = business.rules.hours if business.rules else {}
    groups: list[tuple[int, int, tuple[Any, ...]]] = []
    for day in range(7):
        ranges = tuple(hours.get(day, ()))
        if groups and groups[-1][2] == ranges and groups[-1][1] == day - 1:
            groups[-1] = (groups[-1][0], day, ranges)
        else:
            groups.append((day, day, ranges))
    said = []
    for first, last, ranges in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        said.append({"days": days, "hours": [f"{_clock(a, locale)}–{_clock(b, locale)}" for a, b in ranges]})
    return said


# Holidays this close are said with the opening hours.
HOLIDAYS_AHEAD = timedelta(days=60)


def closures(business: BusinessProfile, locale: str, today: date) -> list[str]:
    """Coming holidays as a client reads them: "24–26 December (Christmas)", soonest first."""
    said = []
    for holiday in business.holidays:
        if holiday.last < today or holiday.first > today + HOLIDAYS_AHEAD:
            continue
        text = formatting.day_span(holiday.first, holiday.last, locale)
        said.append(f"{text} ({holiday.name})" if holiday.name else text)
    return said


def hours_answer(business: BusinessProfile, locale: str, today: date | None = None) -> str:
    groups = opening_hours(business, locale)
    return say(
        locale,
        "hours",
        business_name=business.name,
        open_days=[g for g in groups if g["hours"]],
        closed=[g["days"] for g in groups if not g["hours"]],
        holidays=closures(business, locale, today) if today else [],
    )


def hours_lines(business: BusinessProfile, locale: str) -> str:
    """The opening hours as lines, for a business's own texts ({{ opening_hours }})."""
    closed = "lukket" if locale == "da" else "closed"
    return "\n".join(
        f"{g['days']}: {', '.join(g['hours']) or closed}" for g in opening_hours(business, locale)
    )


def prices_answer(business: BusinessProfile, locale: str, asked: tuple[str, ...] = ()) -> str:
    priced = [s for s in business.offered if s.price is not None]
    chosen = [s for s in priced if s.key in asked] or priced
    rows = [
        {
            "name": s.name_in(locale),
            "minutes": s.duration_minutes,
            "price": f"{s.price:,.0f}".replace(",", "." if locale == "da" else ",")
            if s.price == int(s.price)
            else f"{s.price:.2f}",
        }
        for s in chosen
    ]
    return say(locale, "prices", business_name=business.name, rows=rows, currency=business.currency)
