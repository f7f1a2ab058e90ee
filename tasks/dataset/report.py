"""The dataset gates' report: every gate's result (``ragtune.gates``) for one built
dataset, as markdown for the Prefect artifact and the operator, JSON for the CLI
and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ragtune.gates import GateResult, Verdicts, results_table


@dataclass(frozen=True)
class GateReport(Verdicts):
    """Every gate's result for one built dataset (identified by its hash); a
    warning does not block training, a failure does."""

    results: tuple[GateResult, ...]
    dataset_hash: str | None = None

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
            *results_table(self.results),
            "",
            "## Measured",
            "",
        ]
        for r in self.results:
            figures = ", ".join(f"{k}={_short(v)}" for k, v in r.measured.items())
            lines.append(f"- **{r.name}**: {figures or 'nothing measured'}")
        return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."
