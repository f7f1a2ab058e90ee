"""What a trigger decision looks at, read from ragtune's own state.

Kept apart from :mod:`triggers` so the decisions stay pure: this module reads
the latest decision record and the audit log it is given;
``ragtune.app.operations`` adds the live index's classes from params.yaml.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from ragtune.audit import AuditLog
from ragtune.errors import InputError
from ragtune.tasks.operations.config import OperationsConfig
from ragtune.tasks.operations.triggers import TriggerContext

log = logging.getLogger(__name__)

FINE_TUNED = ("fine-tune", "both")


def fine_tuned_gaps(folder: Path) -> tuple[tuple[str, ...], str | None]:
    """Gaps the latest decision record in ``folder`` sends to fine-tuning, and
    its id; none (and a log line) before the first record."""
    from ragtune.tasks.decision.record import read_latest

    try:
        record = read_latest(folder)
    except InputError as exc:
        log.info("no decision record: %s", exc)
        return (), None
    gaps = tuple(
        d["gap"]
        for d in record.get("decisions", [])
        if d.get("recommendation") in FINE_TUNED
    )
    return gaps, record.get("record_id")


def _retrain_history(audit: AuditLog, now: datetime) -> tuple[datetime | None, int]:
    """When the last retrain finished, and how many started this month."""
    last, started = None, 0
    for record in audit.records():
        ts = datetime.fromisoformat(record["ts"])
        if record["action"] == "retrain.candidate":
            last = ts if last is None or ts > last else last
        if record["action"] == "retrain.started" and (ts.year, ts.month) == (
            now.year,
            now.month,
        ):
            started += 1
    return last, started


def trigger_context(
    cfg: OperationsConfig,
    classes: tuple[str, ...],
    doc_classes: dict[str, str],
    decisions: Path,
    audit: AuditLog,
    now: datetime,
) -> TriggerContext:
    """The context for :func:`ragtune.tasks.operations.triggers.decide`.

    Args:
        cfg: The ``operations`` section (budget, cost, deadline).
        classes: Every freshness class params.yaml knows.
        doc_classes: Document id to class in the live index.
        decisions: Folder of versioned decision records.
        audit: The audit log, for the retrain history.
        now: When the decision is taken.
    """
    gaps, record_id = fine_tuned_gaps(decisions)
    last, started = _retrain_history(audit, now)
    return TriggerContext(
        classes=classes,
        doc_classes=doc_classes,
        fine_tuned_gaps=gaps,
        decision_record=record_id,
        last_retrain_at=last,
        spent_usd=started * cfg.retrain_cost_usd,
        retrain_cost_usd=cfg.retrain_cost_usd,
        gpu_budget_usd=cfg.gpu_budget_usd,
        deadline_days=cfg.retrain_deadline_days,
    )
