"""What `jola doctor` found: one Check per thing looked at, said for a person or as JSON for a script."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"  # not wrong, but not checked or not as recommended; does not fail the run
FAIL: Status = "fail"

AREAS = {
    "config": "Config file",
    "secrets": "Secrets",
    "database": "Database",
    "public_url": "Public address",
    "meta_app": "Meta app",
    "channels": "Channels",
}
_MARK = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: what was looked at (`subject`), how it stands, and, when not ok, the fix."""

    area: str  # a key of AREAS
    subject: str  # a config key path, or "whatsapp 1000000001"
    status: Status
    message: str
    fix: str = ""
    business: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    path: Path
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.checks) for status in (OK, WARN, FAIL)}

    def as_json(self) -> str:
        return json.dumps(
            {
                "config": str(self.path),
                "ok": self.ok,
                "counts": self.counts(),
                "checks": [asdict(check) for check in self.checks],
            },
            ensure_ascii=False,
            indent=2,
        )

    def as_text(self) -> str:
        lines = [f"jola doctor: {self.path}"]
        heading = None
        for check in self.checks:
            title = AREAS.get(check.area, check.area)
            if check.business:
                title = f"{title} of {check.business}"
            if title != heading:
                lines += ["", title]
                heading = title
            lines.append(f"  {_MARK[check.status]}  {check.subject}: {check.message}")
            if check.fix and check.status != OK:
                lines.append(f"        fix: {check.fix}")
        counts = self.counts()
        verdict = "ready to go live" if self.ok else "not ready to go live"
        problems = "problem" if counts[FAIL] == 1 else "problems"
        warnings = "warning" if counts[WARN] == 1 else "warnings"
        lines += ["", f"{counts[OK]} fine, {counts[WARN]} {warnings}, {counts[FAIL]} {problems}: {verdict}."]
        return "\n".join(lines)
