"""``ragtune eval``: answer and retrieval metrics per configuration, with intervals."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markdown import Markdown

from ragtune.cli.app import (
    JSON_OPTION,
    PARAMS_OPTION,
    app,
    console,
    emit_json,
    load,
)
from ragtune.cli.progress_view import progress_bars


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
    model: str | None = typer.Option(
        None,
        "--model",
        help="Registry version (or 'champion') to evaluate as fine-tuned. Default: "
        "the champion, when the registry has one.",
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
    from ragtune.app.evaluation import check_eval_request
    from ragtune.flows.evaluate import evaluate

    # bad params, a missing folder, an unknown configuration: exit 2 before
    # Prefect starts
    check_eval_request(
        load(params),
        config_names=configs or None,
        adapter=adapter,
        eval_path=eval_path,
        split=split,
        model=model,
    )
    with progress_bars("evaluate: answering the eval set per configuration"):
        body = evaluate(
            params_path=str(params) if params else None,
            configs=configs or None,
            limit=limit,
            adapter=str(adapter) if adapter else None,
            eval_path=str(eval_path) if eval_path else None,
            split=split,
            out=str(out) if out else None,
            model=model,
        )
    if as_json:
        emit_json(body)
        return
    files = {k: Path(v) for k, v in body["files"].items()}
    console.print(Markdown(files["markdown"].read_text(encoding="utf-8")))
    console.print(f"report: {files['json']} (charts: {files['metrics'].parent})")
