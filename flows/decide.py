"""decide: RAG, fine-tune, both or neither per knowledge gap, from measured evidence.

Steps: load GAPS.yaml -> measure each gap's RAG baseline on the live index (a grid of
k and retrieval modes on the gap's eval slice) -> the configured model answers the
slice closed book and with the chosen retrieval -> apply the decision rules -> write
the versioned record and audit it -> publish it as the ``decision-record`` artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from ragtune.app.decision import run_decision
from ragtune.flows._wiring import prefect_secret, run_settings, step

decide_task = step(run_decision, "measure-and-decide")


@flow(name="decide", flow_run_name="decide-{gaps_file}")
def decide(
    gaps_file: str,
    params_path: str | None = None,
    gaps: list[str] | None = None,
    answer_questions: int | None = None,
) -> dict[str, Any]:
    """Returns the decision record (JSON) with the paths it was written to.

    ``gaps`` limits the run to the named gaps; ``answer_questions`` overrides how
    many questions per gap the model answers.
    """
    settings = run_settings(params_path)
    record, paths = decide_task(
        settings,
        Path(gaps_file),
        "decide-flow",
        only=gaps,
        answer_questions=answer_questions,
        secret_resolver=prefect_secret,
    )
    markdown = Path(paths.markdown).read_text(encoding="utf-8")
    create_markdown_artifact(
        key="decision-record",
        markdown=markdown,
        description="Per-gap recommendation, the rules that fired, their numbers",
    )
    return {**record, "paths": {"json": str(paths.json), "md": str(paths.markdown)}}
