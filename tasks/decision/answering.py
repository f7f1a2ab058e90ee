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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragtune.tasks.decision.gaps import Gap
from ragtune.tasks.decision.models import (
    AnswerFigures,
    MeasuredAnswers,
    RetrievalSetting,
)
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet
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

# Gap metric name -> the harness's per-query metric.
_HARNESS_METRIC = {
    "token_f1": "token_f1",
    "exact_match": "exact_match",
    "format_compliance": "format_ok",
}
CLOSED_BOOK, WITH_RAG = "base", "base+rag"


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
        qrels: The eval set's judgements (the harness reports retrieval figures
            of the RAG configuration from them).
        on_answer: Progress callback (configuration, qid).
    """

    generator: Generator
    retriever_for: RetrieverFor
    prompts: Prompts
    params: GenerationParams
    eval_cfg: EvaluationConfig
    prices: Mapping[str, ModelPrice]
    price: str | None
    max_answers: int
    qrels: Mapping[str, dict[str, int]] = field(default_factory=dict)
    on_answer: Callable[[str, str], None] | None = None

    def __call__(
        self, gap: Gap, setting: RetrievalSetting, queries: Sequence[EvalQuery]
    ) -> MeasuredAnswers:
        """Answer the slice closed book and with ``setting``'s retrieval."""
        judged = {q.qid: dict(self.qrels.get(q.qid, {})) for q in queries}
        evalset = EvalSet(f"gap:{gap.name}", "test", tuple(queries), judged)
        cfg = self.eval_cfg.model_copy(
            update={
                "answer_format": gap_format(gap),
                "context_k": min(self.eval_cfg.context_k, setting.k),
                "search_k": setting.k,
                "compare_metrics": tuple(_HARNESS_METRIC.values()),
            }
        )
        configs = [
            HarnessConfig(CLOSED_BOOK, "base", rag=False, price=self.price),
            HarnessConfig(WITH_RAG, "base", rag=True, price=self.price),
        ]
        report = run_harness(
            configs,
            evalset,
            self.retriever_for(setting.classes),
            {"base": self.generator},
            self.prices,
            cfg=cfg,
            prompts=self.prompts,
            params=self.params,
            limit=self.max_answers,
            on_answer=self.on_answer,
        )
        return measured_answers(report, setting)


def measured_answers(
    report: HarnessReport, setting: RetrievalSetting
) -> MeasuredAnswers:
    """The two configurations' figures and their paired differences."""
    by_name = {c.name: c for c in report.configs}
    diffs = tuple(
        _gain(c) for c in report.comparisons if {c.a, c.b} == {CLOSED_BOOK, WITH_RAG}
    )
    return MeasuredAnswers(
        closed_book=figures(by_name[CLOSED_BOOK], f"{CLOSED_BOOK}, closed book"),
        rag=figures(by_name[WITH_RAG], f"{WITH_RAG} ({setting.label})"),
        differences=diffs,
        qids=report.qids,
    )


def figures(result: ConfigResult, label: str) -> AnswerFigures:
    """A harness configuration's means, intervals, latency and tokens."""
    summary = result.to_dict()
    metrics = summary["metrics"]
    means: dict[str, float | None] = {}
    intervals: dict[str, list[float]] = {}
    for gap_metric, name in _HARNESS_METRIC.items():
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


def _gain(diff: PairedDiff) -> dict[str, Any]:
    """A paired difference as (with retrieval - closed book), whichever way it ran."""
    sign = 1.0 if diff.a == WITH_RAG else -1.0
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
    return {v: k for k, v in _HARNESS_METRIC.items()}.get(
        harness_metric, harness_metric
    )
