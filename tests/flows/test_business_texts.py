"""Business-written texts: what an owner may write, what is refused when saved, how a text is filled in."""

from __future__ import annotations

from typing import Any

import pytest

from flows.business_texts import VARIABLES, check, render, uses

SAMPLE: dict[str, Any] = {
    "business": {key: VARIABLES[f"business.{key}"][1] for key in ("name", "phone", "address")},
    "client": {key: VARIABLES[f"client.{key}"][1] for key in ("first_name", "name")},
    "next_free_slot": VARIABLES["next_free_slot"][1],
    "opening_hours": VARIABLES["opening_hours"][1],
}
# A client we know nothing about, at a business with no phone, nothing free and no hours given.
UNKNOWN: dict[str, Any] = {"business": {"name": "Nordhavn Fysio"}, "client": {"first_name": None}}


def test_the_documented_variables() -> None:
    assert set(VARIABLES) == {
        "business.name", "business.phone", "business.address", "client.first_name", "client.name",
        "next_free_slot", "opening_hours",
    }  # fmt: skip
    assert VARIABLES["business.name"][1] == "Harbour Clinic"
    assert VARIABLES["client.first_name"][1] == "Anna"
    assert VARIABLES["client.name"][1] == "Anna Berg"
    assert all(description and isinstance(sample, str) for description, sample in VARIABLES.values())


GOOD = [
    # (text, with the sample values, for an unknown client at a business with little filled in)
    (
        "Hi {{ client.first_name }}, welcome to {{ business.name }}!",
        "Hi Anna, welcome to Harbour Clinic!",
        "Hi, welcome to Nordhavn Fysio!",
    ),
    (
        "{% if client.first_name %}Hi {{ client.first_name }}!{% else %}Hi there!{% endif %}",
        "Hi Anna!",
        "Hi there!",
    ),
    ('Hello {{ client.first_name or "there" }}.', "Hello Anna.", "Hello there."),
    ("Hello {{ client.first_name|default('there', true)|upper }}", "Hello ANNA", "Hello THERE"),
    (
        "{{ business.name|lower|title }} ~ {{ client['first_name'] }}",
        "Harbour Clinic ~ Anna",
        "Nordhavn Fysio ~",
    ),
    ('{{ "Dear " ~ client.name ~ "," }} thanks', "Dear Anna Berg, thanks", "Dear, thanks"),
    (
        "We are closed.\n{% if next_free_slot %}\nNext free time: {{ next_free_slot }}.\n{% endif %}\nBye",
        "We are closed.\nNext free time: tomorrow, Friday 5 December at 09:00.\nBye",
        "We are closed.\nBye",
    ),
    (
        "Opening hours:\n{{ opening_hours }}",
        "Opening hours:\nMonday–Friday: 08:00–16:00\nSaturday: 10:00–13:00\nSunday: closed",
        "Opening hours:",
    ),
    ("Call {{ business.phone }} .", "Call +45 33 12 34 56.", "Call."),
    (
        "{% if client.name|length > 3 and business.phone != '' %}long{% else %}short{% endif %}",
        "long",
        "short",
    ),
    ("{{ business.name|truncate(10, true, '…', 0) }}", "Harbour C…", "Nordhavn …"),
    ("{{ business.name|replace('Clinic', 'Klinik') }}", "Harbour Klinik", "Nordhavn Fysio"),
    (
        "{{ [business.name, business.address]|join(' – ') }}",
        "Harbour Clinic – Havnegade 12, 1058 København K",
        "Nordhavn Fysio –",
    ),
    ("{{ client.first_name|first if client.first_name else '?' }}", "A", "?"),
    ("{{ (2.5 + 1)|round|int }} {{ 7 // 2 }} {{ 'x' is string }}", "4 3 True", "4 3 True"),
    ("{# a note for us #}Thanks {{ client.first_name|trim|capitalize }}!", "Thanks Anna!", "Thanks!"),
]


@pytest.mark.parametrize(("source", "sample", "unknown"), GOOD)
def test_a_good_text_is_accepted_and_filled_in(source: str, sample: str, unknown: str) -> None:
    assert check(source) is None
    assert check(source, locale="da") is None
    assert render(source, SAMPLE) == sample
    assert render(source, UNKNOWN) == unknown


