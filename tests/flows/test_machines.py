"""How the conversation machines are put together, checked on the classes themselves."""

from __future__ import annotations

import inspect

import pytest

from flows.engine import FLOWS, _Blank, _Bound


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_each_transition_has_at_most_one_guard(name: str) -> None:
    """python-statemachine 2.x runs a transition's async guards all at once and stops waiting at the first
    False, so two guards cannot say "only if the first holds": `slot_still_free` took the calendar lock on
    every answer at the summary. A guard that depends on another calls it (see `confirmed_and_free`)."""
    for state in FLOWS[name].states:
        for transition in state.transitions:
            guards = [spec.func for spec in transition.cond]
            assert len(guards) <= 1, f"{name}: {state.id} -> {transition.target.id} has guards {guards}"


@pytest.mark.parametrize("name", sorted(n for n, flow in FLOWS.items() if any(s.final for s in flow.states)))
async def test_an_event_with_no_transition_is_ignored_not_an_error(name: str) -> None:
    """The engine fires `said` on every turn; where no transition applies (a final state) it does nothing."""
    machine = FLOWS[name](_Bound(_Blank(name)))
    assert machine.allow_event_without_transition
    final = next(state for state in FLOWS[name].states if state.final)
    machine.model.state = final.id
    result = machine.send("said")
    if inspect.isawaitable(result):
        await result
    assert machine.model.state == final.id


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_each_transition_runs_at_most_one_action(name: str) -> None:
    """2.x runs a transition's async actions at once, too (asyncio.gather): two actions that both speak or
    both use the desk would interleave. Counted are the actions the class defines, including the ones the
    library finds by name (`after_said`, `on_enter_booked`...)."""
    flow = FLOWS[name]
    for state in flow.states:
        for transition in state.transitions:
            names = [
                spec.func
                for group in (transition.before, transition.on, transition.after)
                for spec in group
                if isinstance(spec.func, str) and hasattr(flow, spec.func)
            ]
            assert len(names) <= 1, f"{name}: {state.id} -> {transition.target.id} runs {names}"
    for state in flow.states:
        for hook in (f"on_enter_{state.id}", f"on_exit_{state.id}"):
            assert not hasattr(flow, hook), f"{name}.{hook}: actions belong on transitions"
