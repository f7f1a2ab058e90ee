"""The RAG baseline of one gap, measured after optimisation on its eval slice.

"RAG first" means a fine-tune must be justified against the best RAG setup, not
against a first try. So each gap's slice is run through a small grid (every k in
``k_grid`` x every search mode x with and without a class filter) and the best
setting is kept: among the settings that reach the target, the one that sends
the fewest context tokens (the cheapest to serve); if none reaches it, the one
with the highest figure. Retrieval metrics are measured here for every setting.
Answer metrics (token F1, exact match, format compliance, answer latency) cost a
model call per question, so the answer scorer runs once, on the setting the
retrieval figures chose, and also answers closed book for the comparison;
figures declared in GAPS.yaml fill only what was not measured, and the evidence
records which is which.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ragtune.errors import InputError
from ragtune.tasks.decision import costing
from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.gaps import Gap
from ragtune.tasks.decision.models import (
    AlternativeFigures,
    AnswerFigures,
    Evidence,
    MeasuredAnswers,
    RetrievalSetting,
    SettingResult,
)
from ragtune.tasks.decision.retrievers import ChunkSearch, SearchFactory
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet
from ragtune.tasks.evaluation.retrieval import retrieval_metrics

log = logging.getLogger(__name__)

AnswerScorer = Callable[[Gap, RetrievalSetting, EvalSet], MeasuredAnswers]
"""(gap, chosen retrieval setting, the slice as an eval set) -> answer figures."""


def measure_rag_baseline(
    gap: Gap,
    evalset: EvalSet,
    search_factory: SearchFactory,
    *,
    cfg: DecisionConfig,
    chunk_tokens: float,
    answer_scorer: AnswerScorer | None = None,
) -> Evidence:
    """Run the grid on the gap's slice and return the evidence of the best setting.

    Args:
        gap: The gap (slice, target, volume, declared figures).
        evalset: The BEIR-layout eval set the slice is taken from.
        search_factory: ``(mode, classes, depth) -> query -> doc id per chunk``,
            e.g. :func:`~ragtune.tasks.decision.retrievers.lancedb_search_factory`.
        cfg: Grid, sample size, token counts and prices.
        chunk_tokens: Mean tokens per retrieved chunk (context cost per hit).
        answer_scorer: Answers the slice closed book and with the chosen
            setting; called once per gap when given.

    Raises:
        InputError: the slice names unknown query ids or selects no judged query.
    """
    if gap.eval_slice is None:
        return unmeasured_evidence(gap, cfg)
    queries = slice_queries(gap, evalset, cfg)
    results: list[SettingResult] = []
    depth = max(cfg.k_grid)
    for mode in cfg.search_modes:
        for classes in _filters(gap, cfg):
            search = search_factory(mode, classes, depth)
            results += _run_group(
                gap,
                evalset,
                queries,
                search,
                (mode, classes),
                cfg,
                chunk_tokens,
            )
    best = choose_best(results, gap.accuracy_target.target)
    measured = None
    if answer_scorer is not None and needs_answers(gap):
        judged = replace(evalset, name=f"gap:{gap.name}", queries=queries)
        measured = answer_scorer(gap, best.setting, judged)
        best = replace(
            best,
            answers=measured.rag,
            metric=_metric(
                gap.accuracy_target.metric, best.retrieval["recall_at_k"], measured.rag
            ),
        )
    log.info(
        "gap %s: best of %d settings is %s (%s %s)",
        gap.name,
        len(results),
        best.setting.label,
        gap.accuracy_target.metric,
        "n/a" if best.metric is None else f"{best.metric:.3f}",
    )
    return build_evidence(gap, best, tuple(results), len(queries), cfg, measured)


def needs_answers(gap: Gap) -> bool:
    """Whether the rules need the model's answers: an answer-level target or a
    required format (a recall target is settled by retrieval alone)."""
    return gap.accuracy_target.metric != "recall_at_k" or gap.format is not None


def unmeasured_evidence(gap: Gap, cfg: DecisionConfig) -> Evidence:
    """Evidence for a gap no eval question covers: only what GAPS.yaml declares,
    and a note naming what is missing (no slice is invented for it)."""
    sources: dict[str, str] = {}
    declared = gap.measured
    metric = gap.accuracy_target.metric
    return Evidence(
        gap=gap.name,
        metric=metric,
        target=gap.accuracy_target.target,
        value=_pick(None, getattr(declared, metric, None), metric, sources),
        format_compliance=_pick(
            None,
            getattr(declared, "format_compliance", None),
            "format_compliance",
            sources,
        ),
        fine_tuned=alternative(gap, 0.0, cfg.answer_tokens, cfg, sources),
        query_volume_per_month=gap.query_volume_per_month,
        sources=sources,
        notes=(
            "no eval slice: nothing was measured; add questions with reference "
            "answers for this gap to the eval set and name them in eval_slice",
        ),
    )


def slice_queries(
    gap: Gap, evalset: EvalSet, cfg: DecisionConfig
) -> tuple[EvalQuery, ...]:
    """The judged queries of the gap's slice, a seeded sample of at most
    ``cfg.max_queries_per_gap`` in eval-set order."""
    if gap.eval_slice is None:
        raise InputError(f"gap {gap.name!r} has no eval_slice")
    known = {q.qid for q in evalset.queries}
    unknown = sorted(set(gap.eval_slice.query_ids) - known)
    if unknown:
        raise InputError(
            f"gap {gap.name!r}: eval_slice.query_ids not in eval set "
            f"{evalset.name}: {', '.join(unknown[:5])}"
        )
    ids, classes = set(gap.eval_slice.query_ids), set(gap.eval_slice.classes)
    everything = not ids and not classes  # a gap's own eval set, whole
    picked = [
        q
        for q in evalset.judged()
        if everything or q.qid in ids or query_class(q) in classes
    ]
    if not picked:
        raise InputError(
            f"gap {gap.name!r}: eval_slice selects no judged query of eval set "
            f"{evalset.name} (classes {sorted(classes)}, query ids {sorted(ids)})"
        )
    if len(picked) > cfg.max_queries_per_gap:
        rng = random.Random(cfg.seed)
        chosen = sorted(rng.sample(range(len(picked)), k=cfg.max_queries_per_gap))
        picked = [picked[i] for i in chosen]
    return tuple(picked)


def query_class(query: EvalQuery) -> str | None:
    """A query's freshness class (``metadata.class`` or a top-level ``class``)."""
    return query.metadata.get("class") or query.extra.get("class")


