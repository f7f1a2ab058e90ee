"""``ragtune demo``: the whole main job on the bundled sample knowledge base."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragtune.app.catalog import Catalog
from ragtune.cli.app import PARAMS_OPTION, app, console, load
from ragtune.cli.index_cmds import print_refresh, run_query, validity_note
from ragtune.cli.progress_view import progress_bars

SAMPLE_QUERY = "How long do we have to send a final response to a complaint?"
SAMPLE_GAPS = Path("data/gaps/sample-gaps.yaml")
# One gap whose target is answer accuracy, one whose target is an output format:
# between them they show both ways answers decide (see data/gaps/sample-gaps.yaml).
DEMO_GAPS = ("regulatory-obligations", "complaint-case-updates")
FORMAT_GAP = "complaint-case-updates"  # `--full` fine-tunes for it


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
    full: bool = typer.Option(
        False,
        "--full",
        help="Also fine-tune SmolLM2 on CPU for the format gap (minutes) and "
        "measure all four configurations.",
    ),
) -> None:
    """Refresh the index from the sample knowledge base, answer a sample query, and
    decide RAG vs fine-tune for two sample gaps from the model's measured answers;
    with --full, fine-tune for the format gap and measure the candidate too."""
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load(params)
    started = time.monotonic()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task("knowledge-refresh flow: validate, classify, index, publish")
        summary = knowledge_refresh(params_path=str(params) if params else None)
    console.rule(f"knowledge-refresh finished in {time.monotonic() - started:.0f} s")
    print_refresh(summary)
    if summary["stale"]:
        console.print(
            "[dim]The sample's review dates are fixed in time, and regulatory "
            "documents must be reviewed every 30 days, so the sample goes staler "
            "every day: the point is what the list tells an owner to do.[/]"
        )
    reports = summary["reports"]
    console.print(
        f"\nindex (LanceDB): {Catalog.from_settings(settings).index.uri}\n"
        f"quarantine report: {reports.get('quarantine')}\n"
        f"Great Expectations Data Docs: {reports.get('data_docs')}\n"
        f"audit log: {settings.path(settings.project.audit_log)} "
        "(check it with `ragtune audit verify`)\n"
        "Prefect UI: run `prefect server start`, open http://127.0.0.1:4200 and look "
        "for the knowledge-refresh run and its artifacts (refresh-summary, "
        "freshness-report)."
    )
    today = date.today()
    console.rule(f"query: {question} (as of {today.isoformat()})")
    hits = run_query(settings, question, 3, None, today)
    show_hits(hits, today)
    started_on = hits[0].effective_date if hits else None
    if started_on is not None and started_on <= today:
        # the same question the day before the top answer took effect: what the
        # index answered then, and would still answer without validity in time
        before = started_on - timedelta(days=1)
        console.print(f"\n[dim]as of {before.isoformat()}, the day before:[/]")
        show_hits(run_query(settings, question, 1, None, before), before)
    gaps_file = settings.path(SAMPLE_GAPS)
    show_decision(params, gaps_file, answers, DEMO_GAPS)
    if full:
        fine_tune_gap(params, gaps_file)
        show_decision(params, gaps_file, answers, (FORMAT_GAP,))


def show_hits(hits: list, day: date) -> None:  # noqa: ANN001 - SearchHits
    for rank, hit in enumerate(hits, start=1):
        console.print(
            f"[bold]{rank}. {hit.title}[/] [dim]{hit.source_path}[/]"
            f"{validity_note(hit, day)}\n   {hit.snippet}"
        )


def fine_tune_gap(params: Path | None, gaps_file: Path) -> None:
    """Train and register the format gap's candidate (no promotion gates: the
    decide step that follows measures it; `ragtune retrain --gap` runs them)."""
    from ragtune.flows.retrain import retrain
    from ragtune.interrupt import sigterm_raises

    console.rule(f"retrain --gap {FORMAT_GAP}: QLoRA on CPU")
    started = time.monotonic()
    with sigterm_raises(), progress_bars(f"retrain --gap {FORMAT_GAP}"):
        summary = retrain(
            params_path=str(params) if params else None,
            reason="demo",
            force=True,
            gap_name=FORMAT_GAP,
            gaps_file=str(gaps_file),
            gates=False,
        )
    state = "reused" if summary["reused"] else "trained"
    console.print(
        f"candidate {summary['run_name']} {state} in "
        f"{time.monotonic() - started:.0f} s: loss {summary['final_loss']:.4f} after "
        f"{summary['steps']} steps; registry version "
        f"{summary['registered_version']} (gap {FORMAT_GAP}).\n"
        f"Gates (evaluation, privacy, approval): `ragtune retrain --gap {FORMAT_GAP}` "
        "reuses this candidate and runs them."
    )


def show_decision(
    params: Path | None, gaps_file: Path, answers: int, gaps: tuple[str, ...]
) -> None:
    """Run the decide flow on the demo gaps and print its measured table."""
    from ragtune.flows.decide import decide

    console.rule("decide: RAG or fine-tune, from measured answers")
    started = time.monotonic()
    with progress_bars(f"decide: {', '.join(gaps)}"):
        record = decide(
            gaps_file=str(gaps_file),
            params_path=str(params) if params else None,
            gaps=list(gaps),
            answer_questions=answers,
        )
    console.print(decision_table(record))
    console.print(
        f"decided in {time.monotonic() - started:.0f} s; record: "
        f"{record['paths']['md']} (all gaps: `ragtune decide {SAMPLE_GAPS}`)"
    )


def decision_table(record: dict[str, Any]) -> Table:
    """Per gap, each measured configuration on the gap's target metric with its
    interval, the paired gains, and the outcome; narrow enough for 80 columns."""
    table = Table(title="measured on each gap's eval slice")
    table.add_column("gap (metric, target)")
    table.add_column("configuration")
    table.add_column("value [95% CI]", no_wrap=True)
    for d in record["decisions"]:
        e = d["evidence"]
        metric = e["metric"]
        tuned = e.get("fine_tuned") or {}
        rows = [
            (fig["configuration"], _value(fig, metric))
            for fig in (
                e.get("closed_book"),
                (e.get("best") or {}).get("answers"),
                *(tuned.get("configurations") or []),
            )
            if fig
        ]
        gains = [
            ("gain: retrieval over closed book", e.get("differences")),
            ("gain: fine-tuned over base + RAG", tuned.get("gains")),
        ]
        rows += [(label, _gain(found, metric)) for label, found in gains if found]
        rows = rows or [("(no answers measured)", "")]
        rows.append(("decision", f"[bold]{d.get('outcome') or d['recommendation']}"))
        heading = [d["gap"], f"{metric} >= {e['target']:.2f}"]
        for i, (label, value) in enumerate(rows):
            table.add_row(
                heading[i] if i < len(heading) else "",
                label,
                value,
                end_section=i == len(rows) - 1,
            )
    return table


def _value(fig: dict[str, Any], metric: str) -> str:
    value, ci = fig.get(metric), (fig.get("ci") or {}).get(metric)
    if value is None:
        return "not measured"
    shown = f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
    return f"{shown} n={fig.get('n')}"


def _gain(found: list[dict[str, Any]], metric: str) -> str:
    gain = next((x for x in found if x["metric"] == metric), None)
    if gain is None:
        return "n/a"
    low, high = gain["ci_low"] + 0, gain["ci_high"] + 0  # + 0: no "-0.00"
    return f"{gain['gain'] + 0:+.3f} [{low:+.2f}, {high:+.2f}]"
