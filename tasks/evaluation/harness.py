"""The evaluation harness: every configuration answers the same queries, scored alike.

Configurations follow the decision framework: the base model with prompting only,
base + RAG, and, when an adapter exists, fine-tuned and fine-tuned + RAG. Each one
is measured on answers (EM, F1, format, citations), retrieval (RAG only), latency,
tokens and cost, and every pair is compared with a paired bootstrap, because a
fine-tune is kept only when it beats base + prompting and base + RAG by a margin
that is not noise.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtune import progress
from ragtune.errors import InputError
from ragtune.tasks.evaluation.answers import (
    FormatSpec,
    reference_answers,
    score_answer,
)
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet
from ragtune.tasks.evaluation.bootstrap import paired_bootstrap
from ragtune.tasks.evaluation.config import EvaluationConfig, ModelPrice
from ragtune.tasks.evaluation.harness_report import (
    ConfigResult,
    HarnessReport,
    ScoredAnswer,
)
from ragtune.tasks.evaluation.retrieval import retrieval_metrics
from ragtune.tasks.generation.base import GenerationParams, Generator
from ragtune.tasks.generation.prompts import ContextSource, PromptTemplate

log = logging.getLogger(__name__)

# question (and, for a dated question, its as_of day) -> hits, best first
Retriever = Callable[..., Sequence[Any]]
"""Question -> hits, best first; each has ``doc_id`` and ``text`` (or ``snippet``),
and optionally ``title``: ``SearchHit`` or anything shaped like it."""


@dataclass(frozen=True)
class HarnessConfig:
    """One configuration: which generator answers, and whether it gets sources.

    ``price`` names the entry of the price table (``evaluation.prices``) that
    costs its answers; None leaves cost unknown.
    """

    name: str
    generator: str
    rag: bool
    price: str | None = None


def standard_configs(fine_tuned: bool, price: str | None = None) -> list[HarnessConfig]:
    """base, base+rag and, with an adapter, fine-tuned and fine-tuned+rag.

    Generator keys are ``"base"`` and ``"fine-tuned"``.
    """
    configs = [
        HarnessConfig("base", "base", rag=False, price=price),
        HarnessConfig("base+rag", "base", rag=True, price=price),
    ]
    if fine_tuned:
        configs += [
            HarnessConfig("fine-tuned", "fine-tuned", rag=False, price=price),
            HarnessConfig("fine-tuned+rag", "fine-tuned", rag=True, price=price),
        ]
    return configs


@dataclass(frozen=True)
class Prompts:
    """The two prompt templates and how much source text a prompt may hold."""

    with_context: PromptTemplate
    without_context: PromptTemplate
    max_context_chars: int = 4000


@dataclass(frozen=True)
class _Run:
    """What every answer of one harness run shares."""

    retrieved: _Retrieved | None
    prompts: Prompts
    params: GenerationParams
    prices: Mapping[str, ModelPrice]
    cfg: EvaluationConfig


@dataclass
class _Retrieved:
    sources: dict[str, list[ContextSource]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rankings: dict[str, list[str]] = field(default_factory=dict)


def sample_queries(
    evalset: EvalSet, limit: int | None, seed: int
) -> tuple[EvalQuery, ...]:
    """All queries, or a seeded sample of ``limit`` of them in set order."""
    queries = evalset.queries
    if limit is None or limit >= len(queries):
        return queries
    picked = sorted(random.Random(seed).sample(range(len(queries)), limit))
    return tuple(queries[i] for i in picked)


def run_harness(
    configs: Sequence[HarnessConfig],
    evalset: EvalSet,
    retrieve: Retriever | None,
    generators: Mapping[str, Generator],
    prices: Mapping[str, ModelPrice],
    *,
    cfg: EvaluationConfig,
    prompts: Prompts,
    params: GenerationParams,
    limit: int | None = None,
    on_answer: Callable[[str, str], None] | None = None,
) -> HarnessReport:
    """Run every configuration on the (sampled) queries and compare them.

    Args:
        configs: Configurations to run (``standard_configs`` for the usual four).
        evalset: Queries with reference answers (``metadata.answer``) and qrels.
        retrieve: Question -> hits; required when a configuration uses RAG.
        generators: Generator per key named in ``configs``.
        prices: Price table; a configuration's ``price`` names its entry.
        cfg: Cut-offs, sample size, bootstrap settings.
        prompts: Templates with and without retrieved sources.
        params: Decoding settings, the same for every configuration.
        limit: Overrides ``cfg.limit`` (seeded sample of that many queries).
        on_answer: Called with (configuration, qid) after each answer (progress).

    Returns:
        Per-configuration results and paired comparisons.
    """
    _check_configs(configs, generators, retrieve)
    queries = sample_queries(evalset, limit or cfg.limit, cfg.seed)
    retrieved = _retrieve_all(queries, retrieve, cfg) if _any_rag(configs) else None
    retrieval = (
        retrieval_metrics(
            retrieved.rankings,
            evalset.qrels,
            cfg.k,
            dated={q.qid for q in queries if q.as_of},
        ).summary()
        if retrieved
        else None
    )
    run = _Run(retrieved, prompts, params, prices, cfg)
    results = []
    for config in configs:
        generator = generators[config.generator]
        records = []
        with progress.step(f"{evalset.name}: {config.name}", len(queries)) as bar:
            for query in queries:
                records.append(_answer(query, config, generator, run))
                bar.advance()
                if on_answer is not None:
                    on_answer(config.name, query.qid)
        scope = retrieval if config.rag else None
        results.append(
            ConfigResult.from_records(
                config.name,
                generator.name,
                config.price,
                records,
                scope,
                cfg,
                rag=config.rag,
            )
        )
    return HarnessReport(
        evalset=evalset.name,
        split=evalset.split,
        qids=tuple(q.qid for q in queries),
        configs=tuple(results),
        comparisons=tuple(_compare(results, cfg)),
        meta=_meta(cfg, prompts, params, len(evalset.queries)),
    )


def _any_rag(configs: Sequence[HarnessConfig]) -> bool:
    return any(c.rag for c in configs)


def _check_configs(
    configs: Sequence[HarnessConfig],
    generators: Mapping[str, Generator],
    retrieve: Retriever | None,
) -> None:
    if not configs:
        raise InputError("no configuration to evaluate")
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise InputError(f"configuration names repeat: {names}")
    missing = sorted({c.generator for c in configs} - set(generators))
    if missing:
        raise InputError(f"no generator for {', '.join(missing)}")
    if _any_rag(configs) and retrieve is None:
        raise InputError("RAG configurations need a retriever (a live index)")


def as_source(hit: Any) -> ContextSource:
    """A ``SearchHit``-like object as a prompt source (full text when it has one)."""
    text = getattr(hit, "text", None) or getattr(hit, "snippet", "")
    return ContextSource(hit.doc_id, text, getattr(hit, "title", "") or "")


def _retrieve_all(
    queries: Sequence[EvalQuery], retrieve: Retriever | None, cfg: EvaluationConfig
) -> _Retrieved:
    """Retrieval once per query, shared by every RAG configuration."""
    assert retrieve is not None  # checked by _check_configs
    out = _Retrieved()
    for q in queries:
        start = time.perf_counter()
        found = retrieve(q.text, q.as_of) if q.as_of else retrieve(q.text)
        hits = list(found)[: cfg.search_k]
        out.seconds[q.qid] = time.perf_counter() - start
        out.rankings[q.qid] = list(dict.fromkeys(h.doc_id for h in hits))
        out.sources[q.qid] = [as_source(h) for h in hits[: cfg.context_k]]
    return out


def _answer(
    query: EvalQuery,
    config: HarnessConfig,
    generator: Generator,
    run: _Run,
) -> ScoredAnswer:
    """Prompt, generate and score one query; cost from the price table."""
    retrieved, prompts, cfg = run.retrieved, run.prompts, run.cfg
    sources = retrieved.sources[query.qid] if config.rag and retrieved else []
    template = prompts.with_context if config.rag else prompts.without_context
    messages = template.render(query.text, sources, prompts.max_context_chars)
    gen = generator.generate(messages, run.params)
    by_doc: dict[str, str] = {}
    for s in sources:  # a document's retrieved chunks, joined
        by_doc[s.doc_id] = f"{by_doc.get(s.doc_id, '')}\n{s.text}"
    scores = score_answer(
        query.qid,
        gen.text,
        reference_answers(query.metadata, query.extra),
        by_doc if config.rag else None,
        _format(query, cfg),
    )
    price = run.prices.get(config.price) if config.price else None
    retrieval_s = retrieved.seconds[query.qid] if config.rag and retrieved else 0.0
    return ScoredAnswer(
        qid=query.qid,
        answer=gen.text,
        scores=scores,
        sources=tuple(by_doc),
        latency_s=retrieval_s + gen.latency_s,
        tokens_in=gen.tokens_in,
        tokens_out=gen.tokens_out,
        cost_usd=(
            None
            if price is None
            else price.cost(gen.tokens_in, gen.tokens_out, gen.latency_s)
        ),
        finish_reason=gen.finish_reason,
    )


def _format(query: EvalQuery, cfg: EvaluationConfig) -> FormatSpec | None:
    raw = query.metadata.get("format", query.extra.get("format"))
    return FormatSpec.parse(raw if raw is not None else cfg.answer_format)


def _compare(results: Sequence[ConfigResult], cfg: EvaluationConfig) -> list:
    """Paired bootstrap of every compared metric for every pair of configurations."""
    out = []
    for a, b in itertools.combinations(results, 2):
        for metric in cfg.compare_metrics:
            left, right = a.per_query(metric), b.per_query(metric)
            if not set(left) & set(right):
                continue  # not applicable to one side (e.g. citations without RAG)
            out.append(
                paired_bootstrap(
                    left,
                    right,
                    metric=metric,
                    names=(a.name, b.name),
                    n_resamples=cfg.bootstrap_resamples,
                    confidence=cfg.confidence,
                    seed=cfg.seed,
                )
            )
    return out


def _meta(
    cfg: EvaluationConfig, prompts: Prompts, params: GenerationParams, n_total: int
) -> dict[str, Any]:
    return {
        "queries_in_set": n_total,
        "seed": cfg.seed,
        "k": cfg.k,
        "search_k": cfg.search_k,
        "context_k": cfg.context_k,
        "confidence": cfg.confidence,
        "bootstrap_resamples": cfg.bootstrap_resamples,
        "primary_metric": cfg.primary_metric,
        "max_new_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "prompt_with_context": prompts.with_context.ref,
        "prompt_without_context": prompts.without_context.ref,
    }
