"""``ragtune eval``: answer and retrieval metrics per configuration, with intervals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ragtune.cli.app import PARAMS_OPTION, app, console, emit_json, err_console, load
from ragtune.cli.common import reports_dir

if TYPE_CHECKING:
    from ragtune.tasks.evaluation.harness_report import HarnessReport

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout.")


def prefect_secret(name: str) -> str:
    """Read a Prefect Secret block (the endpoint key when generation.secret_block)."""
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get())


@app.command("eval")
def eval_cmd(
    params: Path | None = PARAMS_OPTION,
    configs: list[str] = typer.Option(
        None,
        "--config",
        help="Configuration to run (repeatable): base, base+rag, fine-tuned, "
        "fine-tuned+rag. Default: all that apply.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Evaluate a seeded sample of N queries."
    ),
    adapter: Path | None = typer.Option(
        None, "--adapter", help="LoRA adapter folder; adds the fine-tuned configs."
    ),
    eval_path: Path | None = typer.Option(
        None, "--eval", help="BEIR eval-set folder (default: data.eval_path)."
    ),
    split: str = typer.Option("test", "--split", help="qrels split to score."),
    out: Path | None = typer.Option(
        None, "--out", help="Report folder (default: <state>/reports/eval/<time>)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Evaluate base, base+RAG and (with an adapter) fine-tuned configurations."""
    from ragtune.tasks.evaluation.run import evaluate

    settings = load(params)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out or reports_dir(settings) / "eval" / stamp
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,  # stdout is kept for --json
        transient=True,
    ) as progress:
        task = progress.add_task("answering", total=None)

        def on_answer(config: str, qid: str) -> None:
            progress.update(task, advance=1, description=f"{config}: {qid}")

        report = evaluate(
            settings,
            config_names=configs or None,
            limit=limit,
            adapter=adapter,
            eval_path=eval_path,
            split=split,
            secret_resolver=prefect_secret,
            on_answer=on_answer,
        )
    files = report.write(out_dir)
    if as_json:
        emit_json({**report.to_dict(), "files": {k: str(v) for k, v in files.items()}})
        return
    print_report(report)
    console.print(f"report: {files['json']} (charts: {files['metrics'].parent})")


def print_report(report: HarnessReport) -> None:
    """The per-configuration table and the significant differences."""
    table = Table(title=f"{report.evalset}: {len(report.qids)} queries")
    for column in ("configuration", "EM", "F1", "citations", "recall@k", "nDCG@10"):
        table.add_column(column)
    for column in ("p50 s", "p95 s", "tokens in/out", "$/1k q"):
        table.add_column(column, justify="right")
    for c in report.configs:
        table.add_row(
            c.name,
            *(_fmt(c.value(m)) for m in ("exact_match", "token_f1", "citation_ok")),
            *(_fmt(c.value(m)) for m in ("recall_at_k", "ndcg_at_10")),
            f"{c.latency_p50_s:.2f}",
            f"{c.latency_p95_s:.2f}",
            f"{c.tokens_in_mean:.0f}/{c.tokens_out_mean:.0f}",
            _fmt(c.cost_per_1k_queries, 4),
        )
    console.print(table)
    for d in report.comparisons:
        if d.significant:
            console.print(
                f"{d.metric}: {d.a} - {d.b} = {d.mean_diff:+.3f} "
                f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}], p={d.p_value:.3f}"
            )


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
