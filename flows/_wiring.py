"""Thin helpers that turn plain domain functions into Prefect tasks and events.

Kept here so every flow declares retries and caching the same way: domain inputs
(embedders, LanceDB tables) are not hashable, so task caching is off and
idempotency comes from the domain code itself (refreshes are diff-based).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from ragtune.app.settings import Settings, load_settings
from ragtune.audit import AuditLog
from ragtune.events import ALL_EVENTS, resource_id

F = TypeVar("F", bound=Callable[..., Any])


def step(fn: F, name: str) -> F:
    """A task that runs once: failures here are deterministic, retrying won't help."""
    return task(name=name, cache_policy=NO_CACHE)(fn)  # type: ignore[return-value]


def retrying(fn: F, name: str, retries: int = 2) -> F:
    """A task around I/O that can fail transiently (git, DVC, object storage)."""
    return task(  # type: ignore[return-value]
        name=name, retries=retries, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE
    )(fn)


def rename_run(name: str) -> None:
    """Rename the current flow run once what it did is known (e.g. its data hash).

    Run names are set before the flow body runs, so a name that depends on a
    result is applied afterwards through the API; outside a run it does nothing.
    """
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(ctx.flow_run.id, name=name)
    get_run_logger().info("flow run renamed %s", name)


def prefect_secret(name: str) -> str:
    """Read a Prefect Secret block: the resolver that domain code receives for keys
    (domain code never imports Prefect, and keys never live in params.yaml)."""
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get())


def emit(event: str, kind: str, name: str, payload: dict[str, Any]) -> None:
    """Emit a ragtune event to Prefect; the resource id is ``ragtune.<kind>.<name>``."""
    emitted = emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id(kind, name)},
        payload=payload,
    )
    get_run_logger().info("event %s (%s)", event, "sent" if emitted else "not sent")


def record(
    audit: AuditLog,
    action: str,
    resource: tuple[str, str],
    payload: dict[str, Any],
    *,
    actor: str = "ragtune",
    audit_only: dict[str, Any] | None = None,
) -> None:
    """Write one fact to the audit log, then announce it as ``ragtune.<action>``.

    The audit record comes first: it is the evidence, the event only a trigger,
    and an event without its record would leave automations acting on a fact the
    log cannot show. The record names its event; ``audit_only`` holds details
    too large or too internal for an event payload (Prefect refuses large
    events), kept in the record alone.
    """
    event = f"ragtune.{action}"
    if event not in ALL_EVENTS:
        raise ValueError(f"{event} is not a ragtune event (ragtune/events.py)")
    entry = audit.append(
        action, actor=actor, event=event, **payload, **(audit_only or {})
    )
    kind, name = resource
    emit(event, kind, name, bounded(payload, entry["hash"]))


MAX_EVENT_ITEMS = 50
MAX_EVENT_BYTES = 64_000


def bounded(payload: dict[str, Any], audit_hash: str) -> dict[str, Any]:
    """The event's share of a payload: lists cut to their first ``MAX_EVENT_ITEMS``
    (with ``<key>_count``), then the largest values replaced by their size until the
    JSON fits ``MAX_EVENT_BYTES``.

    A refresh of thousands of documents once made a 1.6 MB event that the Prefect
    server refused. Whatever is cut stays whole in the audit record, which the
    event then names (``audit_hash``, ``truncated``).
    """
    out: dict[str, Any] = {}
    cut: list[str] = []
    for key, value in payload.items():
        if isinstance(value, list) and len(value) > MAX_EVENT_ITEMS:
            out[key], out[f"{key}_count"] = value[:MAX_EVENT_ITEMS], len(value)
            cut.append(key)
        else:
            out[key] = value
    while len(json.dumps(out, default=str)) > MAX_EVENT_BYTES:
        sizes = {
            k: len(json.dumps(v, default=str))
            for k, v in out.items()
            if isinstance(v, list | dict)
        }
        if not sizes:
            break
        key = max(sizes, key=sizes.__getitem__)
        value = out.pop(key)
        out.setdefault(f"{key}_count", len(value))
        cut.append(key)
    if cut:
        out |= {"truncated": sorted(set(cut)), "audit_hash": audit_hash}
    return out


def config_digest(settings: Settings) -> str:
    """sha256 of the resolved configuration (every section, defaults included)."""
    return digest_of(settings.model_dump(mode="json"))


def digest_of(resolved: dict[str, Any]) -> str:
    """sha256 of a JSON-able mapping, keys sorted: the same content, the same digest."""
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()


def run_settings(params_path: str | None) -> Settings:
    """Load the run's configuration once and show it on the run's page.

    A flow's parameter is only a file path, and the file, overlays and environment
    overrides can change between runs; the ``resolved-config`` artifact records what
    this run used (YAML) and its sha256, so two runs' configurations can be told
    apart in the Prefect UI without the project's files.
    """
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    settings = load_settings(params_path)
    resolved = settings.model_dump(mode="json")
    digest = digest_of(resolved)
    get_run_logger().info("configuration sha256 %s (%s)", digest[:16], settings.root)
    if FlowRunContext.get() is not None:
        text = yaml.safe_dump(resolved, sort_keys=False)
        create_markdown_artifact(
            key="resolved-config",
            markdown=(
                f"# Resolved configuration\n\nsha256 `{digest}`, params.yaml "
                f"folder `{settings.root}` (overlays and environment overrides "
                f"applied)\n\n```yaml\n{text}```\n"
            ),
            description=f"configuration sha256 {digest[:16]}",
        )
    return settings
