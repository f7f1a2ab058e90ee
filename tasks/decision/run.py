"""One decision run from params: measure each gap's RAG baseline on the live index,
apply the rules, write the versioned record and its audit entry.

Called by the ``decide`` flow (which publishes the ``decision-record`` artifact)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.settings import Settings


def run_decision(
    settings: Settings,
    gaps_file: Path,
    actor: str = "cli",
    *,
    only: Sequence[str] | None = None,
    answer_questions: int | None = None,
    secret_resolver: Callable[[str], str] | None = None,
    on_answer: Callable[[str, str], None] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Measure, decide, write the record and audit it; returns (record, paths).

    The configured generator answers each gap's slice (closed book and with the
    chosen retrieval) unless ``decision.answer_questions_per_gap`` is 0.

    Args:
        settings: Loaded params.yaml.
        gaps_file: GAPS.yaml.
        actor: Who asked, for the audit log.
        only: Decide only these gaps (names); default all.
        answer_questions: Overrides ``decision.answer_questions_per_gap``.
        secret_resolver: Reads a Prefect Secret block (endpoint key).
        on_answer: Progress callback (configuration, qid).
    """
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
    from ragtune.tasks.decision.evidence import needs_answers
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.evaluation.beir import load_beir

    cfg = _decision_config(settings)
    if answer_questions is not None:
        cfg = cfg.model_copy(update={"answer_questions_per_gap": answer_questions})
    classes = settings.freshness.classes
    gaps = select_gaps(load_gaps(gaps_file, known_classes=classes), only)
    table, index = _live_index(settings)
    evalset = load_beir(settings.path(settings.data.eval_path))
    own_sets = {
        g.name: load_beir(g.eval_slice.eval_set)
        for g in gaps.gaps
        if g.eval_slice is not None and g.eval_slice.eval_set is not None
    }
    embedder = build_embedder(settings.embedding)
    scorer = None
    # Loading the model takes seconds: only when some gap's rules need answers.
    if cfg.answer_questions_per_gap > 0 and any(needs_answers(g) for g in gaps.gaps):
        scorer = answer_scorer(
            settings, table, embedder, cfg, secret_resolver, on_answer
        )
    decisions = decide_gaps(
        gaps,
        evalset,
        lancedb_search_factory(table, embedder, settings.index),
        gap_evalsets=own_sets,
        cfg=cfg,
        chunk_tokens=mean_chunk_tokens(table, cfg.chars_per_token),
        volatile_classes={name for name, c in classes.items() if c.volatile},
        estimator_cfg=getattr(settings, "estimate", None),
        answer_scorer=scorer,
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


def select_gaps(gaps: Any, only: Sequence[str] | None) -> Any:
    """The gaps file with only the named gaps, in the file's order.

    Raises:
        InputError: a name is not a gap of the file.
    """
    if not only:
        return gaps
    names = [g.name for g in gaps.gaps]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise InputError(
            f"unknown gap(s) {', '.join(unknown)}; the file has: {', '.join(names)}"
        )
    return gaps.model_copy(update={"gaps": [g for g in gaps.gaps if g.name in only]})


def answer_scorer(
    settings: Settings,
    table: Any,
    embedder: Any,
    cfg: Any,
    secret_resolver: Callable[[str], str] | None = None,
    on_answer: Callable[[str, str], None] | None = None,
) -> Any:
    """The harness scorer with the configured generator on the live index; a
    gap's fine-tuned candidate in the registry answers beside it."""
    from ragtune.tasks.decision.answering import Candidate, HarnessAnswerScorer
    from ragtune.tasks.evaluation.retriever import index_retriever
    from ragtune.tasks.evaluation.run import load_prompts, price_key
    from ragtune.tasks.generation.factory import build_generator, generation_params
    from ragtune.tasks.registry.lookup import gap_candidate

    gen = settings.generation
    depth = settings.evaluation.search_k

    def candidate_for(gap: Any) -> Candidate | None:
        found = gap_candidate(settings, gap.name)
        if found is None:
            return None
        info, adapter = found
        tuned = gen.model_copy(update={"adapter": adapter})
        return Candidate(
            build_generator(
                tuned,
                settings.training,
                root=settings.root,
                secret_resolver=secret_resolver,
            ),
            f"registry v{info.version}",
        )

    return HarnessAnswerScorer(
        generator=build_generator(
            gen, settings.training, root=settings.root, secret_resolver=secret_resolver
        ),
        retriever_for=lambda classes: index_retriever(
            table, embedder, depth, settings.index, classes
        ),
        prompts=load_prompts(settings),
        params=generation_params(gen),
        eval_cfg=settings.evaluation,
        prices=settings.evaluation.prices,
        price=price_key(gen),
        max_answers=cfg.answer_questions_per_gap,
        on_answer=on_answer,
        candidate_for=candidate_for,
    )


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
