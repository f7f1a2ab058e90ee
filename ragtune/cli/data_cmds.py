"""``ragtune validate``, ``classify`` and ``init``: the data side of the loop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.cli.common import load_and_validate, reports_dir
from ragtune.errors import GateFailed

KB_OPTION = typer.Option(
    None, "--kb", help="Knowledge-base folder (default: data.kb_path)."
)


@app.command()
def validate(
    params: Path | None = PARAMS_OPTION,
    kb: Path | None = KB_OPTION,
    as_json: bool = JSON_OPTION,
    manifest_out: Path | None = typer.Option(
        None, help="Write the validated document manifest here (the DVC stage output)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Only errors on the console."),
) -> None:
    """Great Expectations checks on the knowledge base and eval set."""
    from ragtune.tasks.ingest.manifest import write_manifest
    from ragtune.tasks.validation.eval_set import validate_eval_set
    from ragtune.tasks.validation.quarantine import (
        quarantine_payload,
        write_quarantine_report,
    )

    settings = load(params)
    report = load_and_validate(settings, kb)
    eval_report = validate_eval_set(
        settings.path(settings.data.eval_path), {d.doc_id for d in report.documents}
    )
    path = write_quarantine_report(report, reports_dir(settings))
    if manifest_out:
        write_manifest(report.documents, manifest_out)
    payload = quarantine_payload(report) | {
        "report": str(path),
        "eval_set": {
            "queries": eval_report.n_queries,
            "problems": [*eval_report.problems],
        },
    }
    if as_json:
        emit_json(payload)
    elif not quiet:
        _print_validation(payload)
    if not report.passed:
        # the first file's reasons too: under --json or --quiet stderr is all a
        # person reads, and the count alone does not say what to fix
        first = report.rejected[0] if report.rejected else None
        example = f"{first.source_path}: {'; '.join(first.reasons)}; " if first else ""
        raise GateFailed(
            f"{len(report.rejected)} of {report.n_files} files quarantined "
            f"({report.quarantine_share:.1%} > {report.max_quarantine_share:.0%}); "
            f"{example}see {path}"
        )


def _print_validation(payload: dict) -> None:
    console.print(
        f"[bold]{payload['n_valid']}[/] valid, [bold]{payload['n_quarantined']}[/] "
        f"quarantined of {payload['n_files']} files ({payload['quarantine_share']:.1%})"
    )
    for item in payload["quarantined"]:
        console.print(
            f"  [yellow]{item['source_path']}[/]: " + "; ".join(item["reasons"])
        )
    for problem in payload["eval_set"]["problems"]:
        console.print(f"  [yellow]eval set[/]: {problem}")
    console.print(f"report: {payload['report']}")


@app.command()
def classify(
    params: Path | None = PARAMS_OPTION,
    kb: Path | None = KB_OPTION,
    as_json: bool = JSON_OPTION,
    today: str | None = typer.Option(
        None, help="Judge staleness as of this day (ISO)."
    ),
) -> None:
    """Freshness class, confidence and staleness per document."""
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.freshness import classify_documents, load_labels

    settings = load(params)
    day = _parse_day(today)
    report = load_and_validate(settings, kb, day)
    freshness = classify_documents(
        report.documents, settings.freshness, build_embedder(settings.embedding), day
    )
    labels_path = settings.data.labels_path
    accuracy = None
    if labels_path and settings.path(labels_path).is_file():
        accuracy = freshness.accuracy(load_labels(settings.path(labels_path)))
    # labels of other documents (another knowledge base) measure nothing: no figure
    measured = accuracy is not None and accuracy.total > 0
    if as_json:
        emit_json(
            {
                "documents": freshness.to_rows(),
                "quarantined": [r.source_path for r in report.rejected],
                "accuracy": round(accuracy.accuracy, 4) if measured else None,
                "labelled": accuracy.total if accuracy is not None else 0,
            }
        )
        return
    _print_freshness(freshness)
    if measured:
        console.print(f"accuracy against {labels_path}: {accuracy.accuracy:.1%}")
    elif accuracy is not None:
        console.print(
            f"accuracy not measured: {labels_path} labels none of these documents"
        )


def _print_freshness(freshness) -> None:  # noqa: ANN001 - FreshnessReport
    table = Table("document", "class", "confidence", "method", "age (days)", "stale")
    for c in freshness.classifications:
        table.add_row(
            c.doc_id,
            c.label,
            f"{c.confidence:.2f}",
            c.method,
            "" if c.age_days is None else str(c.age_days),
            "yes" if c.stale else "",
        )
    console.print(table)
    for summary in freshness.summaries:
        console.print(
            f"{summary.label}: {summary.count} documents, {summary.stale} stale, "
            f"belongs in {summary.placement}"
        )
    stale = freshness.stale()
    if stale:
        console.print(f"\n[bold]stale ({len(stale)}): why, and the next step[/]")
    for c in stale:
        console.print(f"  {c.doc_id}: {c.stale_reason}\n    -> {c.next_step}")


def _parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date", param_hint="'--today'"
        ) from None


@app.command()
def init(
    path: Path = typer.Argument(..., help="Folder of the new knowledge-base project."),
    remote: str = typer.Option(
        ".ragtune/dvc-remote",
        help="DVC remote: a local folder or s3://, gs://, azure://.",
    ),
    remote_name: str = typer.Option("storage", help="Name of the DVC remote."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a knowledge base: layout, git + DVC, `dvc add`, a remote, params.yaml."""
    from ragtune.tasks.versioning import init_knowledge_base

    result = init_knowledge_base(path, remote, remote_name)
    if as_json:
        emit_json(
            {
                "changed": result.changed,
                "actions": [*result.actions],
                "kb_hash": result.kb_hash,
                "pushed": result.pushed,
                "to_commit": [str(p) for p in result.to_commit],
            }
        )
        return
    console.print(result.summary())
