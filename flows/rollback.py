"""rollback and index-rollback: serve an earlier version again.

rollback moves a model version and the index tag it served with together;
index-rollback moves the index alone (``ragtune index rollback TAG``).

rollback:

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
from ragtune.flows._wiring import record, run_settings
from ragtune.flows.promotion import promote_in_transaction, publish_outcome
from ragtune.tasks.index.publish import rollback as move_live_back
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
    catalog = Catalog.from_settings(run_settings(params_path))
    registry = catalog.registry()
    plan = registry.plan_rollback(version, actor, reason)
    with catalog.index_lock():  # it moves the live index tag too
        outcome = promote_in_transaction(registry, plan)
    publish_outcome(catalog.audit(), outcome)
    return transition_summary(outcome)


@flow(name="index-rollback", flow_run_name="index-rollback-to-{tag}")
def index_rollback(
    tag: str, actor: str = "ragtune", params_path: str | None = None
) -> dict[str, Any]:
    """Serve the index version published as ``tag`` again, audited, with the
    ``ragtune.index.rolled-back`` event; returns the live tag's record, the tag
    it replaced and whether anything changed.

    A tag that is already live changes nothing and is neither audited nor
    announced.

    Raises:
        InputError: no published tag has that name (the message lists them).
    """
    catalog = Catalog.from_settings(run_settings(params_path))
    with catalog.index_lock():
        return _index_rollback(catalog, tag, actor)


def _index_rollback(catalog: Catalog, tag: str, actor: str) -> dict[str, Any]:
    index = catalog.index
    live = index.live_tag()
    was = None if live is None else live.tag
    restored = move_live_back(index.uri, index.table, tag)
    summary = {
        "live": restored.to_json(),
        "previous": was,
        "changed": was != restored.tag,
    }
    if summary["changed"]:
        payload = {"tag": restored.tag, "version": restored.version, "previous": was}
        record(
            catalog.audit(), "index.rolled-back", ("index", index.table), payload,
            actor=actor,
        )  # fmt: skip
    return summary
