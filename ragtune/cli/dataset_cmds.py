"""``ragtune dataset build`` and ``ragtune dataset check``: the SFT set, its gates."""

from __future__ import annotations

from pathlib import Path

import typer

from ragtune.app.catalog import Catalog
from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.cli.common import reports_dir
from ragtune.errors import GateFailed

dataset_app = typer.Typer(
    help="The supervised fine-tuning set: build it, gate it.", no_args_is_help=True
)
app.add_typer(dataset_app, name="dataset")

QUIET_OPTION = typer.Option(False, "--quiet", help="Only errors on the console.")


@dataset_app.command("build")
def build(
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Curated files (+ template examples) -> de-duplicated, split, hashed set."""
    from ragtune.app.dataset import build_from_settings

    report = build_from_settings(load(params))
    if as_json:
        emit_json(report.to_dict())
        return
    if quiet:
        return
    counts = report.counts
    console.print(
        f"[bold]{counts['train']}[/] train, [bold]{counts['eval']}[/] eval examples "
        f"from {counts['curated']} curated + {counts['generated']} generated"
    )
    console.print(
        f"removed: {counts['exact_duplicates']} exact and {counts['near_duplicates']} "
        f"near duplicates, {counts['rejected']} rejected records"
    )
    for rejection in report.rejected[:5]:
        console.print(
            f"  [yellow]{rejection.source}:{rejection.line}[/]: "
            + "; ".join(rejection.reasons)
        )
    console.print(f"dataset hash {report.dataset_hash}  ({report.out_dir})")


@dataset_app.command("check")
def check(
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Run the dataset gates on the built set; exit 1 when a gate fails."""
    from ragtune.app.dataset import check_from_settings

    settings = load(params)
    report = check_from_settings(settings)
    out = reports_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sft-gates.md").write_text(report.to_markdown(), encoding="utf-8")
    (out / "sft-gates.json").write_text(report.to_json() + "\n", encoding="utf-8")
    Catalog.from_settings(settings).audit().append(
        "dataset.gates",
        status=report.status,
        dataset_hash=report.dataset_hash,
        failed=[r.name for r in report.failures],
    )
    if as_json:
        emit_json(report.to_dict() | {"report": str(out / "sft-gates.md")})
    elif not quiet:
        _print(report, out / "sft-gates.md")
    if not report.passed:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in report.failures)
        raise GateFailed(f"dataset gates failed: {reasons}")


def _print(report, path: Path) -> None:  # noqa: ANN001 - GateReport
    colours = {"pass": "green", "warn": "yellow", "fail": "red"}
    for r in report.results:
        colour = colours[r.status]
        console.print(f"[{colour}]{r.status.upper():4}[/] {r.name}: {r.reason}")
    console.print(f"report: {path}")
