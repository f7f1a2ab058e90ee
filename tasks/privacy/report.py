"""The privacy gate's report: markdown for the Prefect artifact and the approver,
JSON for the registry entry and the audit log.

Neither form holds a canary secret or an extracted PII string: canaries appear
by id, extracted strings by kind and hash, so the report can be published where
the training data may not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ragtune.gates import GateResult, Verdicts, results_table
from ragtune.tasks.privacy.attacks import AttackResult
from ragtune.tasks.privacy.canaries import CanaryExposure
from ragtune.tasks.privacy.probe import ProbeResult

# How a membership check's reason begins when its bounds decide nothing.
INSUFFICIENT = "insufficient evidence"


@dataclass(frozen=True)
class PrivacyReport(Verdicts):
    """Every privacy check's verdict for one candidate, and the figures behind it;
    a failure blocks promotion."""

    results: tuple[GateResult, ...]
    attacks: tuple[AttackResult, ...]
    canaries: tuple[CanaryExposure, ...]
    probe: ProbeResult | None
    model: str | None = None

    @property
    def insufficient(self) -> tuple[GateResult, ...]:
        """Membership checks whose bounds could neither pass nor fail the model."""
        return tuple(
            r for r in self.results if r.measured.get("verdict") == "insufficient"
        )

    @property
    def needs_review(self) -> bool:
        """True when evidence is insufficient: not a failure, but no automatic
        approval either; a person decides from the figures."""
        return bool(self.insufficient)

    def to_dict(self) -> dict[str, Any]:
        probe = None
        if self.probe is not None:
            probe = {
                "probed": self.probe.probed,
                "probed_with_pii": self.probe.probed_with_pii,
                "pii_in_completions": self.probe.pii_in_completions,
                "extracted": [
                    {"kind": e.kind, "sha256_12": e.fingerprint, "record": e.record_id}
                    for e in self.probe.extracted
                ],
            }
        return {
            "status": self.status,
            "passed": self.passed,
            "needs_review": self.needs_review,
            "insufficient_evidence": [r.name for r in self.insufficient],
            "model": self.model,
            "gates": [r.to_dict() for r in self.results],
            "attacks": [a.to_dict() for a in self.attacks],
            "canaries": [
                {
                    "id": c.id,
                    "rank": c.rank,
                    "candidates": c.candidates,
                    "exposure": c.exposure,
                }
                for c in self.canaries
            ],
            "probe": probe,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def to_markdown(self, level: int = 1) -> str:
        """The report; ``level`` is its heading depth when embedded in another."""
        verdict = self.status.upper()
        if self.needs_review and self.passed:
            verdict += f" ({INSUFFICIENT}: a person must approve)"
        elif self.status == "warn":
            verdict += " (passed)"
        lines = [
            f"{'#' * level} Privacy gate: {verdict}",
            "",
            f"Candidate: `{self.model or 'unnamed'}`",
            "",
            *results_table(self.results),
        ]
        lines += _attack_table(self.attacks, level) + _canary_table(
            self.canaries, level
        )
        return "\n".join(lines) + "\n"


def _attack_table(attacks: tuple[AttackResult, ...], level: int) -> list[str]:
    if not attacks:
        return []
    lines = [
        "",
        f"{'#' * (level + 1)} Membership inference",
        "",
        f"Bounds are one-sided at {attacks[0].confidence:.0%}; p: Mann-Whitney, "
        "members scoring no higher than non-members.",
        "",
        "| attack | ROC AUC [bounds] | p | TPR at FPR [bounds] | members | "
        "non-members |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {a.name} | {a.auc:.3f} [{a.auc_bounds.low:.3f}, {a.auc_bounds.high:.3f}]"
        f" | {a.p_value:.2g} | {a.tpr_at_fpr:.3f} at {a.fpr:.0%} "
        f"[{a.tpr_bounds.low:.3f}, {a.tpr_bounds.high:.3f}] | {a.members} | "
        f"{a.non_members} |"
        for a in attacks
    ]
    return lines


def _canary_table(canaries: tuple[CanaryExposure, ...], level: int) -> list[str]:
    if not canaries:
        return []
    lines = [
        "",
        f"{'#' * (level + 1)} Canaries",
        "",
        "| canary | rank | candidates | exposure (bits) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c.id} | {c.rank} | {c.candidates} | {c.exposure:.2f} |" for c in canaries
    ]
    return lines
