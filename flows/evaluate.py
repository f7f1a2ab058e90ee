"""evaluate: retrieval and answer metrics per configuration on the eval set.

Steps: sample the BEIR eval set (seeded) -> answer with each configuration (base,
base + RAG, and with an adapter fine-tuned and fine-tuned + RAG) on the live index
-> score, bootstrap the differences -> write JSON, markdown and PNG charts ->
publish the ``eval-report`` artifact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from ragtune.app.catalog import Catalog
from ragtune.app.evaluation import evaluate as run_evaluation
from ragtune.flows._wiring import prefect_secret, run_settings, step

evaluate_task = step(run_evaluation, "run-harness")


@flow(name="evaluate", flow_run_name="eval-{split}")
def evaluate(
    params_path: str | None = None,
    configs: list[str] | None = None,
    limit: int | None = None,
    adapter: str | None = None,
    eval_path: str | None = None,
    split: str = "test",
    out: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Returns the report as JSON, with the paths of the files it wrote."""
    settings = run_settings(params_path)
    report = evaluate_task(
        settings,
        config_names=configs,
        limit=limit,
        adapter=Path(adapter) if adapter else None,
        eval_path=Path(eval_path) if eval_path else None,
        split=split,
        model=model,
        secret_resolver=prefect_secret,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    state = Catalog.from_settings(settings).state_dir
    files = report.write(Path(out) if out else state / "reports" / "eval" / stamp)
    create_markdown_artifact(
        key="eval-report",
        markdown=report.to_markdown(),
        description="Metrics per configuration with bootstrap intervals",
    )
    create_table_artifact(
        key="eval-metrics",
        table=_rows(report.to_dict()),
        description="One row per configuration",
    )
    return {**report.to_dict(), "files": {k: str(v) for k, v in files.items()}}


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per configuration: its scalar fields and its metric means."""
    rows = []
    for name, config in body.get("configs", {}).items():
        scalars = {k: v for k, v in config.items() if not isinstance(v, dict | list)}
        metrics = config.get("metrics", {})
        rows.append({"configuration": name, **scalars, **metrics})
    return rows
