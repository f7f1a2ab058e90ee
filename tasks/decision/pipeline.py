"""One call from a gaps file to decisions: classify, measure, price, decide.

The CLI and a flow both call :func:`decide_gaps`; each step is also importable on
its own (``classify_gap``, ``measure_rag_baseline``, ``fine_tune_cost``,
``decide``) for flows that want one task per step.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from ragtune.tasks.decision.classify import classify_gap
from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.costing import fine_tune_cost
from ragtune.tasks.decision.evidence import AnswerScorer, measure_rag_baseline
from ragtune.tasks.decision.gaps import GapsFile
from ragtune.tasks.decision.models import Decision
from ragtune.tasks.decision.retrievers import SearchFactory
from ragtune.tasks.decision.rules import decide
from ragtune.tasks.evaluation.beir import EvalSet

log = logging.getLogger(__name__)


def decide_gaps(
    gaps: GapsFile,
    evalset: EvalSet,
    search_factory: SearchFactory,
    *,
    cfg: DecisionConfig,
    chunk_tokens: float,
    volatile_classes: Collection[str] = (),
    estimator_cfg: Any | None = None,
    answer_scorer: AnswerScorer | None = None,
    gap_evalsets: Mapping[str, EvalSet] | None = None,
) -> list[Decision]:
    """A decision for every gap, in the file's order.

    Args:
        gaps: The validated gaps file.
        evalset: Eval set the slices come from.
        search_factory: Retrievers on the index to measure.
        cfg: The ``decision:`` settings.
        chunk_tokens: Mean tokens per chunk of that index.
        volatile_classes: Freshness classes whose knowledge stays in RAG.
        estimator_cfg: GPU estimator settings; defaults when None.
        answer_scorer: Optional answer-level scorer (see ``evidence``).
        gap_evalsets: A gap's own eval set (``eval_slice.eval_set``) by gap
            name; other gaps' slices come from ``evalset``.
    """
    decisions = []
    for gap in gaps.gaps:
        kind = classify_gap(gap)
        evidence = measure_rag_baseline(
            gap,
            (gap_evalsets or {}).get(gap.name, evalset),
            search_factory,
            cfg=cfg,
            chunk_tokens=chunk_tokens,
            answer_scorer=answer_scorer,
        )
        decision = decide(
            gap,
            evidence,
            kind,
            cfg,
            volatile_classes=set(volatile_classes),
            fine_tune_cost=fine_tune_cost(gap, cfg, estimator_cfg),
        )
        log.info("gap %s: %s", gap.name, decision.summary)
        decisions.append(decision)
    return decisions
