"""What the evaluation gate judges: base, base + RAG, the candidate with and without
RAG, and the champion + RAG, all on the same queries (run from params.yaml by
``ragtune.app.promotion.evaluate_candidate``).

The knowledge gap that triggered a retrain is judged on its own slice too: its
queries are always added to the (sampled) eval set, and the slice's report is cut
from the same answers instead of generating them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet
from ragtune.tasks.evaluation.harness import (
    HarnessConfig,
    sample_queries,
)
from ragtune.tasks.evaluation.harness_report import ConfigResult, HarnessReport
from ragtune.tasks.promotion.eval_gate import BASE_RAG, CHAMPION_RAG

if TYPE_CHECKING:
    from ragtune.tasks.evaluation.config import EvaluationConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeGap:
    """The eval slice of the gap that triggered a retrain: queries of these
    freshness classes, or these query ids (either may be empty), of the project's
    eval set or of the gap's own ``eval_set`` (all of it when both are empty);
    ``metric`` is what the gate compares on the slice (default: the gate's)."""

    classes: tuple[str, ...] = ()
    query_ids: tuple[str, ...] = ()
    name: str = "gap"
    eval_set: Path | None = None
    metric: str | None = None

    def matches(self, query: EvalQuery) -> bool:
        if self.eval_set is not None and not self.classes and not self.query_ids:
            return True
        cls = query.metadata.get("class", query.extra.get("class"))
        return cls in self.classes or query.qid in self.query_ids


@dataclass(frozen=True)
class GateReports:
    """The full report and, with a gap, the report of its slice."""

    full: HarnessReport
    gap: HarnessReport | None = None
    gap_name: str | None = None


def gate_configs(price: str | None, has_champion: bool) -> list[HarnessConfig]:
    configs = [
        HarnessConfig("base", "base", rag=False, price=price),
        HarnessConfig(BASE_RAG, "base", rag=True, price=price),
        HarnessConfig("fine-tuned", "fine-tuned", rag=False, price=price),
        HarnessConfig("fine-tuned+rag", "fine-tuned", rag=True, price=price),
    ]
    if has_champion:
        configs.append(HarnessConfig(CHAMPION_RAG, "champion", rag=True, price=price))
    return configs


def gate_queries(
    evalset: EvalSet, limit: int | None, seed: int, gap: KnowledgeGap | None
) -> EvalSet:
    """The seeded sample plus every gap query, in set order.

    Raises:
        InputError: a gap that selects no query of the eval set.
    """
    picked = {q.qid for q in sample_queries(evalset, limit, seed)}
    if gap is not None:
        wanted = {q.qid for q in evalset.queries if gap.matches(q)}
        if not wanted:
            raise InputError(
                f"knowledge gap {gap.name!r} (classes {list(gap.classes)}, "
                f"queries {list(gap.query_ids)}) selects no eval query"
            )
        picked |= wanted
    queries = tuple(q for q in evalset.queries if q.qid in picked)
    return replace(evalset, queries=queries)


def slice_report(
    report: HarnessReport, qids: Sequence[str], cfg: EvaluationConfig
) -> HarnessReport:
    """The same answers restricted to ``qids`` (figures recomputed on the slice)."""
    keep = set(qids)
    configs = tuple(
        ConfigResult.from_records(
            c.name,
            c.generator,
            c.price,
            [r for r in c.records if r.qid in keep],
            c.retrieval,
            cfg,
            rag=c.rag,
        )  # fmt: skip
        for c in report.configs
    )
    return replace(
        report,
        qids=tuple(q for q in report.qids if q in keep),
        configs=configs,
        comparisons=(),
    )
