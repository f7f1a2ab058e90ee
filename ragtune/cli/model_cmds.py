"""``ragtune model list`` and ``ragtune model rollback VERSION``: the registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ragtune.app.settings import Settings
from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load

model_app = typer.Typer(
    help="Registered model versions: history and rollback.", no_args_is_help=True
)
app.add_typer(model_app, name="model")


def _registry(settings):  # noqa: ANN001, ANN202 - imports MLflow only when run
    from ragtune.app.catalog import Catalog

    return Catalog.from_settings(settings).registry()


def metrics_summary(info) -> dict[str, Any]:  # noqa: ANN001 - ModelVersionInfo
    """Training losses and each gate's pass/fail, for one line of the listing."""
    gates = {
        name: figures.get("passed")
        for name, figures in sorted(info.gate_figures.items())
        if isinstance(figures, dict)
    }
    return {
        "final_loss": info.training.get("final_loss"),
        "eval_loss": info.training.get("eval_loss"),
        "gates": gates,
    }


def _listing(registry) -> dict[str, Any]:  # noqa: ANN001 - ModelRegistry
    check = registry.promotions.verify()
    targets = registry.rollback_targets() if check.ok else {}
    versions = registry.list_versions()
    cfg = registry.cfg
    aliased = {a: v.version for v in versions for a in v.aliases}
    return {
        "model": cfg.model_name,
        "champion": aliased.get(cfg.champion_alias),
        "challenger": aliased.get(cfg.challenger_alias),
        "versions": [{**v.to_json(), "metrics": metrics_summary(v)} for v in versions],
        "history": [r.to_json() for r in registry.promotion_history()],
        "rollback_eligible": [
            {"version": v, "index_tag": t} for v, t in sorted(targets.items())
        ],
        "rollback_window_days": cfg.rollback_window_days,
        "promotion_log": {
            "path": str(registry.promotions.path),
            "ok": check.ok,
            "records": check.records,
            "reason": check.reason,
        },
    }


@model_app.command("list")
def model_list(
    params: Path | None = PARAMS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Versions with aliases, lineage and gate results, and the promotion history."""
    listing = _listing(_registry(load(params)))
    if as_json:
        emit_json(listing)
        return
    _print_listing(listing)


def _gates(metrics: dict[str, Any]) -> str:
    marks = {True: "pass", False: "FAIL", None: "?"}
    return ", ".join(f"{k} {marks.get(v, v)}" for k, v in metrics["gates"].items())


def _print_listing(listing: dict[str, Any]) -> None:
    table = Table(
        "version", "aliases", "status", "created", "base model", "data hash",
        "index tag", "loss", "gates", "deployed", title=listing["model"],
    )  # fmt: skip
    for v in listing["versions"]:
        loss = v["metrics"]["final_loss"]
        table.add_row(
            str(v["version"]), ", ".join(v["aliases"]), v["status"],
            v["created_at"][:19], v["base_model"], v["dataset_hash"][:12],
            v["index_tag"], "" if loss is None else f"{loss:.4f}",
            _gates(v["metrics"]), (v["deployed_at"] or "")[:19],
        )  # fmt: skip
    console.print(table)
    history = Table("at", "kind", "from", "to", "index tag", "by", "why")
    for r in listing["history"]:
        history.add_row(
            r["at"][:19], r["kind"], str(r["from_version"] or "-"),
            str(r["to_version"]), r["index_tag"], r["actor"], r["reason"],
        )  # fmt: skip
    console.print(history)
    log = listing["promotion_log"]
    if not log["ok"]:
        console.print(f"[bold red]promotion log {log['path']}: {log['reason']}[/]")
    eligible = ", ".join(
        f"v{e['version']} ({e['index_tag']})" for e in listing["rollback_eligible"]
    )
    console.print(
        f"rollback eligible (last {listing['rollback_window_days']} days): "
        f"{eligible or 'none'}"
    )


def _check_eligible(settings: Settings, version: int) -> None:
    """Refuse a version no rollback may restore from the promotion log alone,
    before MLflow opens (it creates its database on first use) or the rollback
    flow starts; both paths check again when they plan."""
    from datetime import UTC, datetime

    from ragtune.app.catalog import Catalog
    from ragtune.tasks.registry.promotion_log import PromotionLog
    from ragtune.tasks.registry.rollback import rollback_target

    catalog = Catalog.from_settings(settings)
    cfg = catalog.registry_cfg
    log = PromotionLog(catalog.audit(catalog.promotions_path))  # keyed, anchored
    days = cfg.rollback_window_days
    rollback_target(log, cfg.model_name, version, days, datetime.now(UTC))


@model_app.command("rollback")
def model_rollback(
    version: int = typer.Argument(..., help="A version from `ragtune model list`."),
    reason: str | None = typer.Option(None, "--reason", help="Why (for the log)."),
    by: str = typer.Option(
        os.environ.get("USER") or "cli", "--by", help="Who rolls back (for the log)."
    ),
    via_flow: bool = typer.Option(
        False, "--flow", help="Run the rollback flow (emits the Prefect event)."
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve a version again together with the index tag it served with.

    Without ``--flow`` the registry moves both directly (no Prefect server
    needed); with it the ``rollback`` flow runs and emits the Prefect event.
    Both use the same plan, compensation and audit entry.
    """
    from ragtune.app.catalog import Catalog
    from ragtune.tasks.promotion.outcomes import audit_outcome, transition_summary

    settings = load(params)
    _check_eligible(settings, version)
    if via_flow:
        from ragtune.flows.rollback import rollback as rollback_flow

        summary = rollback_flow(
            version,
            reason or f"rollback to version {version}",
            by,
            str(params) if params else None,
        )
    else:
        outcome = _registry(settings).rollback(version, actor=by, reason=reason)
        audit_outcome(Catalog.from_settings(settings).audit(), outcome)
        summary = transition_summary(outcome)
    if as_json:
        emit_json(summary)
        return
    state = "now serves" if summary["changed"] else "already serves"
    console.print(
        f"{settings.registry.model_name} v{summary['champion']} {state} "
        f"with index {summary['index_tag']}"
    )
