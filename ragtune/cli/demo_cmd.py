"""``ragtune demo``: the whole main job on the bundled sample knowledge base."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ragtune.cli.app import PARAMS_OPTION, app, console, load
from ragtune.cli.index_cmds import print_refresh, run_query

SAMPLE_QUERY = "How long do we have to send a final response to a complaint?"


@app.command()
def demo(
    params: Path | None = PARAMS_OPTION,
    question: str = typer.Option(SAMPLE_QUERY, help="The sample query to answer."),
) -> None:
    """Refresh the index from the sample knowledge base and answer a sample query."""
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load(params)
    started = time.monotonic()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task("knowledge-refresh flow: validate, classify, index, publish")
        summary = knowledge_refresh(params_path=str(params) if params else None)
    console.rule(f"knowledge-refresh finished in {time.monotonic() - started:.0f} s")
    print_refresh(summary)
    reports = summary["reports"]
    console.print(
        f"\nindex (LanceDB): {settings.uri(settings.index.uri)}\n"
        f"quarantine report: {reports.get('quarantine')}\n"
        f"Great Expectations Data Docs: {reports.get('data_docs')}\n"
        f"audit log: {settings.path(settings.project.audit_log)} "
        "(check it with `ragtune audit verify`)\n"
        "Prefect UI: run `prefect server start`, open http://127.0.0.1:4200 and look "
        "for the knowledge-refresh run and its artifacts (refresh-summary, "
        "freshness-report)."
    )
    console.rule(f"query: {question}")
    for rank, hit in enumerate(run_query(settings, question, 3, None, None), start=1):
        console.print(
            f"[bold]{rank}. {hit.title}[/] [dim]{hit.source_path}[/]\n   {hit.snippet}"
        )
