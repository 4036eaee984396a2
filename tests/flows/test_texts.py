"""Reply texts: a rendered text is reused only for a context that renders the same."""

from __future__ import annotations

from datetime import date

import pytest

from flows import texts
from flows.context import ServiceInfo
from flows.texts import say


@pytest.fixture(autouse=True)
def _fresh_cache():
    texts._SAID.clear()
    yield
    texts._SAID.clear()


def test_the_same_context_gives_the_same_text_from_the_cache() -> None:
    first = say("en", "greeting", client_name="Anna", business_name="Demo Clinic")
    assert "Anna" in first and "Demo Clinic" in first
    assert len(texts._SAID) == 1
    assert say("en", "greeting", client_name="Anna", business_name="Demo Clinic") == first
    assert len(texts._SAID) == 1


def test_each_different_context_renders_its_own_text() -> None:
    anna = say("en", "greeting", client_name="Anna", business_name="Demo Clinic")
    bo = say("en", "greeting", client_name="Bo", business_name="Demo Clinic")
    danish = say("da", "greeting", client_name="Anna", business_name="Demo Clinic")
    assert "Bo" in bo and "Anna" not in bo
    assert danish != anna
    assert len(texts._SAID) == 3


def test_values_that_compare_equal_but_print_differently_are_kept_apart() -> None:
    """1 == True == 1.0 as dict keys; a template would print them as 1, True and 1.0."""
    keys = {texts._frozen({"n": 1}), texts._frozen({"n": True}), texts._frozen({"n": 1.0})}
    assert len(keys) == 3
    assert texts._frozen({"n": [1]}) != texts._frozen({"n": (1,)})


def test_frozen_dataclasses_and_dates_are_cacheable_other_objects_are_not() -> None:
    service = ServiceInfo("massage", "Massage", 60)
    assert texts._frozen({"services": (service,), "day": date(2026, 11, 25)})
    assert texts._frozen({"s": service}) != texts._frozen({"s": ServiceInfo("massage", "Massage", 45)})
    with pytest.raises(texts._Unhashable):
        texts._frozen({"thing": object()})


def test_a_context_that_cannot_be_cached_still_renders() -> None:
    class Name:
        def __str__(self) -> str:
            return "Anna"

    assert "Anna" in say("en", "greeting", client_name=Name(), business_name="Demo")
    assert texts._SAID == {}


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts, "SAID_MAX", 5)
    for n in range(20):
        say("en", "greeting", client_name=f"Client {n}", business_name="Demo")
    assert len(texts._SAID) == 5
    assert "Client 19" in say("en", "greeting", client_name="Client 19", business_name="Demo")
