"""Gate results and the report that renders them (markdown for the Prefect
artifact and the operator, JSON for the CLI and the audit log)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail"]
_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}
_ICON = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict, the sentence that explains it and the numbers behind it."""

    name: str
    status: Status
    reason: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "measured": self.measured,
        }


def verdict(
    value: float, warn_above: float | None, fail_above: float
) -> Literal["pass", "warn", "fail"]:
    """pass / warn / fail for a share where lower is better."""
    if value > fail_above:
        return "fail"
    if warn_above is not None and value > warn_above:
        return "warn"
    return "pass"


@dataclass(frozen=True)
class GateReport:
    """Every gate's result for one built dataset (identified by its hash)."""

    results: tuple[GateResult, ...]
    dataset_hash: str | None = None

    @property
    def status(self) -> Status:
        worst = max((r.status for r in self.results), key=_ORDER.__getitem__)
        return worst if self.results else "pass"

    @property
    def passed(self) -> bool:
        """True unless a gate failed; warnings do not block training."""
        return self.status != "fail"

    @property
    def failures(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.status == "fail")

    def get(self, name: str) -> GateResult:
        return next(r for r in self.results if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "dataset_hash": self.dataset_hash,
            "gates": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def to_markdown(self) -> str:
        lines = [
            f"# SFT dataset gates: {self.status.upper()}",
            "",
            f"Dataset hash: `{self.dataset_hash or 'unknown'}`",
            "",
            "| gate | status | reason |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r.name} | {_ICON[r.status]} | {r.reason.replace('|', '/')} |"
            for r in self.results
        ]
        lines += ["", "## Measured", ""]
        for r in self.results:
            figures = ", ".join(f"{k}={_short(v)}" for k, v in r.measured.items())
            lines.append(f"- **{r.name}**: {figures or 'nothing measured'}")
        return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."
