"""The promotion log: every champion move, append-only and hash-chained.

MLflow keeps only where an alias points now, not where it pointed before, so this
file is the history that rollback eligibility and retention rely on. It reuses
``ragtune.audit.AuditLog`` in a file of its own: editing, dropping or reordering a
line breaks the chain, and a broken chain stops any rollback until it is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ragtune.audit import AuditLog, ChainedLog, VerifyResult
from ragtune.errors import GateFailed
from ragtune.tasks.registry.models import PromotionRecord, Tenure, TransitionPlan

ACTIONS = {"promote": "model.promoted", "rollback": "model.rolled-back"}


class PromotionLog:
    """The promotion log file of one registry."""

    def __init__(self, log: ChainedLog | Path) -> None:
        self._log = log if isinstance(log, ChainedLog) else AuditLog(Path(log))
        self.path = self._log.path

    def append(self, plan: TransitionPlan) -> dict[str, Any]:
        """Record a completed move; returns the chained record as written."""
        return self._log.append(
            ACTIONS[plan.kind],
            actor=plan.actor,
            kind=plan.kind,
            model_name=plan.model_name,
            from_version=plan.from_version,
            to_version=plan.to_version,
            from_index_tag=plan.from_index_tag,
            index_tag=plan.index_tag,
            reason=plan.reason,
            at=plan.at.isoformat(),
            adapter_uri=plan.adapter_uri,
        )

    def verify(self) -> VerifyResult:
        return self._log.verify()

    def history(self, model_name: str | None = None) -> list[PromotionRecord]:
        """Every move, oldest first (of one model when a name is given)."""
        records = [_parse(r) for r in self._log.records()]
        return [r for r in records if model_name in (None, r.model_name)]

    def verified_history(self, model_name: str) -> list[PromotionRecord]:
        """The history, after checking the chain.

        Raises:
            GateFailed: the file was edited, truncated or reordered.
        """
        check = self.verify()
        if not check.ok:
            raise GateFailed(
                f"promotion log {self.path}: line {check.bad_line}: {check.reason}; "
                "rollback and retention rely on it: restore it from backup first"
            )
        return self.history(model_name)


def _parse(record: dict[str, Any]) -> PromotionRecord:
    d = record["details"]
    return PromotionRecord(
        kind=d["kind"],
        model_name=d["model_name"],
        from_version=d["from_version"],
        to_version=int(d["to_version"]),
        from_index_tag=d["from_index_tag"],
        index_tag=d["index_tag"],
        actor=record["actor"],
        reason=d["reason"],
        at=datetime.fromisoformat(d["at"]),
        adapter_uri=d.get("adapter_uri", ""),
        logged_at=record["ts"],
        hash=record["hash"],
    )


def tenures(history: Sequence[PromotionRecord]) -> list[Tenure]:
    """Champion spans from the log: each move starts one and ends the previous."""
    spans: list[Tenure] = []
    for record in history:
        if spans and spans[-1].end is None:
            last = spans[-1]
            spans[-1] = Tenure(last.version, last.index_tag, last.start, record.at)
        spans.append(Tenure(record.to_version, record.index_tag, record.at, None))
    return spans


def in_window(spans: Sequence[Tenure], now: datetime, days: int) -> list[Tenure]:
    """Spans that served at some moment of the last ``days`` days."""
    cutoff = now - timedelta(days=days)
    return [s for s in spans if s.end is None or s.end >= cutoff]


def rollback_targets(
    history: Sequence[PromotionRecord], now: datetime, days: int
) -> dict[int, str]:
    """``version -> index tag`` for every version a rollback may restore: each one
    that served within the window, with the index tag of its latest tenure."""
    targets: dict[int, str] = {}
    for span in sorted(in_window(tenures(history), now, days), key=lambda s: s.start):
        targets[span.version] = span.index_tag
    return targets