def choose_best(results: Sequence[SettingResult], target: float) -> SettingResult:
    """The cheapest setting that meets ``target``, else the highest-scoring one.

    Settings without the target metric (an answer metric with no scorer) are
    ranked by recall@k instead, fewest context tokens first on ties.
    """
    scored = [r for r in results if r.metric is not None]
    if not scored:
        return min(
            results,
            key=lambda r: (
                -r.retrieval["recall_at_k"],
                r.context_tokens,
                r.setting.label,
            ),
        )
    meeting = [r for r in scored if r.metric >= target]
    if meeting:
        return min(
            meeting, key=lambda r: (r.context_tokens, -r.metric, r.setting.label)
        )
    return min(scored, key=lambda r: (-r.metric, r.context_tokens, r.setting.label))


def _filters(gap: Gap, cfg: DecisionConfig) -> list[tuple[str, ...] | None]:
    if cfg.try_class_filter and gap.eval_slice and gap.eval_slice.classes:
        return [None, tuple(gap.eval_slice.classes)]
    return [None]


def _run_group(
    gap: Gap,
    evalset: EvalSet,
    queries: Sequence[EvalQuery],
    search: ChunkSearch,
    group: tuple[str, tuple[str, ...] | None],
    cfg: DecisionConfig,
    chunk_tokens: float,
) -> list[SettingResult]:
    """Search every query once at the deepest k, then score each k by cutting."""
    docs: dict[str, list[str]] = {}
    timings: list[float] = []
    for query in queries:
        start = time.perf_counter()
        docs[query.qid] = list(search(query.text))
        timings.append((time.perf_counter() - start) * 1000)
    latency = float(np.percentile(timings, 95))
    out = []
    for k in cfg.k_grid:
        setting = RetrievalSetting(group[0], k, group[1])
        rankings = {qid: list(dict.fromkeys(d[:k])) for qid, d in docs.items()}
        metrics = retrieval_metrics(rankings, evalset.qrels, k)
        hits = sum(min(k, len(d)) for d in docs.values()) / len(docs)
        out.append(
            SettingResult(
                setting=setting,
                retrieval={
                    "recall_at_k": metrics.recall_at_k,
                    "mrr": metrics.mrr,
                    "ndcg_at_10": metrics.ndcg_at_10,
                },
                metric=_metric(gap.accuracy_target.metric, metrics.recall_at_k, None),
                context_tokens=hits * chunk_tokens,
                retrieval_latency_p95_ms=latency,
            )
        )
    return out


