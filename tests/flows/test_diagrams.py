"""The flow diagrams in docs/ are drawn from the machines; they must not drift apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flows.diagrams import document
from flows.engine import FLOWS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flows.md"


def test_the_docs_show_the_machines_as_they_are() -> None:
    """After changing a machine, regenerate it: jola flows diagram > docs/flows.md"""
    assert DOCS.read_text() == document()


def test_every_state_of_every_machine_can_be_reached_and_left() -> None:
    """No state is a dead end unless it is final: the client can always go on."""
    for name, flow in FLOWS.items():
        for state in flow.states:
            if not state.final:
                assert state.transitions, f"{name}.{state.id} has no way out"


def test_jola_flows_diagram_prints_mermaid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "diagram", "cancelling"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## cancelling\n")
    assert "confirming --> cancelled : Said [said_yes]" in result.stdout
