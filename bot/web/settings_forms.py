"""The settings pages' forms, read into the business's settings document (bot/business_settings.py).

A form changes only its own part of the document and keeps what was typed as typed: the whole document is
then validated by the config's own rules, so a page refuses exactly what `jola check-config` refuses, at
the same key, and the page can show the typed values back beside the problem. Problems found here (before
validation) use the same "key: message" shape.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from datetime import date
from typing import Any

from multidict import MultiDictProxy

from bot.config import CHANNEL_KINDS, WEEKDAYS

SECTIONS = ("general", "hours", "services", "people", "booking", "replies")
Form = MultiDictProxy[Any]


class FormProblems(Exception):
    """What is wrong with the form before the document is even built: ["key: message", ...]."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def text(form: Form, name: str, limit: int = 4000) -> str:
    value = form.get(name, "")
    return value.replace("\r\n", "\n").strip()[:limit] if isinstance(value, str) else ""


def texts(form: Form, name: str) -> list[str]:
    return [v.strip() for v in form.getall(name, []) if isinstance(v, str)]


def _number(raw: str) -> Any:
    """Digits become a number; anything else stays as typed, for validation to name."""
    cleaned = raw.strip().replace(",", ".") if raw else raw
    if re.fullmatch(r"\d+", cleaned or ""):
        return int(cleaned)
    if re.fullmatch(r"\d+\.\d+", cleaned or ""):
        return float(cleaned)
    return raw


def ranges(raw: str) -> list[str]:
    """ "8-12, 13:00–17" → ["08:00-12:00", "13:00-17:00"]; what cannot be read is kept for validation."""
    found = []
    for part in re.split(r"[,;\n]+", raw.replace("–", "-").replace("—", "-")):
        part = "".join(part.split())
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?-(\d{1,2})(?:[:.](\d{2}))?", part)
        if match:
            a, b, c, d = match.groups()
            part = f"{int(a):02d}:{b or '00'}-{int(c):02d}:{d or '00'}"
        found.append(part)
    return found


def slug(name: str, taken: set[str]) -> str:
    """An id for a new service, practitioner or room, from its name: "Første besøg" → "forste-besog"."""
    plain = unicodedata.normalize("NFKD", name.replace("ø", "o").replace("æ", "ae").replace("å", "aa"))
    base = (
        re.sub(r"[^a-z0-9]+", "-", plain.encode("ascii", "ignore").decode().lower()).strip("-")[:56] or "item"
    )
    found, n = base, 2
    while found in taken:
        found, n = f"{base}-{n}", n + 1
    return found


def channels(form: Form, name: str) -> list[str]:
    chosen = set(texts(form, name))
    return [kind for kind in CHANNEL_KINDS if kind in chosen]


def _index(form: Form, name: str, size: int) -> int | None:
    raw = form.get(name)
    if isinstance(raw, str) and raw.isdigit() and int(raw) < size:
        return int(raw)
    return None


# ------------------------------------------------------------------------------------------ sections


def general(document: dict[str, Any], form: Form, today: date) -> None:
    for key, limit in (("name", 200), ("timezone", 64), ("locale", 8), ("currency", 8), ("phone", 40)):
        document[key] = text(form, key, limit)
    document["address"] = text(form, "address", 300)
    document["currency"] = document["currency"].upper()


def hours(document: dict[str, Any], form: Form, today: date) -> None:
    document["hours"] = {day: ranges(text(form, f"hours_{day}", 200)) for day in WEEKDAYS}
    document["hours"] = {day: found for day, found in document["hours"].items() if found}
    kept = []
    removed = set(texts(form, "holiday_remove"))
    for i, holiday in enumerate(document.get("holidays") or []):
        if str(i) in removed:
            continue
        if date.fromisoformat(str(holiday.get("end") or holiday["start"])) < today:
            continue  # past closures do nothing any more
        kept.append(holiday)
    start, end, name = text(form, "new_start", 10), text(form, "new_end", 10), text(form, "new_name", 100)
    if start or end or name:
        problems = _new_holiday(start, end, today)
        if problems:
            raise FormProblems(problems)
        kept.append({"start": start, "end": end or None, "name": name})
    document["holidays"] = sorted(kept, key=lambda h: str(h["start"]))


