"""rollback: serve an earlier version again, model and index together.

Steps:
1. plan: the version must have served within the rollback window; the index tag
   it served with comes from the append-only promotion log;
2. move the champion alias and the live index tag in one Prefect transaction
   (the same one promotion uses: ``flows/promotion.py``), committed by the
   promotion-log append;
3. audit entry and ``ragtune.model.rolled-back`` event.
Serving picks the restored adapter up on its next poll or ``/admin/reload``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from ragtune.app.catalog import Catalog
from ragtune.app.settings import load_settings
from ragtune.flows.promotion import promote_in_transaction, publish_outcome
from ragtune.tasks.promotion.outcomes import transition_summary


@flow(name="rollback", flow_run_name="rollback-to-v{version}")
def rollback(
    version: int,
    reason: str,
    actor: str = "ragtune",
    params_path: str | None = None,
) -> dict[str, Any]:
    """Restore ``version`` with its index tag; returns the transition summary.

    Raises:
        InputError: the version is not eligible (the message lists those that are).
        TransitionFailed: a step failed; both were restored (or the message says
            which undo failed).
    """
    settings = load_settings(params_path)
    registry = Catalog.from_settings(settings).registry()
    plan = registry.plan_rollback(version, actor, reason)
    outcome = promote_in_transaction(registry, plan)
    publish_outcome(settings, outcome)
    return transition_summary(outcome)
