"""A wheel built from the repo runs on its own: templates and migrations ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("jola-*.whl"))


def test_the_wheel_carries_templates_and_migrations(wheel: Path) -> None:
    """Reply texts and the schema chain are data files; a wheel without them would not start."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "templates/replies/en/greeting.j2" in names
    assert "templates/replies/da/greeting.j2" in names
    assert "storage/migrations/env.py" in names
    assert any(n.startswith("storage/migrations/versions/0001") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_wheel_greets_a_client(wheel: Path, tmp_path: Path) -> None:
    """Installed away from the source tree, `python -m bot chat` migrates a fresh database and answers."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOLA_")} | {"PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="hello\n/quit\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert chat.returncode == 0, chat.stderr
    assert "Harbour Clinic: Hi, welcome to Harbour Clinic!" in chat.stdout
