"""Answer-level evidence for a gap: the configured model answers the gap's slice.

The decision rules compare figures such as token F1 or format compliance with a
gap's target. Those figures must come from answers, not from a file: this scorer
runs the evaluation harness on the slice with two configurations, the base model
closed book and the base model with the retrieval setting the grid chose, and
returns both with their bootstrap intervals and the paired difference. It is the
same harness ``ragtune eval`` runs, so a decision's figures and an evaluation's
are computed alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.tasks.decision.gaps import HARNESS_METRIC, Gap
from ragtune.tasks.decision.models import (
    AnswerFigures,
    MeasuredAnswers,
    RetrievalSetting,
)
from ragtune.tasks.evaluation.beir import EvalSet
from ragtune.tasks.evaluation.bootstrap import PairedDiff
from ragtune.tasks.evaluation.config import EvaluationConfig, ModelPrice
from ragtune.tasks.evaluation.harness import (
    HarnessConfig,
    Prompts,
    Retriever,
    run_harness,
)
from ragtune.tasks.evaluation.harness_report import ConfigResult, HarnessReport
from ragtune.tasks.generation.base import GenerationParams, Generator

log = logging.getLogger(__name__)

RetrieverFor = Callable[[tuple[str, ...] | None], Retriever]
"""Class filter -> a retriever (question -> hits with full text) on the index."""

CLOSED_BOOK, WITH_RAG = "base", "base+rag"
FINE_TUNED, FINE_TUNED_RAG = "fine-tuned", "fine-tuned+rag"


@dataclass(frozen=True)
class Candidate:
    """A gap's fine-tuned candidate: its generator and what it is (e.g. the
    registry version), for the record."""

    generator: Generator
    label: str


CandidateFor = Callable[[Gap], Candidate | None]
"""Gap -> its fine-tuned candidate, or None when none was trained for it."""


@dataclass
class HarnessAnswerScorer:
    """Measures a gap's answers with one generator; callable as an ``AnswerScorer``.

    Attributes:
        generator: The configured answering model (``generation:``).
        retriever_for: Builds the retriever for a class filter.
        prompts: Templates with and without sources.
        params: Decoding settings.
        eval_cfg: Bootstrap settings, context size, prices.
        price: Entry of ``prices`` that costs the answers (None: unknown).
        max_answers: Questions answered per gap (a seeded sample of the slice).
        on_answer: Progress callback (configuration, qid).
        candidate_for: The gap's fine-tuned candidate, answered with and
            without retrieval beside the base model when there is one.
    """

    generator: Generator
    retriever_for: RetrieverFor
    prompts: Prompts
    params: GenerationParams
    eval_cfg: EvaluationConfig
    prices: Mapping[str, ModelPrice]
    price: str | None
    max_answers: int
    on_answer: Callable[[str, str], None] | None = None
    candidate_for: CandidateFor | None = None

    def __call__(
        self, gap: Gap, setting: RetrievalSetting, evalset: EvalSet
    ) -> MeasuredAnswers:
        """Answer the slice (``evalset``: its queries and judgements) closed book
        and with ``setting``'s retrieval."""
        cfg = self.eval_cfg.model_copy(
            update={
                "answer_format": gap_format(gap),
                "context_k": min(self.eval_cfg.context_k, setting.k),
                "search_k": setting.k,
                "compare_metrics": tuple(HARNESS_METRIC.values()),
            }
        )
        configs = [
            HarnessConfig(CLOSED_BOOK, "base", rag=False, price=self.price),
            HarnessConfig(WITH_RAG, "base", rag=True, price=self.price),
        ]
        generators = {"base": self.generator}
        candidate = self.candidate_for(gap) if self.candidate_for else None
        if candidate is not None:
            log.info("gap %s: also answering with %s", gap.name, candidate.label)
            generators["fine-tuned"] = candidate.generator
            configs += [
                HarnessConfig(FINE_TUNED, "fine-tuned", rag=False, price=self.price),
                HarnessConfig(FINE_TUNED_RAG, "fine-tuned", rag=True, price=self.price),
            ]
        report = run_harness(
            configs,
            evalset,
            self.retriever_for(setting.classes),
            generators,
            self.prices,
            cfg=cfg,
            prompts=self.prompts,
            params=self.params,
            limit=self.max_answers,
            on_answer=self.on_answer,
        )
        label = candidate.label if candidate else None
        return measured_answers(report, setting, gap.accuracy_target.metric, label)


