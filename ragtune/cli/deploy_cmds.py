"""``ragtune deploy``: apply deployments, work pools and automations to Prefect.

The specs come from params (``tasks/operations``); this module only talks to the
Prefect API of the server ``PREFECT_API_URL`` points at (self-hosted is enough).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
from pathlib import Path
from typing import Any

import typer

from ragtune.app.settings import Settings
from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import ConfigError, InputError
from ragtune.flows.automations import PREFIX, automation_documents
from ragtune.flows.deployments import (
    DeploymentSpec,
    build_specs,
    render_prefect_yaml,
)

NOTIFY_BLOCK = "ragtune-failures"
REPO = Path(__file__).resolve().parents[2]


def specs_for(settings: Settings) -> list[DeploymentSpec]:
    """The deployments this params file asks for."""
    return build_specs(
        settings.schedules, settings.operations, list(settings.freshness.classes)
    )


def module_entrypoint(entrypoint: str) -> str:
    """``flows/x.py:name`` as ``ragtune.flows.x:name``: a worker then imports the
    installed package, so deployments run from any project folder."""
    path, name = entrypoint.split(":")
    return "ragtune." + path.removesuffix(".py").replace("/", ".") + ":" + name


def load_entrypoint(root: Path, entrypoint: str) -> Any:
    """The flow object an entrypoint ``flows/x.py:name`` names (package import)."""
    module, name = module_entrypoint(entrypoint).split(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"entrypoint {entrypoint} does not load: {exc}") from None


@app.command()
def deploy(
    params: Path | None = PARAMS_OPTION,
    write_yaml: Path | None = typer.Option(
        None, "--write-yaml", help="Only render prefect.yaml to this path."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create work pools, deployments and automations on the Prefect server."""
    if write_yaml is not None and not write_yaml.parent.is_dir():
        raise InputError(
            f"--write-yaml {write_yaml}: folder {write_yaml.parent} does not exist"
        )
    settings = load(params)
    specs = specs_for(settings)
    if write_yaml is not None:
        write_yaml.write_text(render_prefect_yaml(specs, settings.operations))
        result: dict[str, Any] = {"written": str(write_yaml)}
    else:
        params_file = str((params or Path("params.yaml")).resolve())
        result = apply(settings, specs, params_file)
    if as_json:
        emit_json(result)
    else:
        for key, value in result.items():
            console.print(f"{key}: {value}")


def apply(settings: Settings, specs: list[DeploymentSpec], params_file: str) -> dict:
    """Apply everything; idempotent (pools overwritten, automations replaced)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        pools = _pools(client, settings)
        ids, skipped = {}, []
        for spec in specs:
            try:
                ids[spec.full_name] = _deployment(client, settings, spec, params_file)
            except ConfigError as exc:  # e.g. a flow another change has not landed
                skipped.append(f"{spec.full_name}: {exc}")
        block = _notify_block(settings)
        router = ids["trigger-router/trigger-router"]
        automations = _automations(client, router, block)
    return {
        "api": os.environ.get("PREFECT_API_URL"),
        "work_pools": pools,
        "deployments": sorted(ids),
        "skipped": skipped,
        "automations": automations,
        "notification_block": block,
    }


def _pools(client: Any, settings: Settings) -> list[str]:
    from prefect.client.schemas.actions import WorkPoolCreate

    ops = settings.operations
    path = settings.path(ops.gpu_pool_template)
    if not path.is_file():  # a user's project: the template that ships with ragtune
        path = REPO / ops.gpu_pool_template
    if not path.is_file():
        raise ConfigError(f"operations.gpu_pool_template: {path} does not exist")
    template = json.loads(path.read_text())
    client.create_work_pool(
        WorkPoolCreate(name=ops.process_pool, type="process"), overwrite=True
    )
    client.create_work_pool(
        WorkPoolCreate(name=ops.gpu_pool, type="process", base_job_template=template),
        overwrite=True,
    )
    return [ops.process_pool, ops.gpu_pool]


def _deployment(
    client: Any, settings: Settings, spec: DeploymentSpec, params_file: str
) -> str:
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.utilities.callables import parameter_schema

    flow = load_entrypoint(settings.root, spec.entrypoint)
    parameters = dict(spec.parameters)
    if "params_path" in inspect.signature(flow.fn).parameters:
        parameters["params_path"] = params_file
    schedules = (
        [
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=spec.cron, timezone=spec.timezone)
            )
        ]
        if spec.cron
        else []
    )
    root = str(settings.root)
    deployment_id = client.create_deployment(
        flow_id=client.create_flow_from_name(flow.name),
        name=spec.name,
        entrypoint=module_entrypoint(spec.entrypoint),
        path=root,
        pull_steps=[
            {"prefect.deployments.steps.set_working_directory": {"directory": root}}
        ],
        work_pool_name=spec.work_pool,
        parameters=parameters,
        parameter_openapi_schema=parameter_schema(flow).model_dump_for_openapi(),
        schedules=schedules,
        concurrency_limit=spec.concurrency_limit,
        description=spec.description,
        tags=list(spec.tags),
    )
    return str(deployment_id)


def _notify_block(settings: Settings) -> str | None:
    """Save the configured notification block; its id, or None when off."""
    notify = settings.operations.notify
    if notify.kind == "none":
        return None
    if notify.kind == "webhook":
        from prefect.blocks.notifications import CustomWebhookNotificationBlock

        block: Any = CustomWebhookNotificationBlock(
            name=NOTIFY_BLOCK,
            url=notify.url,
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
        )
    else:
        from prefect.blocks.notifications import SendgridEmail

        key = os.environ.get(notify.api_key_env)
        if not key:
            raise ConfigError(f"notify.kind email: ${notify.api_key_env} is not set")
        block = SendgridEmail(
            api_key=key, sender_email=notify.sender_email, to_emails=notify.to_emails
        )
    return str(block.save(NOTIFY_BLOCK, overwrite=True))


def _automations(client: Any, router_id: str, block_id: str | None) -> list[str]:
    from prefect.events.schemas.automations import AutomationCore

    for existing in client.read_automations():
        if existing.name.startswith(PREFIX):
            client.delete_automation(existing.id)
    names = []
    for doc in automation_documents(router_id, block_id):
        client.create_automation(AutomationCore.model_validate(doc))
        names.append(doc["name"])
    return names
