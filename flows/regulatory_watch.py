"""regulatory-watch: mirror changed regulatory sources into the knowledge base
and say how much each change matters.

Steps (each a Prefect task; domain code lives in ``ragtune.tasks.watch``):
1. scan: every configured source (folder, git branch, HTTP URL with ETag /
   If-Modified-Since) against the last seen content hashes;
2. apply: new versions into ``<kb>/<watch.area>/``, replaced ones archived;
3. version: ``dvc add`` + push when the knowledge base is DVC-tracked, else its
   DVC hash is recorded;
4. announce: ``ragtune.source.changed`` per changed source (doc ids, diff
   summary, content hashes) and, at or above ``watch.significance_threshold``,
   ``ragtune.regulatory.updated`` (doc ids, score, effective date); audit records;
5. remember: the watch state is saved last, so a failure before it repeats the
   change on the next pass instead of losing it; a ``watch-report`` artifact.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.flows._wiring import record, rename_run, retrying, run_settings, step
from ragtune.tasks.watch.models import SourceChange
from ragtune.tasks.watch.report import render_markdown, summary_json
from ragtune.tasks.watch.state import load_state, save_state
from ragtune.tasks.watch.versioning import DataVersion, version_data
from ragtune.tasks.watch.watcher import WatchPass, apply_changes, scan

scan_task = retrying(scan, "scan-sources")
apply_task = step(apply_changes, "apply-changes")
version_task = retrying(version_data, "version-data")
save_state_task = retrying(save_state, "save-watch-state")


def watch_paths(settings: Settings) -> tuple[Path, Path]:
    """``(state file, archive folder)``, defaulting under the state folder."""
    state_dir = Path(settings.project.state_dir)
    cfg = settings.watch
    return (
        settings.path(cfg.state_file or state_dir / "watch_state.json"),
        settings.path(cfg.archive_dir or state_dir / "watch" / "versions"),
    )


def resolved_sources(settings: Settings) -> list:
    """Sources with their paths resolved against the params.yaml folder."""
    return [
        s.model_copy(update={"path": settings.path(s.path)}) if s.path else s
        for s in settings.watch.sources
    ]


@flow(
    name="regulatory-watch",
    flow_run_name=lambda: f"regulatory-watch-{datetime.now(UTC):%Y%m%dT%H%M%S}",
    log_prints=False,
)
def regulatory_watch(params_path: str | None = None) -> dict[str, Any]:
    """One pass over every watched source; returns the pass summary JSON."""
    logger = get_run_logger()
    settings = run_settings(params_path)
    cfg = settings.watch
    kb_root = settings.path(settings.data.kb_path)
    state_path, archive = watch_paths(settings)
    now = datetime.now(UTC).isoformat()
    found: WatchPass = scan_task(
        resolved_sources(settings), cfg, kb_root, load_state(state_path), archive, now
    )
    version: DataVersion | None = None
    if found.changes:
        applied = apply_task(found.changes, kb_root, archive, settings.data)
        found = replace(found, changes=applied)
        version = version_task(kb_root, settings.dvc.remote_name)
        _announce(settings, found.changes, version)
        rename_run(f"regulatory-watch-{version.data_hash.removesuffix('.dir')[:12]}")
    save_state_task(state_path, found.next_state)
    summary = summary_json(found, version, cfg.significance_threshold, now)
    create_markdown_artifact(
        key="watch-report",
        markdown=render_markdown(found, version, cfg.significance_threshold),
        description="Regulatory sources checked, what changed and how much",
    )
    logger.info(
        "watch pass: %d changed, %d unchanged, %d failed",
        len(found.changes),
        len(found.unchanged),
        len(found.errors),
    )
    return summary


def _announce(
    settings: Settings, changes: tuple[SourceChange, ...], version: DataVersion
) -> None:
    """Events and audit records for every changed source."""
    audit = Catalog.from_settings(settings).audit()
    threshold = settings.watch.significance_threshold
    for change in changes:
        payload = {
            "source": change.source,
            "doc_ids": list(change.doc_ids),
            "files": [
                {
                    "kb_rel": f.kb_rel,
                    "status": f.status,
                    "content_hash": f.new_sha256,
                    "previous_hash": f.old_sha256,
                    "score": f.significance.score,
                    "diff": f.diff.to_json(),
                }
                for f in change.files
            ],
            "score": change.score,
            "significant": change.score >= threshold,
            "data_hash": version.data_hash,
            "tracked_by": version.tracked_by,
        }
        record(audit, "source.changed", ("source", change.source), payload)
        if change.score < threshold:
            continue
        significant = [f for f in change.files if f.significance.score >= threshold]
        update = {
            "source": change.source,
            "doc_ids": list(dict.fromkeys(f.doc_id for f in significant if f.doc_id))
            or list(change.doc_ids),
            "score": change.score,
            "threshold": threshold,
            "effective_date": change.effective_date
            and change.effective_date.isoformat(),
            "data_hash": version.data_hash,
        }
        record(audit, "regulatory.updated", ("regulatory", change.source), update)
