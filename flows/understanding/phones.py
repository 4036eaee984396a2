"""A phone number in a client's message, as E.164 ("+4512345678"), or None.

Clients write numbers every way: "+45 12 34 56 78", "0045 12345678", "12 34 56 78", "(555) 010-0000".
A number without a country code gets the business's (Danish numbers have 8 digits); anything that is not
plausibly one phone number (too short, too long, two numbers, a date) gives None rather than a guess.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"(?<![\w+])(\+|00)?(\d[\d \-().]{5,20}\d)(?!\w)")
_SEPARATORS = re.compile(r"[ \-().]")
# Countries whose numbers we complete when the client leaves out the code: code and national length.
NATIONAL = {"45": 8}


def read_phone(text: str, country_code: str | None = "45") -> str | None:
    found = [m for m in _CANDIDATE.finditer(text or "") if _digits(m.group(2)) >= 8]
    if len(found) != 1:
        return None
    match = found[0]
    digits = _SEPARATORS.sub("", match.group(2))
    if not digits.isdigit():
        return None
    if match.group(1):  # "+45..." or "0045...": the code is in the number
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if country_code and len(digits) == NATIONAL.get(country_code, -1):
        return f"+{country_code}{digits}"
    return f"+{digits}" if 10 <= len(digits) <= 15 else None


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


# The country code a business's clients most likely mean when they leave it out, by its time zone.
ZONE_CODES = {"Europe/Copenhagen": "45"}


def country_code_for(zone_name: str) -> str | None:
    return ZONE_CODES.get(zone_name)
