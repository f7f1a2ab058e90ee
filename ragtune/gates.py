"""One result type for every gate and check in ragtune.

Dataset gates, privacy attacks, index publish checks and the evaluation gate's
comparisons all answer the same question, "may this artefact go on?", and an
operator reads their verdicts side by side in the audit trail and the Prefect
artifacts. One shape (a status with a severity built in, the sentence that explains
it, the figures behind it, and what was judged) keeps those records comparable and
lets one report renderer serve them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail"]
ORDER: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict: ``pass``; ``warn`` (not met, but advisory: logged and
    reported, never blocking); ``fail`` (not met, blocks what it guards).

    ``subject`` names what was judged when the caller must check it is the thing
    about to move on (an index version, a dataset hash).
    """

    name: str
    status: Status
    reason: str
    measured: dict[str, Any] = field(default_factory=dict)
    subject: str | int | None = None

    @classmethod
    def judged(
        cls,
        name: str,
        met: bool,
        reason: str,
        *,
        blocking: bool = True,
        measured: dict[str, Any] | None = None,
        subject: str | int | None = None,
    ) -> GateResult:
        """A check's outcome at its severity: unmet blocks only when ``blocking``."""
        status: Status = "pass" if met else ("fail" if blocking else "warn")
        return cls(name, status, reason, dict(measured or {}), subject)

    @property
    def met(self) -> bool:
        return self.status == "pass"

    @property
    def blocks(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "measured": self.measured,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        return out


def worst(results: tuple[GateResult, ...] | list[GateResult]) -> Status:
    """The most severe status among ``results`` (``pass`` when there are none)."""
    if not results:
        return "pass"
    return max((r.status for r in results), key=ORDER.__getitem__)


def verdict(value: float, warn_above: float | None, fail_above: float) -> Status:
    """pass / warn / fail for a figure where lower is better."""
    if value > fail_above:
        return "fail"
    if warn_above is not None and value > warn_above:
        return "warn"
    return "pass"


class Verdicts:
    """What every report over gate results answers the same way; a report class
    sets ``results`` and adds its own figures and rendering."""

    results: tuple[GateResult, ...]

    @property
    def status(self) -> Status:
        return worst(self.results)

    @property
    def passed(self) -> bool:
        """True unless a gate failed; warnings never block."""
        return self.status != "fail"

    @property
    def failures(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if r.blocks)

    def get(self, name: str) -> GateResult:
        """The result of the gate called ``name``."""
        return next(r for r in self.results if r.name == name)


def results_table(results: tuple[GateResult, ...] | list[GateResult]) -> list[str]:
    """Markdown table lines: one row per gate with its status and reason."""
    lines = ["| gate | status | reason |", "|---|---|---|"]
    lines += [
        f"| {r.name} | {r.status.upper()} | {r.reason.replace('|', '/')} |"
        for r in results
    ]
    return lines
