"""``ragtune decide GAPS.yaml``: RAG, fine-tune, both or neither, per knowledge gap.

Loads the gaps, measures each gap's RAG baseline on the live index, applies the
decision rules, writes a versioned record under ``<state_dir>/decisions/`` and
appends an audit entry. Exit 0 with a record, 2 on bad input (including no
live index yet).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markdown import Markdown

from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.cli.progress_view import progress_bars


@app.command()
def decide(
    gaps_file: Path = typer.Argument(..., help="GAPS.yaml describing the gaps."),
    params: Path | None = PARAMS_OPTION,
    gap: list[str] = typer.Option(
        None, "--gap", help="Decide only this gap (repeatable). Default: all."
    ),
    answers: int | None = typer.Option(
        None,
        "--answers",
        min=0,
        help="Questions per gap the model answers (default: "
        "decision.answer_questions_per_gap; 0: retrieval only).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recommend RAG, fine-tuning, both or neither for each gap, from evidence."""
    from ragtune.app.decision import check_decision_request
    from ragtune.flows.decide import decide as decide_flow

    # bad params, a bad gaps file, an unknown gap or no index: exit 2 before
    # Prefect starts
    check_decision_request(load(params), gaps_file, gap or None)
    with progress_bars("decide: measuring retrieval and answers per gap"):
        record = decide_flow(
            gaps_file=str(gaps_file.resolve()),
            params_path=str(params) if params else None,
            gaps=gap or None,
            answer_questions=answers,
        )
    if as_json:
        emit_json(record)
        return
    console.print(Markdown(Path(record["paths"]["md"]).read_text(encoding="utf-8")))
    console.print(f"record: {record['paths']['json']}")
