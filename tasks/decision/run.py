"""One decision run from params: measure each gap's RAG baseline on the live index,
apply the rules, write the versioned record and its audit entry.

Called by the ``decide`` flow (which publishes the ``decision-record`` artifact)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.settings import Settings


def run_decision(
    settings: Settings, gaps_file: Path, actor: str = "cli"
) -> tuple[dict[str, Any], Any]:
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
    audit_record(record, paths, settings.path(settings.project.audit_log), actor)
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
