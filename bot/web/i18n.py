"""The staff app in English and Danish: English strings are the keys, `templates/web/da.json` holds the
Danish. Each staff member picks their language; a string without a translation shows in English."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.texts import TEMPLATES

WEB_TEMPLATES = TEMPLATES / "web"
LANGUAGES = {"en": "English", "da": "Dansk"}


@lru_cache(maxsize=4)
def _table(locale: str) -> dict[str, str]:
    """`<locale>.json`, and one file per part of the app in `<locale>/` (settings.json, playground.json)."""
    if locale == "en":
        return {}
    paths: list[Path] = [WEB_TEMPLATES / f"{locale}.json", *sorted((WEB_TEMPLATES / locale).glob("*.json"))]
    table: dict[str, str] = {}
    for path in paths:
        if path.exists():
            table.update(json.loads(path.read_text(encoding="utf-8")))
    return table


def translate(locale: str, text: str, /, **values: Any) -> str:
    said = _table(locale).get(text, text)
    return said.format(**values) if values else said


def translator(locale: str) -> Any:
    def t(text: str, /, **values: Any) -> str:
        return translate(locale, text, **values)

    return t