def test_filling_in_keeps_line_breaks_and_tidies_spaces() -> None:
    source = "Hi {{ client.first_name }} ,  welcome !\n\n  {{ client.name }}   see you {{ next_free_slot }}."
    assert render(source, {"client": {"first_name": "Bo", "name": ""}}) == "Hi Bo, welcome!\n\n see you."


def test_an_empty_text_is_fine_to_check_but_renders_nothing() -> None:
    assert check("") is None
    assert render("", SAMPLE) is None
    assert render("{{ client.first_name }}  ", UNKNOWN) is None


def test_missing_context_renders_empty_variables() -> None:
    assert render("Hi {{ client.first_name }}! {{ business.name }}", {}) == "Hi!"


def test_an_object_with_attributes_may_stand_in_for_a_dictionary() -> None:
    class Business:
        name = "Harbour Clinic"

    assert render("{{ business.name }}{{ business.phone }}", {"business": Business()}) == "Harbour Clinic"


LIST = "(you can use: business.name, business.phone, business.address, client.first_name, client.name,"
LOOPS = "loops and function calls are not allowed; use variables and {% if %}"

REFUSED = [
    # (text, words the message must hold)
    ("{{ client.first_name }", ["line 1:", "broken {{ … }} or {% … %}: unexpected '}'"]),
    ("Hi\n{% if %}x{% endif %}", ["line 2:", "broken {{ … }} or {% … %}"]),
    ("Hi\n{% if client.name %}x", ["line 2:", "broken", "endif"]),
    ("{{ client.frist_name }}", ['line 1: "client.frist_name" is not a variable you can use', LIST]),
    ("Hi\n\n{{ clinet.name }}", ['line 3: "clinet.name" is not a variable you can use']),
    ("{{ business.__class__ }}", ['"business.__class__" is not a variable']),
    ("{{ ''.__class__.__mro__ }}", ["\"''.__class__.__mro__\" is not a variable"]),
    ("{{ client['__init__'] }}", ["\"client['__init__']\" is not a variable"]),
    ("{{ cycler.__init__.__globals__ }}", ['"cycler.__init__.__globals__" is not a variable']),
    ("{{ self }}", ['"self" is not a variable']),
    ("{{ lipsum }}", ['"lipsum" is not a variable']),
    ("{{ config }}", ['"config" is not a variable']),
    ("{{ request }}", ['"request" is not a variable']),
    ("{{ namespace }}{{ range }}", ['"namespace" is not a variable']),
    ("{{ client }}", ['"client" is not a variable']),
    ("{{ business.name.upper }}", ['"business.name.upper" is not a variable']),
    ("{{ next_free_slot.__len__ }}", ['"next_free_slot.__len__" is not a variable']),
    ("{{ [].append }}", ['"[].append" is not a variable']),
    ("{{ business.name|truncate(5, end=business.__doc__) }}", ['"business.__doc__" is not a variable']),
    ("{{ business.name.__class__.__base__.__subclasses__() }}", ["line 1:", LOOPS]),
    ("{% for i in range(10**9) %}x{% endfor %}", ["line 1:", LOOPS]),
    ("x\n{% for c in business.name %}{{ c }}{% endfor %}", ["line 2:", LOOPS]),
    ("{{ range(10) }}", [LOOPS]),
    ("{{ business.name.upper() }}", [LOOPS]),
    ("{% macro m() %}x{% endmacro %}", [LOOPS]),
    ("{% call business.name() %}x{% endcall %}", [LOOPS]),
    ("{% filter upper %}x{% endfilter %}", [LOOPS]),
    ("{% include 'base.txt' %}", [LOOPS]),
    ("{% import 'macros.txt' as m %}", [LOOPS]),
    ("{% from 'macros.txt' import m %}", [LOOPS]),
    ("{% extends 'base.txt' %}", [LOOPS]),
    ("{% block body %}x{% endblock %}", [LOOPS]),
    ("{% set x = range(100000) %}", [LOOPS]),
    ("{% set x = business.__dict__ %}", ["line 1:", LOOPS]),
    ("{% set x %}y{% endset %}", [LOOPS]),
    ("{% with x = 1 %}{{ x }}{% endwith %}", [LOOPS]),
    ('{{ client.first_name|attr("__class__") }}', [LOOPS]),
    ('{{ business|map(attribute="__class__")|list }}', [LOOPS]),
    ('{{ [business]|join(",", attribute="__class__") }}', [LOOPS]),
    ("{{ business.name|format(1) }}", [LOOPS]),
    ("{{ business.name|center(100000) }}", [LOOPS]),
    ("{{ business.name|e }}", [LOOPS]),
    ("{{ business.name|upper(*[1]) }}", [LOOPS]),
    ("{{ business.name is callable }}", [LOOPS]),
    ('{{ "a" * 100000 }}', ["line 1: *, ** and % are not allowed in a text"]),
    ("{{ 2 ** 3 }}", ["*, ** and %"]),
    ("{{ '%999999999s' % 'x' }}", ["*, ** and %"]),
    ("x" * 4001, ["the text is too long: at most 4,000 characters"]),
    (
        "{{ opening_hours }}" + "x" * 1000,
        ["the text gets too long with real values: at most 1,000 characters"],
    ),
    (
        "{{ business.name" + '|replace("", "xxxxxxxxxx")' * 8 + " }}",
        ["the text gets too long with real values: at most 1,000 characters"],
    ),
    ("{{ business.name" + '|join("xxxxxxxxxx")' * 8 + " }}", ["the text gets too long"]),
    ("{{ " + "(" * 1500 + "1" + ")" * 1500 + " }}", ["too many ( … ) or {% if %} inside each other"]),
    ("a\nb\n{{ client.first_name|first }}", ["line 3: the text cannot be filled in:"]),
    ("{{ 1 / 0 }}", ["line 1: the text cannot be filled in: division by zero"]),
    ("{{ business.name - 1 }}", ["the text cannot be filled in"]),
]


