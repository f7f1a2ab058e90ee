"""Deployments built from params: one source for schedules, pools and entrypoints.

``ragtune deploy`` applies these specs through the Prefect API and
``prefect.yaml`` is rendered from them (a test checks the committed file is
what the defaults render), so schedules cannot drift between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ragtune.tasks.operations.config import DeploymentConfig, OperationsConfig
from ragtune.tasks.operations.triggers import refresh_deployment_name

REFRESH = "flows/knowledge_refresh.py:knowledge_refresh"
RETRAIN = "flows/retrain.py:retrain"
DRIFT = "flows/drift_monitor.py:drift_monitor"
WATCH = "flows/regulatory_watch.py:regulatory_watch"
ROLLBACK = "flows/rollback.py:rollback"
ROUTER = "flows/trigger_router.py:trigger_router"
FORMAT = "flows/format_watch.py:format_watch"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: what runs, where, when, with which defaults."""

    name: str
    flow_name: str
    entrypoint: str
    work_pool: str
    description: str
    cron: str | None = None
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | None = None
    tags: tuple[str, ...] = ("ragtune",)

    @property
    def full_name(self) -> str:
        """``flow/deployment``, the form ``run_deployment`` takes."""
        return f"{self.flow_name}/{self.name}"


def build_specs(
    schedules: DeploymentConfig, ops: OperationsConfig, classes: list[str]
) -> list[DeploymentSpec]:
    """Every deployment ragtune runs, in a stable order.

    Args:
        schedules: The ``schedules:`` section.
        ops: The ``operations:`` section (work pool names).
        classes: Freshness classes; each gets its own refresh deployment, with
            no schedule when ``schedules.refresh`` does not name it.
    """
    pool, tz = ops.process_pool, schedules.timezone
    specs = [
        DeploymentSpec(
            name=refresh_deployment_name(c),
            flow_name="knowledge-refresh",
            entrypoint=REFRESH,
            work_pool=pool,
            description=f"Refresh the index for {c} documents only.",
            cron=schedules.refresh.get(c),
            timezone=tz,
            parameters={"classes": [c]},
            concurrency_limit=1,
        )
        for c in classes
    ]
    specs += [
        DeploymentSpec(
            name="retrain",
            flow_name="retrain",
            entrypoint=RETRAIN,
            work_pool=pool,
            description="Triggered only: by the trigger router or an operator.",
            concurrency_limit=1,
        ),
        DeploymentSpec(
            name="drift-monitor",
            flow_name="drift-monitor",
            entrypoint=DRIFT,
            work_pool=pool,
            description="Drift detectors over the query log and evaluations.",
            cron=schedules.drift_monitor,
            timezone=tz,
            concurrency_limit=1,
        ),
        DeploymentSpec(
            name="regulatory-watch",
            flow_name="regulatory-watch",
            entrypoint=WATCH,
            work_pool=pool,
            description="Check watched regulatory sources; emit change events.",
            cron=schedules.regulatory_watch,
            timezone=tz,
            concurrency_limit=1,
        ),
        DeploymentSpec(
            name="format-watch",
            flow_name="format-watch",
            entrypoint=FORMAT,
            work_pool=pool,
            description="Retrain when a required output format file changed.",
            cron=schedules.format_watch,
            timezone=tz,
            concurrency_limit=1,
        ),
        DeploymentSpec(
            name="rollback",
            flow_name="rollback",
            entrypoint=ROLLBACK,
            work_pool=pool,
            description="Manual: restore the previous model and index together.",
        ),
        DeploymentSpec(
            name="trigger-router",
            flow_name="trigger-router",
            entrypoint=ROUTER,
            work_pool=pool,
            description="Run by automations: decide, audit and act on one event.",
        ),
    ]
    return specs


def _yaml_entry(spec: DeploymentSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "entrypoint": spec.entrypoint,
        "tags": list(spec.tags),
        "parameters": dict(spec.parameters),
        "work_pool": {"name": spec.work_pool},
        "schedules": (
            [{"cron": spec.cron, "timezone": spec.timezone}] if spec.cron else []
        ),
    }
    if spec.concurrency_limit is not None:
        entry["concurrency_limit"] = spec.concurrency_limit
    return entry


HEADER = """\
# Rendered from params.yaml (schedules:, operations:) by `ragtune deploy --write-yaml`;
# tests/operations/test_prefect_yaml.py fails when this file and params disagree.
# `ragtune deploy` applies the same deployments, plus the automations, through the
# Prefect API; `prefect deploy --all` from this folder works as well.
"""


def render_prefect_yaml(specs: list[DeploymentSpec], ops: OperationsConfig) -> str:
    """``prefect.yaml`` for these specs (local code, process and GPU pools)."""
    doc = {
        "name": "ragtune",
        "prefect-version": ">=3.4",
        "pull": [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $RAGTUNE_HOME }}"
                }
            }
        ],
        # Prefect ignores ``definitions``; the pools are created by `ragtune deploy`.
        "definitions": {
            "work_pools": {
                "cpu": {"name": ops.process_pool, "type": "process"},
                "gpu": {
                    "name": ops.gpu_pool,
                    "type": "process",
                    "base_job_template": str(ops.gpu_pool_template),
                },
            }
        },
        "deployments": [_yaml_entry(s) for s in specs],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, width=88)
