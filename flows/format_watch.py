"""format-watch: request a retrain when a required output format changed.

Steps: hash ``operations.format_files`` (JSON schemas, prompt templates); compare
with the baseline recorded when the champion was trained; on a change, emit
``ragtune.format.changed`` (the trigger router turns it into a retrain) and move
the baseline on, so one change requests one retrain.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from ragtune.app.catalog import Catalog
from ragtune.flows._wiring import record, run_settings
from ragtune.tasks.operations.format_watch import check_formats, save_baseline


@flow(name="format-watch", log_prints=False)
def format_watch(params_path: str | None = None) -> dict[str, Any]:
    """One check of the format files; returns what changed."""
    settings = run_settings(params_path)
    ops = settings.operations
    baseline = settings.path(ops.format_baseline)
    check = check_formats(settings.root, list(ops.format_files), baseline)
    if check.any_changed:
        payload = {"files": list(check.changed), "hashes": check.hashes}
        audit = Catalog.from_settings(settings).audit()
        record(audit, "format.changed", ("format", "outputs"), payload)
    if check.any_changed or check.first_run:
        save_baseline(baseline, check.hashes)
    get_run_logger().info("format files changed: %s", list(check.changed) or "none")
    return {"changed": list(check.changed), "first_run": check.first_run}