def measured_answers(
    report: HarnessReport,
    setting: RetrievalSetting,
    metric: str = "token_f1",
    candidate: str | None = None,
) -> MeasuredAnswers:
    """The configurations' figures and their paired differences: retrieval's gain
    over closed book, and the fine-tuned candidate's (its better configuration
    on the gap's ``metric``) over base + RAG."""
    by_name = {c.name: c for c in report.configs}
    diffs = tuple(
        _gain(c, WITH_RAG)
        for c in report.comparisons
        if {c.a, c.b} == {CLOSED_BOOK, WITH_RAG}
    )
    best, gains = None, ()
    tuned = [by_name[n] for n in (FINE_TUNED, FINE_TUNED_RAG) if n in by_name]
    both = tuple(
        figures(
            c, f"{c.name} ({candidate}, {setting.label if c.rag else 'closed book'})"
        )
        for c in tuned
    )
    if tuned:
        harness_metric = HARNESS_METRIC.get(metric, "token_f1")
        chosen = max(tuned, key=lambda c: c.value(harness_metric) or 0.0)
        best = both[tuned.index(chosen)]
        gains = tuple(
            _gain(c, chosen.name)
            for c in report.comparisons
            if {c.a, c.b} == {chosen.name, WITH_RAG}
        )
    return MeasuredAnswers(
        closed_book=figures(by_name[CLOSED_BOOK], f"{CLOSED_BOOK}, closed book"),
        rag=figures(by_name[WITH_RAG], f"{WITH_RAG} ({setting.label})"),
        differences=diffs,
        qids=report.qids,
        fine_tuned=best,
        fine_tune_gains=gains,
        fine_tuned_configs=both,
    )


def figures(result: ConfigResult, label: str) -> AnswerFigures:
    """A harness configuration's means, intervals, latency and tokens."""
    summary = result.to_dict()
    metrics = summary["metrics"]
    means: dict[str, float | None] = {}
    intervals: dict[str, list[float]] = {}
    for gap_metric, name in HARNESS_METRIC.items():
        m = metrics.get(name) or {}
        means[gap_metric] = m.get("mean")
        if m.get("ci_low") is not None:
            intervals[gap_metric] = [m["ci_low"], m["ci_high"]]
    return AnswerFigures(
        token_f1=means["token_f1"],
        exact_match=means["exact_match"],
        format_compliance=means["format_compliance"],
        latency_p95_ms=summary["latency_p95_s"] * 1000,
        tokens_in=summary["tokens_in_mean"],
        tokens_out=summary["tokens_out_mean"],
        n=len(summary["per_query"]),
        ci=intervals,
        configuration=label,
        model=result.generator,
    )


def gap_format(gap: Gap) -> dict[str, Any] | None:
    """The gap's required format as the harness takes it (schema file read)."""
    if gap.format is None:
        return None
    if gap.format.regex is not None:
        return {"regex": gap.format.regex}
    schema_path = Path(str(gap.format.json_schema))
    return {"json_schema": json.loads(schema_path.read_text(encoding="utf-8"))}


def _gain(diff: PairedDiff, ahead: str) -> dict[str, Any]:
    """A paired difference as (``ahead`` - the other), whichever way it ran."""
    sign = 1.0 if diff.a == ahead else -1.0
    low, high = sorted((sign * diff.ci_low, sign * diff.ci_high))
    return {
        "metric": _gap_metric(diff.metric),
        "gain": sign * diff.mean_diff,
        "ci_low": low,
        "ci_high": high,
        "p_value": diff.p_value,
        "n": diff.n,
        "significant": diff.significant,
    }


def _gap_metric(harness_metric: str) -> str:
    return {v: k for k, v in HARNESS_METRIC.items()}.get(harness_metric, harness_metric)