@pytest.mark.parametrize(("source", "words"), REFUSED)
def test_a_broken_or_unsafe_text_is_refused_with_a_message(source: str, words: list[str]) -> None:
    message = check(source)
    assert message is not None
    for word in words:
        assert word in message
    assert "Traceback" not in message and "\n" not in message
    assert check(source, locale="da") is not None


@pytest.mark.parametrize(("source", "words"), REFUSED)
def test_filling_in_a_bad_text_never_raises(source: str, words: list[str]) -> None:
    result = render(source, SAMPLE)
    # A text the owner could never have saved renders nothing; one that only fails for some values may.
    assert result is None or "cannot be filled in" in check(source) or "too long" in check(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ client.frist_name }}",
            'linje 1: "client.frist_name" er ikke en variabel, du kan bruge (du kan bruge: business.name, '
            "business.phone, business.address, client.first_name, client.name, next_free_slot, "
            "opening_hours)",
        ),
        (
            "{% for i in range(3) %}x{% endfor %}",
            "linje 1: løkker og funktionskald er ikke tilladt; brug variabler og {% if %}",
        ),
        ("{{ client.first_name }", "linje 1: teksten har en ødelagt {{ … }} eller {% … %}: unexpected '}'"),
        ("x" * 4001, "teksten er for lang: højst 4.000 tegn"),
        ("x" * 1001, "teksten bliver for lang med rigtige værdier: højst 1.000 tegn"),
        ("{{ 'a' * 3 }}", "linje 1: *, ** og % er ikke tilladt i en tekst"),
    ],
)
def test_messages_in_danish(source: str, message: str) -> None:
    assert check(source, locale="da") == message


def test_an_unknown_locale_gets_english() -> None:
    assert check("{{ self }}", locale="de") == check("{{ self }}")


def test_filling_in_never_raises_for_values_that_break_a_text() -> None:
    assert render("{{ client.first_name|first }}", UNKNOWN) is None
    assert render("{{ business.name|int + 1 }}", {"business": {"name": "Harbour"}}) == "1"
    assert render("{{ client.name }}", {"client": "not a mapping"}) is None


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("Hi {{ client.first_name }}, next: {{ next_free_slot }}", {"client", "next_free_slot"}),
        ("{% if next_free_slot %}{{ business.name }}{% endif %}", {"business", "next_free_slot"}),
        ("{{ opening_hours|upper }}", {"opening_hours"}),
        ("No variables at all", set()),
        ("", set()),
        ("{{ client.first_name }", set()),
        ("{{ self }} {{ client.name }}", {"client"}),
    ],
)
def test_uses_names_the_top_level_variables_read(source: str, names: set[str]) -> None:
    assert uses(source) == frozenset(names)
