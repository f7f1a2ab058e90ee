"""What a committed champion move leaves behind, shared by the flows and the CLI so
a rollback reads the same in the audit log whichever ran it."""

from __future__ import annotations

from typing import Any

from ragtune.audit import AuditLog
from ragtune.tasks.registry.models import TransitionOutcome


def audit_outcome(audit: AuditLog, outcome: TransitionOutcome) -> None:
    """Append the outcome's audit entry (a no-op move has none)."""
    if outcome.audit is not None:
        audit.append(
            outcome.audit.action, actor=outcome.audit.actor, **outcome.audit.details
        )


def transition_summary(outcome: TransitionOutcome) -> dict[str, Any]:
    """JSON-ready summary: what serves now, what served before, the event name."""
    plan = outcome.plan
    return {
        "changed": outcome.changed,
        "kind": plan.kind,
        "champion": plan.to_version,
        "index_tag": plan.index_tag,
        "from_version": plan.from_version,
        "from_index_tag": plan.from_index_tag,
        "adapter_uri": plan.adapter_uri,
        "actor": plan.actor,
        "reason": plan.reason,
        "event": outcome.event,
    }
