"""``ragtune drift check``: drift figures and whether a trigger fires, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import InputError

drift_app = typer.Typer(
    help="Drift of served traffic and retrieval.", no_args_is_help=True
)
app.add_typer(drift_app, name="drift")


@drift_app.command("check")
def check(
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Run the detectors and explain which would fire and why; emit nothing "
        "and leave the cursor as it is.",
    ),
    at: str | None = typer.Option(
        None, "--at", help="Check as of this time (ISO; default: now)."
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the drift detectors once (the drift-monitor flow, unless --dry-run)."""
    settings = load(params)  # fail fast, with exit 2, before Prefect starts
    now = _when(at)
    if dry_run:
        result = _dry_run(settings, now)
    else:
        from ragtune.flows.drift_monitor import drift_monitor

        with console.status("running the drift-monitor flow", spinner="dots"):
            result = drift_monitor(params_path=str(params) if params else None, now=now)
    if as_json:
        emit_json(result)
        return
    _print(result)


def _dry_run(settings, now: datetime) -> dict:  # noqa: ANN001 - Settings
    """The flow's gather/detect/decide steps as plain Python, nothing written."""
    from ragtune.app.monitoring import (
        drift_paths,
        published_metrics,
        run_check,
    )
    from ragtune.tasks.monitoring.inputs import gather_inputs

    paths = drift_paths(settings)
    inputs = gather_inputs(
        paths.query_log,
        paths.feedback_log,
        published_metrics(settings),
        now,
        settings.drift.windows,
    )
    return run_check(settings, now, inputs, dry_run=True).to_json()


def _when(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise InputError(f"--at {at!r} is not an ISO date or time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _print(result: dict) -> None:
    verb = "would fire" if result["dry_run"] else "fired"
    if result["fire"]:
        console.print(
            f"[bold red]drift trigger {verb}:[/] {', '.join(result['detectors'])}"
        )
    else:
        console.print(f"no drift trigger {verb}")
    windows = result["windows"]
    console.print(
        f"[dim]current window {windows['current']['start'][:16]} to "
        f"{windows['current']['end'][:16]}: {windows['current_queries']} queries, "
        f"{windows['feedback']} ratings; reference {windows['reference_queries']} "
        f"queries; {windows['published_tags']} published tags[/]"
    )
    for item in result["results"]:
        name = item["name"]
        status = result["statuses"][name]
        value = "n/a" if item["value"] is None else f"{item['value']:.4g}"
        style = (
            "bold red"
            if status == "fires"
            else "yellow"
            if status
            in (
                "advisory",
                "cooldown",
            )
            else "green"
        )
        console.print(
            f"[{style}]{name}[/]: {status} (value {value}, threshold "
            f"{item['threshold']:g}, n {item['n']})\n  {result['reasons'][name]}",
            highlight=False,
        )
