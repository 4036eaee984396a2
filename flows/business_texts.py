"""Texts that a business writes itself (greeting, away message, FAQ answers), as small Jinja2 templates.

A clinic owner is not a programmer and the text runs on our server for every client, so a text is checked
when it is saved: a typo, an unknown variable, a loop or a reach into Python's internals is refused then,
with a message the owner understands, rather than failing (or worse, working) when a client writes. The
checks allow a deliberately small language (documented variables, {% if %}, a few filters) because every
feature let in has to be shown to be unable to run long, grow the text without bound or escape the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from string import Template as Message
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, filters, meta, nodes, pass_eval_context
from jinja2.environment import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

VARIABLES: dict[str, tuple[str, str]] = {
    "business.name": ("The business's name", "Harbour Clinic"),
    "business.phone": ("The business's phone number (may be empty)", "+45 33 12 34 56"),
    "business.address": ("The business's address (may be empty)", "Havnegade 12, 1058 København K"),
    "client.first_name": ("The client's first name (empty when not known)", "Anna"),
    "client.name": ("The client's full name (empty when not known)", "Anna Berg"),
    "next_free_slot": (
        "The next free time that can be booked (empty when nothing is free)",
        "tomorrow, Friday 5 December at 09:00",
    ),
    "opening_hours": (
        "The opening hours, one line per group of days",
        "Monday–Friday: 08:00–16:00\nSaturday: 10:00–13:00\nSunday: closed",
    ),
}
TOP_LEVEL = frozenset(name.split(".")[0] for name in VARIABLES)
# The parts of the top-level names: `business` and `client` are only read through one of their fields.
_FIELDS: dict[str, tuple[str, ...]] = {
    top: tuple(name.split(".")[1] for name in VARIABLES if name.startswith(top + "."))
    for top in TOP_LEVEL
    if any(name.startswith(top + ".") for name in VARIABLES)
}

SOURCE_LIMIT = 4000  # characters of template
OUTPUT_LIMIT = 1000  # characters of text rendered with the sample values
_FILTER_LIMIT = 20_000  # characters a replace or join may produce: chained, they would grow exponentially

FILTERS = frozenset((
    "upper", "lower", "capitalize", "title", "trim", "default", "d", "replace", "truncate", "length", "first",
    "last", "join", "round", "int", "string",
))  # fmt: skip
TESTS = frozenset((
    "defined", "undefined", "none", "number", "string", "boolean", "integer", "float", "true", "false",
    "lower", "upper", "even", "odd", "divisibleby", "eq", "ne", "lt", "le", "gt", "ge", "equalto",
    "greaterthan", "lessthan", "in", "sameas", "==", "!=", "<", ">", "<=", ">=",
))  # fmt: skip
# Expressions and statements that cannot loop, call, reach outside or grow the text beyond its own size.
_SAFE_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.CondExpr, nodes.Const, nodes.Concat,
    nodes.Add, nodes.Sub, nodes.Div, nodes.FloorDiv, nodes.Neg, nodes.Pos, nodes.Not, nodes.And, nodes.Or,
    nodes.Compare, nodes.Operand, nodes.List, nodes.Tuple, nodes.Keyword,
)  # fmt: skip
_REPEATING = (nodes.Mul, nodes.Pow, nodes.Mod)  # "x" * 100000, 10 ** 9, "%999999999s" % x

_MESSAGES: dict[str, dict[str, Message]] = {
    "en": {
        "line": Message("line $line: "),
        "syntax": Message("the text has a broken {{ … }} or {% … %}: $detail"),
        "forbidden": Message("loops and function calls are not allowed; use variables and {% if %}"),
        "operator": Message("*, ** and % are not allowed in a text"),
        "unknown": Message('"$detail" is not a variable you can use (you can use: $names)'),
        "nested": Message("the text has too many ( … ) or {% if %} inside each other"),
        "source_long": Message("the text is too long: at most 4,000 characters"),
        "output_long": Message("the text gets too long with real values: at most 1,000 characters"),
        "failed": Message("the text cannot be filled in: $detail"),
    },
    "da": {
        "line": Message("linje $line: "),
        "syntax": Message("teksten har en ødelagt {{ … }} eller {% … %}: $detail"),
        "forbidden": Message("løkker og funktionskald er ikke tilladt; brug variabler og {% if %}"),
        "operator": Message("*, ** og % er ikke tilladt i en tekst"),
        "unknown": Message('"$detail" er ikke en variabel, du kan bruge (du kan bruge: $names)'),
        "nested": Message("teksten har for mange ( … ) eller {% if %} inde i hinanden"),
        "source_long": Message("teksten er for lang: højst 4.000 tegn"),
        "output_long": Message("teksten bliver for lang med rigtige værdier: højst 1.000 tegn"),
        "failed": Message("teksten kan ikke udfyldes: $detail"),
    },
}

# A problem, independent of the owner's language: (kind, line or None, detail).
_Problem = tuple[str, int | None, str]


class _TooLong(Exception):
    """A filter would produce more text than any reply needs."""


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    hits = text.count(old)  # "abc".count("") == 4: an empty `old` inserts `new` between every character
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > _FILTER_LIMIT:
        raise _TooLong
    return filters.do_replace(eval_ctx, text, old, new, count)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: Any = "") -> str:
    items = [str(item) for item in value]
    if sum(map(len, items)) + len(str(d)) * max(len(items) - 1, 0) > _FILTER_LIMIT:
        raise _TooLong
    return filters.do_join(eval_ctx, items, str(d))


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.globals.clear()  # range, lipsum, cycler, joiner, namespace, dict
    env.filters = {name: env.filters[name] for name in FILTERS} | {"replace": _replace, "join": _join}
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


def _sample(empty: bool) -> dict[str, Any]:
    values = {name: "" if empty else sample for name, (_, sample) in VARIABLES.items()}
    return _context(
        {top: {field: values[f"{top}.{field}"] for field in fields} for top, fields in _FIELDS.items()}
        | {name: values[name] for name in VARIABLES if "." not in name}
    )


def _context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Only the documented variables, as text; anything missing or None is an empty text."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    def field(value: Any, name: str) -> Any:
        return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)

    out: dict[str, Any] = {}
    for top in TOP_LEVEL:
        value = context.get(top)
        if top in _FIELDS:
            out[top] = {name: text(field(value, name)) for name in _FIELDS[top]}
        else:
            out[top] = text(value)
    return out


def _tidy(text: str) -> str:
    """A variable that rendered empty leaves no "Hi , welcome" nor double spaces; line breaks stay."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t]+([,.!?;:])", r"\1", line)
        lines.append(re.sub(r"[ \t]{2,}", " ", line).rstrip())
    return "\n".join(lines).strip()


