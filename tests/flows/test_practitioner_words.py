"""Whom the client asks for, in English and Danish: by name, the same as last time, or anyone."""

from __future__ import annotations

import pytest

from flows.understanding.practitioners import Asked, read_practitioner

STAFF = [
    ("mia", "Mia Holm"),
    ("jonas", "Jonas Berg"),
    ("soren", "Søren Ås"),
    ("anna-k", "Anna Krog"),
    ("anna-l", "Anna Lund"),
]

CASES = [
    ("massage with Mia tomorrow", Asked("mia", named_with=True)),
    ("Can I see Mia for physio?", Asked("mia")),
    ("Mia's first free time", Asked("mia")),
    ("hos Mia på fredag", Asked("mia", named_with=True)),
    ("kan jeg komme hos jonas", Asked("jonas", named_with=True)),
    ("Mias tider i næste uge", Asked("mia")),
    ("MIA HOLM please", Asked("mia")),
    ("with Søren", Asked("soren", named_with=True)),
    ("with Soren", Asked("soren", named_with=True)),
    ("med Soeren", Asked("soren", named_with=True)),
    ("hos Sören", Asked("soren", named_with=True)),
    ("with Anna Lund", Asked("anna-l", named_with=True)),  # two Annas: the full name tells them apart
    ("with Anna", Asked()),  # which Anna? not guessed
    ("Jonas or Mia, whoever", Asked(anyone=True)),  # two names: no one in particular
    ("anyone is fine", Asked(anyone=True)),
    ("whoever is free", Asked(anyone=True)),
    ("I don't mind who", Asked(anyone=True)),
    ("no preference", Asked(anyone=True)),
    ("det er lige meget", Asked(anyone=True)),
    ("hvem som helst", Asked(anyone=True)),
    ("the same as last time", Asked(same_as_last=True)),
    ("same person as before please", Asked(same_as_last=True)),
    ("samme som sidst", Asked(same_as_last=True)),
    ("gerne samme behandler", Asked(same_as_last=True)),
    # Not a request for anyone:
    ("Miami", Asked()),
    ("any time tomorrow", Asked()),
    ("massage on friday", Asked()),
    ("Jonassen", Asked()),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_whom_the_client_asks_for(text: str, expected: Asked) -> None:
    assert read_practitioner(text, STAFF) == expected


def test_a_business_without_practitioners_reads_nothing() -> None:
    assert read_practitioner("with Mia", []) == Asked()
