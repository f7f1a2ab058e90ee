"""``ragtune demo``: the whole main job on the bundled sample knowledge base."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragtune.cli.app import PARAMS_OPTION, app, console, load
from ragtune.cli.index_cmds import print_refresh, run_query
from ragtune.cli.progress_view import progress_bars

SAMPLE_QUERY = "How long do we have to send a final response to a complaint?"
SAMPLE_GAPS = Path("data/gaps/sample-gaps.yaml")
# One gap whose target is answer accuracy, one whose target is an output format:
# between them they show both ways answers decide (see data/gaps/sample-gaps.yaml).
DEMO_GAPS = ("regulatory-obligations", "complaint-case-updates")


@app.command()
def demo(
    params: Path | None = PARAMS_OPTION,
    question: str = typer.Option(SAMPLE_QUERY, help="The sample query to answer."),
    answers: int = typer.Option(
        4,
        "--answers",
        min=1,
        help="Questions per demo gap the model answers, closed book and with RAG.",
    ),
) -> None:
    """Refresh the index from the sample knowledge base, answer a sample query, and
    decide RAG vs fine-tune for two sample gaps from the model's measured answers."""
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
    show_decision(params, settings.path(SAMPLE_GAPS), answers)


def show_decision(params: Path | None, gaps_file: Path, answers: int) -> None:
    """Run the decide flow on the demo gaps and print its measured table."""
    from ragtune.flows.decide import decide

    console.rule("decide: RAG or fine-tune, from measured answers")
    started = time.monotonic()
    with progress_bars(f"decide: {', '.join(DEMO_GAPS)}"):
        record = decide(
            gaps_file=str(gaps_file),
            params_path=str(params) if params else None,
            gaps=list(DEMO_GAPS),
            answer_questions=answers,
        )
    console.print(decision_table(record))
    console.print(
        f"decided in {time.monotonic() - started:.0f} s; record: "
        f"{record['paths']['md']} (all gaps: `ragtune decide {SAMPLE_GAPS}`)"
    )


def decision_table(record: dict[str, Any]) -> Table:
    """Closed book vs with retrieval on each gap's target metric, the paired gain
    with its interval, and the outcome."""
    table = Table(title="measured on each gap's eval slice", show_lines=False)
    for column in ("gap", "metric (target)", "base", "base + RAG", "gain [95% CI]"):
        table.add_column(column)
    table.add_column("decision", style="bold")
    for d in record["decisions"]:
        e = d["evidence"]
        closed, rag = e.get("closed_book") or {}, (e.get("best") or {}).get("answers")
        rag = rag or {}
        metric = e["metric"]
        gain = next(
            (x for x in e.get("differences") or [] if x["metric"] == metric), None
        )
        table.add_row(
            d["gap"],
            f"{metric} ({e['target']:.2f})",
            _value(closed.get(metric), closed.get("n")),
            _value(rag.get(metric), rag.get("n")),
            "n/a"
            if gain is None
            else f"{gain['gain'] + 0:+.3f} "
            f"[{gain['ci_low'] + 0:+.3f}, {gain['ci_high'] + 0:+.3f}]",
            d.get("outcome") or d["recommendation"],
        )
    return table


def _value(value: float | None, n: int | None) -> str:
    return "not measured" if value is None else f"{value:.3f} (n={n})"
