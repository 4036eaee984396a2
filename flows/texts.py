"""Reply texts from Jinja2 templates per locale; business-authored texts render in a sandbox."""

from __future__ import annotations

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
    return _environment().get_template(f"{locale}/{name}.j2").render(**context).strip()


@lru_cache(maxsize=256)
def _business_template(source: str) -> Any:
    return _sandbox().from_string(source)


def say_business(source: str, **context: Any) -> str | None:
    """A text the business wrote; None when it does not render, so a typo never silences the bot."""
    try:
        return _business_template(source).render(**context).strip() or None
    except (TemplateError, TypeError, ValueError):
        return None
