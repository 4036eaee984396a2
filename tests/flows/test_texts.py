"""Reply texts: a rendered text is reused only for a context that renders the same."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from flows import texts
from flows.context import ServiceInfo
from flows.texts import say


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch):
    now = [1000.0]
    monkeypatch.setattr(texts, "_monotonic", lambda: now[0])
    monkeypatch.setattr(texts, "_emptied", [now[0]])
    texts._SAID.clear()
    yield now
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
    utc = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    copenhagen = utc.astimezone(ZoneInfo("Europe/Copenhagen"))  # equal to `utc`, printed 11:00+01:00
    assert utc == copenhagen
    assert texts._frozen({"at": utc}) != texts._frozen({"at": copenhagen})
    assert texts._frozen({"n": -0.0}) != texts._frozen({"n": 0.0})
    first = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Copenhagen"))  # the hour that repeats
    assert texts._frozen({"at": first}) != texts._frozen({"at": first.replace(fold=1)})


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


def test_the_cache_is_bounded_and_keeps_what_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts, "SAID_MAX", 5)
    menu = say("en", "ask_service", services=(), choosing_between=False)
    for n in range(20):
        say("en", "greeting", client_name=f"Client {n}", business_name="Demo")
        assert say("en", "ask_service", services=(), choosing_between=False) == menu
    assert len(texts._SAID) == 5
    assert ("en", "ask_service") in {key[:2] for key in texts._SAID}  # asked for all along: still there
    assert "Client 19" in say("en", "greeting", client_name="Client 19", business_name="Demo")


def test_texts_with_a_client_in_them_are_not_kept_for_long(_fresh_cache: list[float]) -> None:
    say("en", "greeting", client_name="Anna", business_name="Demo")
    _fresh_cache[0] += texts.SAID_LIFE - 1
    say("en", "options_label")
    assert len(texts._SAID) == 2
    _fresh_cache[0] += 1
    say("en", "options_label")
    assert len(texts._SAID) == 1
    assert not any("Anna" in text for text in texts._SAID.values())


def test_a_frozen_dataclass_with_an_init_only_field_is_frozen_by_its_fields() -> None:
    @dataclass(frozen=True)
    class Slot:
        title: str
        hint: InitVar[str | None] = None
        extra: int = field(default=0)

    assert texts._frozen(Slot("Tomorrow 10:00")) == texts._frozen(Slot("Tomorrow 10:00", "x"))
    assert texts._frozen(Slot("Tomorrow 10:00")) != texts._frozen(Slot("Tomorrow 11:00"))