def _new_holiday(start: str, end: str, today: date) -> list[str]:
    where = "holidays[new]"
    try:
        first = date.fromisoformat(start)
    except ValueError:
        return [f"{where}.start: give the first closed date"]
    if end:
        try:
            last = date.fromisoformat(end)
        except ValueError:
            return [f"{where}.end: is not a date"]
    else:
        last = first
    if last < today:
        return [f"{where}.start: that date has passed"]
    return []


def services(document: dict[str, Any], form: Form, today: date) -> None:
    items: list[dict[str, Any]] = document.setdefault("services", [])
    action = text(form, "action", 20)
    locale = document.get("locale", "en")
    other = "da" if locale == "en" else "en"
    if action == "add":
        name = text(form, "name", 200)
        if not name:
            raise FormProblems(["services[new].name: give the service a name"])
        items.append(
            {
                "id": slug(name, {s["id"] for s in items}),
                "name": name,
                "names": {other: n} if (n := text(form, "name_other", 200)) else {},
                "duration_minutes": _number(text(form, "duration_minutes", 10)),
                "price": _number(p) if (p := text(form, "price", 20)) else None,
                "capacity": _number(text(form, "capacity", 10) or "1"),
                "active": True,
                "sessions": [_session(form, "new_session_")] if text(form, "new_session_time", 5) else [],
            }
        )
        return
    at = _index(form, "index", len(items))
    if at is None:
        raise FormProblems(["services: that service is no longer there; reload the page"])
    service = items[at]
    if action == "remove":
        key = items.pop(at)["id"]
        for group in ("practitioners", "rooms"):
            for item in document.get(group) or []:
                if isinstance(item.get("services"), list) and key in item["services"]:
                    item["services"] = [s for s in item["services"] if s != key]
        document["rooms"] = [r for r in document.get("rooms") or [] if r.get("services")]
        return
    if action in ("up", "down"):
        to = at - 1 if action == "up" else at + 1
        if 0 <= to < len(items):
            items[at], items[to] = items[to], items[at]
        return
    service["name"] = text(form, "name", 200)
    names = dict(service.get("names") or {})
    names.pop(other, None)
    if n := text(form, "name_other", 200):
        names[other] = n
    service["names"] = names
    service["duration_minutes"] = _number(text(form, "duration_minutes", 10))
    service["price"] = _number(p) if (p := text(form, "price", 20)) else None
    service["capacity"] = _number(text(form, "capacity", 10) or "1")
    service["active"] = form.get("active") == "on"
    sessions = []
    removed = set(texts(form, "session_remove"))
    for i, _ in enumerate(service.get("sessions") or []):
        if str(i) in removed:
            continue
        sessions.append(_session(form, f"session_{i}_"))
    if text(form, "new_session_time", 5):
        sessions.append(_session(form, "new_session_"))
    service["sessions"] = sessions


def _session(form: Form, prefix: str) -> dict[str, Any]:
    days = [d for d in WEEKDAYS if d in texts(form, prefix + "days")]
    on = text(form, prefix + "date", 10)
    return {
        "time": text(form, prefix + "time", 5),
        "days": days or None,
        "date": on or None,
        "practitioner": text(form, prefix + "practitioner", 64) or None,
        "room": text(form, prefix + "room", 64) or None,
    }


def people(document: dict[str, Any], form: Form, today: date) -> None:
    group = "rooms" if text(form, "group", 20) == "rooms" else "practitioners"
    items: list[dict[str, Any]] = document.setdefault(group, [])
    every = [s["id"] for s in document.get("services") or []]
    action = text(form, "action", 20)
    if action == "add":
        name = text(form, "name", 200)
        if not name:
            raise FormProblems([f"{group}[new].name: give a name"])
        chosen = [s for s in every if s in texts(form, "services")]
        item: dict[str, Any] = {"id": slug(name, {i["id"] for i in items}), "name": name}
        if group == "rooms":
            item["services"] = chosen
        else:
            item["services"] = None if not chosen or set(chosen) == set(every) else chosen
            item["hours"] = None
        items.append(item)
        return
    at = _index(form, "index", len(items))
    if at is None:
        raise FormProblems([f"{group}: that one is no longer there; reload the page"])
    if action == "remove":
        key = items.pop(at)["id"]
        if group == "practitioners":
            for service in document.get("services") or []:
                for session in service.get("sessions") or []:
                    if session.get("practitioner") == key:
                        session["practitioner"] = None
        else:
            for service in document.get("services") or []:
                for session in service.get("sessions") or []:
                    if session.get("room") == key:
                        session["room"] = None
        return
    item = items[at]
    item["name"] = text(form, "name", 200)
    chosen = [s for s in every if s in texts(form, "services")]
    if group == "rooms":
        item["services"] = chosen
        return
    item["services"] = None if set(chosen) == set(every) else chosen
    own = {day: ranges(text(form, f"hours_{day}", 200)) for day in WEEKDAYS}
    item["hours"] = {day: r for day, r in own.items() if r} if form.get("own_hours") == "on" else None