def _spelled(node: nodes.Node) -> str:
    """An expression as the owner wrote it, near enough to recognise: client.frist_name, ''.__class__."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_spelled(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        key = repr(node.arg.value) if isinstance(node.arg, nodes.Const) else "…"
        return f"{_spelled(node.node)}[{key}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.List):
        return "[…]" if node.items else "[]"
    return "…"


def _variable(node: nodes.Node) -> str | None:
    """The documented name an expression reads (client["first_name"] is client.first_name), or None."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        name = node.name
    elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        name = f"{node.node.name}.{node.attr}"
    elif (
        isinstance(node, nodes.Getitem)
        and isinstance(node.node, nodes.Name)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        name = f"{node.node.name}.{node.arg.value}"
    else:
        return None
    return name if name in VARIABLES else None


def _walk(node: nodes.Node) -> _Problem | None:
    """The first construct, in reading order, outside the small language business texts may use."""
    line = getattr(node, "lineno", None)
    if isinstance(node, _REPEATING):
        return ("operator", line, "")
    if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
        return None if _variable(node) else ("unknown", line, _spelled(node))
    if isinstance(node, (nodes.Filter, nodes.Test)):
        allowed = FILTERS if isinstance(node, nodes.Filter) else TESTS
        if (
            node.name not in allowed
            or node.dyn_args is not None
            or node.dyn_kwargs is not None
            or any(keyword.key == "attribute" for keyword in node.kwargs)
        ):
            return ("forbidden", line, "")
    elif not isinstance(node, _SAFE_NODES):  # For, Macro, CallBlock, FilterBlock, Include, Call, Assign, …
        return ("forbidden", line, "")
    for child in node.iter_child_nodes():
        problem = _walk(child)
        if problem:
            return problem
    return None


def _template_line(error: BaseException) -> int | None:
    """Jinja rewrites a render error's traceback to point into the template: the last such frame's line."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _detail(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error or type(error).__name__).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


@lru_cache(maxsize=512)
def _parsed(source: str) -> nodes.Template | _Problem:
    try:
        return _environment().parse(source)
    except TemplateSyntaxError as error:
        return ("syntax", error.lineno, _detail(error))
    except Exception:  # RecursionError from deep nesting
        return ("nested", None, "")


@lru_cache(maxsize=512)
def _static_problem(source: str) -> _Problem | None:
    """What is wrong with a text before it is run, if anything."""
    if len(source) > SOURCE_LIMIT:
        return ("source_long", None, "")
    parsed = _parsed(source)
    if isinstance(parsed, tuple):
        return parsed
    try:
        return _walk(parsed)
    except RecursionError:
        return ("nested", None, "")


@lru_cache(maxsize=512)
def _template(source: str) -> Template | None:
    """The compiled text, for one that passes the static checks."""
    parsed = _parsed(source)
    if _static_problem(source) or isinstance(parsed, tuple):
        return None
    try:
        return _environment().from_string(parsed)
    except Exception:
        return None


@lru_cache(maxsize=512)
def _problem(source: str) -> _Problem | None:
    problem = _static_problem(source)
    if problem:
        return problem
    template = _template(source)
    if template is None:  # it parsed but does not compile: nesting too deep for the compiler
        return ("nested", None, "")
    # With the sample values, and with every variable empty, as each may be for a real client.
    for empty in (False, True):
        try:
            text = _tidy(template.render(_sample(empty)))
        except _TooLong:
            return ("output_long", None, "")
        except Exception as error:  # SecurityError, UndefinedError, TypeError, ZeroDivisionError, …
            return ("failed", _template_line(error), _detail(error))
        if len(text) > OUTPUT_LIMIT:
            return ("output_long", None, "")
    return None


def check(source: str, *, locale: str = "en") -> str | None:
    """None when the text can be saved, else one message for its owner, in `locale` ("en" or "da")."""
    problem = _problem(source)
    if problem is None:
        return None
    kind, line, detail = problem
    messages = _MESSAGES.get(locale, _MESSAGES["en"])
    text = messages[kind].substitute(detail=detail, names=", ".join(VARIABLES))
    return (messages["line"].substitute(line=line) if line else "") + text


def render(source: str, context: dict[str, Any]) -> str | None:
    """The text filled in with real values and tidied, or None when it is empty or cannot be filled in.

    Never raises: a text saved before these checks existed may be broken or unsafe; it is then not sent.
    """
    try:
        template = _template(source)
        if template is None:
            return None
        return _tidy(template.render(_context(context))) or None
    except Exception:
        return None


@lru_cache(maxsize=512)
def uses(source: str) -> frozenset[str]:
    """The top-level variables a text reads, so that costly ones (next_free_slot) are found only if used."""
    parsed = _parsed(source)
    if isinstance(parsed, tuple):
        return frozenset()
    return frozenset(meta.find_undeclared_variables(parsed) & TOP_LEVEL)
