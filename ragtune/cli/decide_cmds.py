"""``ragtune decide GAPS.yaml``: RAG, fine-tune, both or neither, per knowledge gap.

Loads the gaps, measures each gap's RAG baseline on the live index, applies the
decision rules, writes a versioned record under ``<state_dir>/decisions/`` and
appends an audit entry. Exit 0 with a record, 2 on bad input (including no
live index yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markdown import Markdown

from ragtune.cli.app import PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import InputError
from ragtune.settings import Settings

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout.")


@app.command()
def decide(
    gaps_file: Path = typer.Argument(..., help="GAPS.yaml describing the gaps."),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Recommend RAG, fine-tuning, both or neither for each gap, from evidence."""
    settings = load(params)
    with console.status("measuring the RAG baseline per gap", spinner="dots"):
        record, paths = run_decide(settings, gaps_file)
    if as_json:
        emit_json({**record, "paths": {"json": paths.json, "md": paths.markdown}})
        return
    console.print(Markdown(paths.markdown.read_text(encoding="utf-8")))
    console.print(f"record: {paths.json}")


def run_decide(settings: Settings, gaps_file: Path) -> tuple[dict[str, Any], Any]:
    """Measure, decide, write the record and audit it; returns (record, paths)."""
    from ragtune.tasks.decision import (
        audit_record,
        build_record,
        decide_gaps,
        file_sha256,
        lancedb_search_factory,
        load_gaps,
        mean_chunk_tokens,
        write_record,
    )
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.evaluation.beir import load_beir

    cfg = _decision_config(settings)
    classes = settings.freshness.classes
    gaps = load_gaps(gaps_file, known_classes=classes)
    table, index = _live_index(settings)
    evalset = load_beir(settings.path(settings.data.eval_path))
    embedder = build_embedder(settings.embedding)
    decisions = decide_gaps(
        gaps,
        evalset,
        lancedb_search_factory(table, embedder, settings.index),
        cfg=cfg,
        chunk_tokens=mean_chunk_tokens(table, cfg.chars_per_token),
        volatile_classes={name for name, c in classes.items() if c.volatile},
        estimator_cfg=getattr(settings, "estimate", None),
    )
    record = build_record(
        decisions,
        gaps_file=gaps_file.resolve(),
        gaps_sha256=file_sha256(gaps_file),
        index=index,
        eval_set={
            "name": evalset.name,
            "split": evalset.split,
            "queries": len(evalset.queries),
        },
        cfg=cfg,
        organisation=gaps.organisation,
    )
    folder = settings.path(settings.project.state_dir) / "decisions"
    paths = write_record(record, folder)
    audit_record(record, paths, settings.path(settings.project.audit_log), "cli")
    return {**record, "record_id": paths.record_id}, paths


def _decision_config(settings: Settings):  # noqa: ANN202 - DecisionConfig
    from ragtune.tasks.decision.config import DecisionConfig

    return getattr(settings, "decision", None) or DecisionConfig()


def _live_index(settings: Settings) -> tuple[Any, dict[str, Any]]:
    from ragtune.tasks.index.publish import list_tags, open_live

    uri = settings.uri(settings.index.uri)
    table = open_live(uri, settings.index.table)
    if table is None:
        raise InputError(
            f"no live index at {uri}: run `ragtune refresh` (or `ragtune demo`) "
            "before `ragtune decide`"
        )
    live = next((t for t in list_tags(uri, settings.index.table) if t.live), None)
    index = {
        "uri": uri,
        "table": settings.index.table,
        "tag": None if live is None else live.tag,
        "version": table.version,
        "data_hash": None if live is None else live.data_hash,
    }
    return table, index
