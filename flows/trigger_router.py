"""trigger-router: the one place an automation's event becomes runs.

Automations created by ``ragtune deploy`` run this flow with the event's name,
id, time and payload. Steps:
1. context: live index classes, latest decision record, retrain history;
2. decide: the pure rule for the event (``ragtune.tasks.operations.triggers``);
3. audit: the decision, with the event that caused it, in the audit log;
4. act: start each run (refresh per class, retrain, a deadline check later)
   and emit ``ragtune.retrain.requested`` for retrains; a retrain the same
   event asked for starts once its refreshes have finished (bounded by
   ``operations.refresh_wait_s``), so it is evaluated on the refreshed index;
5. artifact: ``trigger-decision`` (markdown) in the Prefect UI.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_client, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from ragtune.app.catalog import Catalog
from ragtune.app.operations import build_context
from ragtune.audit import AuditLog
from ragtune.flows._wiring import record, run_settings
from ragtune.tasks.operations.triggers import (
    Action,
    TriggerDecision,
    TriggerEvent,
    decide,
)


def _run_name() -> str:
    from prefect.runtime import flow_run

    name = str(flow_run.parameters.get("event_name") or "event")
    return f"trigger-{name.removeprefix('ragtune.').replace('.', '-')}"


@flow(name="trigger-router", flow_run_name=_run_name, log_prints=False)
def trigger_router(
    event_name: str,
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
    occurred: str | None = None,
    params_path: str | None = None,
) -> dict[str, Any]:
    """Decide, audit and act on one event; returns the decision JSON."""
    settings = run_settings(params_path)
    now = datetime.now(UTC)
    event = TriggerEvent(
        name=event_name,
        occurred=datetime.fromisoformat(occurred) if occurred else now,
        payload=payload or {},
        event_id=event_id,
    )
    decision = decide(event, build_context(settings, now))
    audit = Catalog.from_settings(settings).audit()
    audit.append(
        "trigger.decided",
        actor="trigger-router",
        trigger_event={
            "name": event.name,
            "id": event_id,
            "payload": dict(event.payload),
        },
        **decision.to_json(),
    )
    runs: list[str] = []
    refreshes: list[FlowRun] = []
    for action in decision.actions:
        if action.kind == "retrain" and refreshes:
            _wait_finished(refreshes, settings.operations.refresh_wait_s)
            refreshes = []
        run = _act(action, params_path, audit)
        if action.kind == "refresh":
            refreshes.append(run)
        runs.append(str(run.name))
    _artifact(decision, runs)
    return {**decision.to_json(), "runs": runs}


def _wait_finished(runs: list[FlowRun], timeout_s: float) -> None:
    """Poll until every run is final or ``timeout_s`` passed; log how each ended.

    A failed or late refresh does not cancel the retrain: the change must reach
    the model by its deadline either way, and the retrain's own gates evaluate
    it on whatever index is live.
    """
    logger = get_run_logger()
    deadline = time.monotonic() + timeout_s
    pending = {run.id: run.name for run in runs}
    with get_client(sync_client=True) as client:
        while pending and time.monotonic() < deadline:
            for run_id in list(pending):
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    logger.info("refresh %s ended %s", pending.pop(run_id), state.name)
            if pending:
                time.sleep(2)
    for name in pending.values():
        logger.warning("refresh %s not finished after %ss", name, timeout_s)


def _act(action: Action, params_path: str | None, audit: AuditLog) -> FlowRun:
    """Start the run without waiting; the deployment's worker picks it up."""
    parameters = dict(action.parameters)
    if params_path:
        parameters["params_path"] = params_path
    run = run_deployment(
        action.deployment,
        parameters=parameters,
        scheduled_time=action.scheduled_for,
        timeout=0,
        as_subflow=False,
    )
    get_run_logger().info("%s: started %s (%s)", action.kind, run.name, action.reason)
    if action.kind == "retrain":
        requested = {
            "reason": action.parameters.get("reason"),
            "why": action.reason,
            "run": str(run.name),
        }
        record(audit, "retrain.requested", ("model", "retrain"), requested)
    return run


def _artifact(decision: TriggerDecision, runs: list[str]) -> None:
    lines = [f"# Trigger decision for `{decision.event}`", ""]
    lines += [f"- {r}" for r in decision.reasons]
    lines += ["", "| action | deployment | when | run |", "|---|---|---|---|"]
    for action, run in zip(decision.actions, runs, strict=True):
        when = action.scheduled_for.isoformat() if action.scheduled_for else "now"
        lines.append(f"| {action.kind} | {action.deployment} | {when} | {run} |")
    create_markdown_artifact(
        key="trigger-decision",
        markdown="\n".join(lines),
        description="Which runs an event started, and why",
    )