def booking(document: dict[str, Any], form: Form, today: date) -> None:
    rules = document.setdefault("booking", {})
    for key in ("slot_step_minutes", "buffer_minutes"):
        rules[key] = _number(text(form, key, 10))
    for key in ("min_notice", "max_ahead"):
        rules[key] = "".join(text(form, key, 20).split())
    rules["ask_phone"] = form.get("ask_phone") == "on"
    reminders = document.setdefault("reminders", {})
    reminders["lead_times"] = [
        "".join(p.split()) for p in re.split(r"[,;]", text(form, "lead_times", 200)) if p.strip()
    ]
    quiet = text(form, "quiet_hours", 200)
    reminders["quiet_hours"] = ranges(quiet) if quiet else []
    names = {"whatsapp_template": "", "template_language": "en"}
    names |= {"messenger_template": "", "messenger_template_language": "en_US"}
    for key, default in names.items():
        if key in form:  # a form from before these fields were on the page leaves them as they are
            reminders[key] = text(form, key, 512) or default
    for key in ("messages", "inbound_events"):  # retention (bot/retention.py); empty keeps everything
        if f"retention_{key}" in form:
            kept = "".join(text(form, f"retention_{key}", 20).split())
            document.setdefault("retention", {})[key] = kept or "off"


def replies(document: dict[str, Any], form: Form, today: date) -> None:
    action = text(form, "action", 20)
    answers: list[dict[str, Any]] = document.setdefault("faq", [])
    section = document.setdefault("replies", {})
    if action == "texts":
        for kind in ("greeting", "away"):
            section[kind] = text(form, kind) or None
            section[f"{kind}_channels"] = channels(form, f"{kind}_channels")
        return
    if action == "add":
        answers.insert(
            _insert_at(answers),
            {
                "keywords": keywords(text(form, "keywords", 2000)),
                "answer": text(form, "answer"),
                "channels": channels(form, "channels") or list(CHANNEL_KINDS),
                "offer_booking": form.get("offer_booking") == "on",
                "builtin": None,
            },
        )
        return
    at = _index(form, "index", len(answers))
    if at is None:
        raise FormProblems(["faq: that answer is no longer there; reload the page"])
    entry = answers[at]
    if action in ("up", "down"):
        to = at - 1 if action == "up" else at + 1
        if 0 <= to < len(answers):
            answers[at], answers[to] = answers[to], answers[at]
        return
    if action == "remove":
        if entry.get("builtin"):
            raise FormProblems(
                [f"faq[{at}]: a built-in answer cannot be removed; turn its channels off instead"]
            )
        answers.pop(at)
        return
    entry["channels"] = channels(form, "channels")
    entry["offer_booking"] = form.get("offer_booking") == "on"
    if not entry.get("builtin"):
        entry["keywords"] = keywords(text(form, "keywords", 2000))
        entry["answer"] = text(form, "answer")


def _insert_at(answers: list[dict[str, Any]]) -> int:
    """A new answer goes after the business's own and before the first built-in one below them all."""
    position = len(answers)
    while position > 0 and answers[position - 1].get("builtin"):
        position -= 1
    return position


def keywords(raw: str) -> list[str]:
    return [" ".join(part.split()) for part in re.split(r"[,;\n]+", raw) if part.strip()]


READERS = {
    "general": general,
    "hours": hours,
    "services": services,
    "people": people,
    "booking": booking,
    "replies": replies,
}


def changed(document: dict[str, Any], section: str, form: Form, today: date) -> dict[str, Any]:
    """A copy of `document` with the section's form applied (FormProblems when the form is unusable)."""
    result = copy.deepcopy(document)
    READERS[section](result, form, today)
    return result
