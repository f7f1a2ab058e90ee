"""The trigger router's context from params.yaml: the freshness classes, the live
index's document classes, the decision records and the audit log."""

from __future__ import annotations

import logging
from datetime import datetime

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.tasks.operations.context import trigger_context
from ragtune.tasks.operations.triggers import TriggerContext

log = logging.getLogger(__name__)


def build_context(settings: Settings, now: datetime) -> TriggerContext:
    """What :func:`ragtune.tasks.operations.triggers.decide` looks at now."""
    catalog = Catalog.from_settings(settings)
    ops = settings.operations
    decisions = catalog.decisions_dir
    if ops.decisions_dir is not None:
        decisions = settings.path(ops.decisions_dir)
    return trigger_context(
        ops,
        tuple(settings.freshness.classes),
        _doc_classes(catalog),
        decisions,
        catalog.audit(),
        now,
    )


def _doc_classes(catalog: Catalog) -> dict[str, str]:
    from ragtune.tasks.index.corpus import indexed_categories

    try:
        live = catalog.index.open_live()
    except (OSError, ValueError) as exc:  # no index yet: classes come from payloads
        log.info("no live index to read classes from: %s", exc)
        return {}
    return indexed_categories(live)
