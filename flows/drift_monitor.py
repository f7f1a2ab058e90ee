"""drift-monitor: is served traffic or retrieval quality drifting enough to act?

Steps (each a Prefect task; domain code lives in ``ragtune.tasks.monitoring``):
1. gather: the query and feedback logs of ``ragtune serve`` cut into a reference
   and a current window, and the retrieval figures of every published index tag;
2. detect: query embedding drift (MMD, permutation p-value), topic drift (PSI on
   k-means clusters), retrieval quality drop, "no good source" rate, satisfaction;
3. decide: minimum samples, cooldowns and advisory mode, against the cursor;
4. act: one ``ragtune.drift.detected`` event when any detector fires (naming
   them all), audit records, then the cursor is saved (after the event, so a
   crash repeats an event rather than losing one);
5. report: the ``drift-report`` markdown artifact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from ragtune.app.catalog import Catalog
from ragtune.app.monitoring import drift_paths, published_metrics, run_check
from ragtune.app.settings import Settings
from ragtune.flows._wiring import record, rename_run, retrying, run_settings, step
from ragtune.tasks.monitoring.inputs import gather_inputs
from ragtune.tasks.monitoring.monitor import DriftCheck
from ragtune.tasks.monitoring.report import render_markdown
from ragtune.tasks.monitoring.trigger import save_cursor

gather_task = step(gather_inputs, "gather-drift-inputs")
tags_task = retrying(published_metrics, "read-publish-ledger")
check_task = step(run_check, "detect-and-decide")
save_cursor_task = retrying(save_cursor, "save-drift-cursor")


def _run_name() -> str:
    now = flow_run.parameters.get("now") or datetime.now(UTC)
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    return f"drift-check-{now:%Y%m%dT%H%M}"


@flow(name="drift-monitor", flow_run_name=_run_name, log_prints=False)
def drift_monitor(
    params_path: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Run the drift detectors once, trigger if they say so; returns the check JSON."""
    logger = get_run_logger()
    settings = run_settings(params_path)
    now = now or datetime.now(UTC)
    paths = drift_paths(settings)
    tags = tags_task(settings)
    inputs = gather_task(
        paths.query_log, paths.feedback_log, tags, now, settings.drift.windows
    )
    check = check_task(settings, now, inputs, False)
    _act(settings, check)
    fired = "-".join(check.decision.detectors) or "quiet"
    rename_run(f"drift-check-{now:%Y%m%dT%H%M}-{fired}")
    save_cursor_task(paths.cursor, check.decision.new_cursor)
    create_markdown_artifact(
        key="drift-report",
        markdown=render_markdown(check),
        description="Drift detectors, their figures and the trigger decision",
    )
    logger.info(
        "drift check: %s",
        "fired " + ", ".join(check.decision.detectors)
        if check.decision.fire
        else "no trigger",
    )
    return check.to_json()


def _act(settings: Settings, check: DriftCheck) -> None:
    """Audit the check and, when it fires, emit one event for the whole check.

    One event per check, not per detector, so one drift episode asks for one
    retrain; ``detector``/``value``/``threshold`` name the first detector that
    fired (in ``DETECTORS`` order) and ``findings`` holds every one of them.
    """
    audit = Catalog.from_settings(settings).audit()
    decision = check.decision
    summary = check.inputs.summary()
    window = {"reference": summary["reference"], "current": summary["current"]}
    audit.append(
        "drift.checked",
        fire=decision.fire,
        detectors=list(decision.detectors),
        statuses=decision.statuses,
        values={r.name: r.value for r in decision.results},
        window=window,
    )
    if not decision.fire:
        return
    findings = [
        {
            "detector": r.name,
            "value": r.value,
            "threshold": r.threshold,
            "n": r.n,
            "reason": decision.reasons[r.name],
        }
        for r in decision.results
        if r.name in decision.detectors
    ]
    payload = {
        **findings[0],
        "detectors": list(decision.detectors),
        "findings": findings,
        "window": window,
        "checked_at": check.checked_at.isoformat(),
    }
    record(audit, "drift.detected", ("drift", findings[0]["detector"]), payload)