def _metric(name: str, recall: float, answers: AnswerFigures | None) -> float | None:
    if name == "recall_at_k":
        return recall
    return None if answers is None else getattr(answers, name)


def build_evidence(
    gap: Gap,
    best: SettingResult,
    tried: tuple[SettingResult, ...],
    n_queries: int,
    cfg: DecisionConfig,
    measured: MeasuredAnswers | None = None,
) -> Evidence:
    """Evidence from the best setting, declared figures filling what was not run."""
    declared = gap.measured
    sources: dict[str, str] = {}
    answers = best.answers or AnswerFigures()
    metric = gap.accuracy_target.metric
    value = _pick(best.metric, getattr(declared, metric, None), metric, sources)
    compliance = _pick(
        answers.format_compliance,
        getattr(declared, "format_compliance", None),
        "format_compliance",
        sources,
    )
    answer_ms = _pick(
        answers.latency_p95_ms,
        getattr(declared, "answer_latency_p95_ms", None),
        "answer_latency_p95_ms",
        sources,
    )
    notes = [] if answer_ms is not None else ["latency is retrieval only"]
    latency = best.retrieval_latency_p95_ms + (answer_ms or 0.0)
    tokens_in = answers.tokens_in or costing.prompt_tokens(best.context_tokens, cfg)
    tokens_out = answers.tokens_out or cfg.answer_tokens
    sources["rag_cost"] = "measured tokens" if answers.tokens_in else "estimated"
    rag_1k = costing.cost_per_1k(tokens_in, tokens_out, costing.rag_model(gap, cfg))
    return Evidence(
        gap=gap.name,
        metric=metric,
        target=gap.accuracy_target.target,
        value=value,
        n_queries=n_queries,
        best=best,
        tried=tried,
        format_compliance=compliance,
        rag_cost_per_1k_usd=rag_1k,
        rag_cost_per_month_usd=costing.per_month(rag_1k, gap.query_volume_per_month),
        latency_p95_ms=latency,
        fine_tuned=alternative(
            gap, best.context_tokens, tokens_out, cfg, sources, measured
        ),
        closed_book=None if measured is None else measured.closed_book,
        differences=() if measured is None else measured.differences,
        query_volume_per_month=gap.query_volume_per_month,
        sources=sources,
        notes=tuple(notes),
    )


def alternative(
    gap: Gap,
    context_tokens: float,
    tokens_out: float,
    cfg: DecisionConfig,
    sources: dict[str, str],
    measured: MeasuredAnswers | None = None,
) -> AlternativeFigures:
    """The fine-tuned path: its candidate's measured answers when there are some,
    else declared figures; its serving cost with and without the retrieved
    context (priced when not declared)."""
    declared = gap.measured.fine_tuned if gap.measured else None
    price = costing.fine_tuned_model(gap, cfg)
    cost = declared.cost_per_1k_queries_usd if declared else None
    alone = costing.cost_per_1k(costing.prompt_tokens(0, cfg), tokens_out, price)
    with_rag = costing.cost_per_1k(
        costing.prompt_tokens(context_tokens, cfg), tokens_out, price
    )
    sources["fine_tuned_cost"] = "declared" if cost is not None else "estimated"
    answers = measured.fine_tuned if measured else None
    figures = {
        "metric": _fine_tuned_metric(gap, answers),
        "format_compliance": answers.format_compliance if answers else None,
        "latency_p95_ms": answers.latency_p95_ms if answers else None,
    }
    if answers is not None:
        sources["fine_tuned"] = "measured"
    elif declared is not None:
        sources["fine_tuned"] = "declared"
        figures = {
            "metric": declared.metric,
            "format_compliance": declared.format_compliance,
            "latency_p95_ms": declared.latency_p95_ms,
        }
    return AlternativeFigures(
        **figures,
        cost_per_1k_usd=alone if cost is None else cost,
        cost_with_rag_per_1k_usd=with_rag if cost is None else cost,
        model=price.name,
        answers=answers,
        gains=measured.fine_tune_gains if measured else (),
        configurations=measured.fine_tuned_configs if measured else (),
    )


def _fine_tuned_metric(gap: Gap, answers: AnswerFigures | None) -> float | None:
    metric = gap.accuracy_target.metric
    if answers is None or metric == "recall_at_k":
        return None
    return getattr(answers, metric)


def _pick(
    measured: float | None, declared: float | None, name: str, sources: dict[str, str]
) -> float | None:
    if measured is not None:
        sources[name] = "measured"
        return measured
    if declared is not None:
        sources[name] = "declared"
        return declared
    return None
