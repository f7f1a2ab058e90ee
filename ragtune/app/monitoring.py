"""Drift monitoring wired from params.yaml: where the server's logs and the
monitor's cursor are, the published figures, and one check against the cursor.

Shared by the ``drift-monitor`` flow and ``ragtune drift check --dry-run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.tasks.monitoring.inputs import DriftInputs, tag_metrics
from ragtune.tasks.monitoring.models import TagMetrics
from ragtune.tasks.monitoring.monitor import DriftCheck, check_drift
from ragtune.tasks.monitoring.trigger import load_cursor


@dataclass(frozen=True)
class DriftPaths:
    """Where the monitor reads the server's logs and keeps its cursor."""

    query_log: Path
    feedback_log: Path
    cursor: Path


def drift_paths(settings: Settings) -> DriftPaths:
    """``drift.*`` paths, defaulting to the logs ``ragtune serve`` writes."""
    state = Path(settings.project.state_dir)
    cfg, serving = settings.drift, settings.serving
    query_log = cfg.query_log or serving.query_log or state / "query_log.jsonl"
    feedback = cfg.feedback_log or serving.feedback_log or state / "feedback.jsonl"
    return DriftPaths(
        query_log=settings.path(query_log),
        feedback_log=settings.path(feedback),
        cursor=settings.path(cfg.cursor or state / "drift_cursor.json"),
    )


def published_metrics(settings: Settings) -> list[TagMetrics]:
    """Retrieval figures of every published index tag (none before a publish)."""
    from ragtune.tasks.index.publish import list_tags  # LanceDB: only when used

    index = Catalog.from_settings(settings).index
    if "://" not in index.uri and not Path(index.uri).exists():
        return []  # nothing published; connecting would create the folder
    return tag_metrics(list_tags(index.uri, index.table))


def run_check(
    settings: Settings, now: datetime, inputs: DriftInputs, dry_run: bool
) -> DriftCheck:
    """Detectors and decision against the saved cursor (which is not moved
    here); the embedder loads only if an embedding detector has enough queries."""
    from ragtune.tasks.embedding.embedder import build_embedder

    return check_drift(
        inputs,
        settings.drift,
        load_cursor(drift_paths(settings).cursor),
        now,
        embedder=lambda: build_embedder(settings.embedding),
        dry_run=dry_run,
    )
