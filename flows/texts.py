"""Reply texts from Jinja2 templates per locale; business-authored texts render in a sandbox.

Our templates are pure functions of their context, and most replies repeat word for word across clients
(the menu, "options", a label per service), so rendered texts are kept in a cache keyed on the context; a
context with anything unhashable renders every time. Some texts hold a client's name or booking, so the
cache is bounded in time as well as size: it is emptied every SAID_LIFE seconds.
"""

from __future__ import annotations

import dataclasses
import time as clock
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LOCALES = ("en", "da")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES / "replies"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # the templates ship with the release: no stat() of the file on every reply
    )


@lru_cache(maxsize=1)
def _sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False)


def say(locale: str, name: str, /, **context: Any) -> str:
    """The text of reply `name` in `locale` (falling back to English for a locale we do not have)."""
    locale = locale if locale in LOCALES else "en"
    try:
        key = (locale, name, _frozen(context))
    except _Unhashable:
        return _render(locale, name, context)
    return _said(key, context)


_SAID: dict[tuple[Any, ...], str] = {}
SAID_MAX = 4096  # distinct rendered texts kept; a few hundred per business in practice
SAID_LIFE = 300.0  # seconds a rendered text (perhaps with a client's name in it) is kept at most
_monotonic = clock.monotonic  # tests set it
_emptied = [0.0]


def _said(key: tuple[Any, ...], context: dict[str, Any]) -> str:
    now = _monotonic()
    if now - _emptied[0] >= SAID_LIFE:
        _SAID.clear()
        _emptied[0] = now
    text = _SAID.pop(key, None)  # taken out and put back last: the least recently used go first
    if text is None:
        text = _render(key[0], key[1], context)
        if len(_SAID) >= SAID_MAX:
            _SAID.pop(next(iter(_SAID)))
    _SAID[key] = text
    return text


def _render(locale: str, name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(f"{locale}/{name}.j2").render(**context).strip()


class _Unhashable(Exception):
    pass


_PLAIN = (str, int, bool, type(None), date, timedelta)  # floats, datetimes and times: see _frozen


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a template context that tells apart every context that renders apart."""
    if isinstance(value, (datetime, time)):
        # the same instant in two zones, or the repeated hour of a DST change, prints apart
        return (type(value), value, value.tzinfo, value.fold)
    if isinstance(value, float):
        return (float, repr(value))  # -0.0 == 0.0
    if isinstance(value, _PLAIN):
        return (type(value), value)  # 1 and True are equal keys but render differently
    if isinstance(value, dict):
        return (dict, tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_frozen(v) for v in value))
    names = _FROZEN_FIELDS.get(type(value)) or _frozen_fields(type(value))
    if names is not None:
        return (type(value), tuple(_frozen(getattr(value, name)) for name in names))
    raise _Unhashable


_FROZEN_FIELDS: dict[type, tuple[str, ...]] = {}


def _frozen_fields(kind: type) -> tuple[str, ...] | None:
    """The fields of a frozen dataclass (init-only ones left out), looked up once per class."""
    if not (dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen):  # type: ignore[attr-defined]
        return None
    names = _FROZEN_FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


@lru_cache(maxsize=256)
def _business_template(source: str) -> Any:
    return _sandbox().from_string(source)


def say_business(source: str, **context: Any) -> str | None:
    """A text the business wrote; None when it does not render, so a typo never silences the bot."""
    try:
        return _business_template(source).render(**context).strip() or None
    except (TemplateError, TypeError, ValueError):
        return None
