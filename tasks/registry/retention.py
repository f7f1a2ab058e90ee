"""Retention: delete old versions, never one a rollback or an alias still needs.

Kept, whatever its age: a version behind any alias (champion, challenger), and
every version that served within the rollback window. The index tags those
versions would be restored with are returned, so index cleanup can keep them too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ragtune.tasks.registry import lineage as lt
from ragtune.tasks.registry.mlflow_store import MlflowStore
from ragtune.tasks.registry.models import RetentionReport
from ragtune.tasks.registry.promotion_log import PromotionLog, in_window, tenures

log = logging.getLogger(__name__)


def protected_versions(
    store: MlflowStore, promotions: PromotionLog, now: datetime
) -> tuple[dict[int, str], set[str]]:
    """``version -> why kept`` and the index tags a rollback or promotion needs."""
    days = store.cfg.rollback_window_days
    spans = in_window(tenures(promotions.verified_history(store.name)), now, days)
    keep = {s.version: f"served within the {days}-day rollback window" for s in spans}
    tags = {s.index_tag for s in spans}
    for alias, version in sorted(store.aliases().items()):
        keep[version] = f"alias {alias}"
        evaluated_with = (store.get(version).tags or {}).get(lt.INDEX_TAG)
        if evaluated_with:
            tags.add(evaluated_with)
    return keep, tags


def retention_cleanup(
    store: MlflowStore,
    promotions: PromotionLog,
    now: datetime,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete versions (and their artifacts) older than the retention period that
    nothing protects; ``dry_run`` only reports what would go.

    Raises:
        GateFailed: the promotion log's chain is broken (what it protects is then
            unknown, so nothing is deleted).
    """
    keep, index_tags = protected_versions(store, promotions, now)
    cutoff = now - timedelta(days=store.cfg.retention_days)
    deleted: list[int] = []
    kept: dict[int, str] = {}
    for version in store.versions():
        number = int(version.version)
        created = datetime.fromtimestamp(version.creation_timestamp / 1000, now.tzinfo)
        if number in keep:
            kept[number] = keep[number]
        elif created >= cutoff:
            kept[number] = f"younger than {store.cfg.retention_days} days"
        else:
            if not dry_run:
                store.delete_version(version)
            deleted.append(number)
    log.info("registry retention: deleted %s, kept %s", deleted, sorted(kept))
    return RetentionReport(deleted, kept, frozenset(index_tags), dry_run)
