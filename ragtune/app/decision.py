"""One decision run from params: measure each gap's RAG baseline on the live index,
apply the rules, write the versioned record and its audit entry.

Called by the ``decide`` flow (which publishes the ``decision-record`` artifact)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings


def check_decision_request(
    settings: Settings, gaps_file: Path, only: Sequence[str] | None = None
) -> None:
    """The checks that measure nothing, run by the CLI before Prefect starts (a
    flow run costs seconds before its first step; the flow runs them again for
    runs started elsewhere): the gaps file reads and validates, every gap asked
    for is in it, and an index is live to measure against.

    Raises:
        InputError: naming the file, the gap or the missing index.
    """
    from ragtune.tasks.decision.gaps import load_gaps

    load_gaps(gaps_file, known_classes=settings.freshness.classes).select(only)
    Catalog.from_settings(settings).index.require_live("decide")


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
    from ragtune.tasks.decision.evidence import needs_answers
    from ragtune.tasks.decision.gaps import file_sha256, load_gaps
    from ragtune.tasks.decision.pipeline import decide_gaps
    from ragtune.tasks.decision.record import audit_record, build_record, write_record
    from ragtune.tasks.decision.retrievers import (
        lancedb_search_factory,
        mean_chunk_tokens,
    )
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.evaluation.beir import load_beir

    catalog = Catalog.from_settings(settings)
    cfg = settings.decision
    if answer_questions is not None:
        cfg = cfg.model_copy(update={"answer_questions_per_gap": answer_questions})
    classes = settings.freshness.classes
    gaps = load_gaps(gaps_file, known_classes=classes).select(only)
    table = catalog.index.require_live("decide")
    index = catalog.index.describe(table)
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
            settings, catalog, table, embedder, cfg, secret_resolver, on_answer
        )
    decisions = decide_gaps(
        gaps,
        evalset,
        lancedb_search_factory(table, embedder, settings.index),
        gap_evalsets=own_sets,
        cfg=cfg,
        chunk_tokens=mean_chunk_tokens(table, cfg.chars_per_token),
        volatile_classes={name for name, c in classes.items() if c.volatile},
        estimator_cfg=settings.estimate,
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
    paths = write_record(record, catalog.decisions_dir)
    audit_record(record, paths, catalog.audit(), actor)
    return {**record, "record_id": paths.record_id}, paths


def answer_scorer(
    settings: Settings,
    catalog: Catalog,
    table: Any,
    embedder: Any,
    cfg: Any,
    secret_resolver: Callable[[str], str] | None = None,
    on_answer: Callable[[str, str], None] | None = None,
) -> Any:
    """The harness scorer with the configured generator on the live index; a
    gap's fine-tuned candidate in the registry answers beside it."""
    from ragtune.app.evaluation import load_prompts, price_key
    from ragtune.tasks.decision.answering import Candidate, HarnessAnswerScorer
    from ragtune.tasks.generation.factory import build_generator, generation_params
    from ragtune.tasks.index.retrieval import index_retriever
    from ragtune.tasks.registry.lookup import gap_candidate

    gen = settings.generation
    depth = settings.evaluation.search_k
    registry = catalog.open_registry()

    def candidate_for(gap: Any) -> Candidate | None:
        found = gap_candidate(registry, catalog.adapter_cache, gap.name)
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
