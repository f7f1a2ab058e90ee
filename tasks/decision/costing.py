"""Money: serving cost per query for each path, and the fine-tune path's budget.

Serving cost is tokens times the price per million tokens. The RAG path sends
the template, the question and the retrieved chunks to the base model; a
fine-tuned model needs no retrieved context when the knowledge is stable (it is
in the weights), and keeps it when the knowledge is volatile.

The fine-tune budget comes from the GPU estimator (``tasks/estimate``), called
through :func:`fine_tune_cost` only, so a change in its API touches one function.
"""

from __future__ import annotations

import logging
from typing import Any

from ragtune.errors import InputError
from ragtune.tasks.decision.config import DecisionConfig, FineTunePlan, ModelPrice
from ragtune.tasks.decision.gaps import Gap

log = logging.getLogger(__name__)


def cost_per_1k(tokens_in: float, tokens_out: float, price: ModelPrice) -> float:
    """USD for 1,000 queries of ``tokens_in`` prompt, ``tokens_out`` answer tokens."""
    per_query = (
        tokens_in * price.input_usd_per_mtok + tokens_out * price.output_usd_per_mtok
    ) / 1_000_000
    return per_query * 1000


def per_month(cost_per_1k_usd: float, queries_per_month: int) -> float:
    """USD a month at the stated volume."""
    return cost_per_1k_usd * queries_per_month / 1000


def prompt_tokens(context_tokens: float, cfg: DecisionConfig) -> float:
    """Template + question + retrieved context, in tokens."""
    return cfg.prompt_overhead_tokens + cfg.question_tokens + context_tokens


def rag_model(gap: Gap, cfg: DecisionConfig) -> ModelPrice:
    """The base model price, the gap's override first."""
    own = gap.assumptions.rag_model if gap.assumptions else None
    return own or cfg.rag_model


def fine_tuned_model(gap: Gap, cfg: DecisionConfig) -> ModelPrice:
    """The fine-tuned model price, the gap's override first."""
    own = gap.assumptions.fine_tuned_model if gap.assumptions else None
    return own or cfg.fine_tuned_model


def monthly_budget(gap: Gap, cfg: DecisionConfig) -> float:
    """The serving budget per month the cost rule compares against."""
    own = gap.assumptions.max_inference_usd_per_month if gap.assumptions else None
    return cfg.max_inference_usd_per_month if own is None else own


def fine_tune_plan(gap: Gap, cfg: DecisionConfig) -> FineTunePlan:
    own = gap.assumptions.fine_tune if gap.assumptions else None
    return own or cfg.fine_tune


def fine_tune_cost(
    gap: Gap, cfg: DecisionConfig, estimator_cfg: Any | None = None
) -> dict[str, Any]:
    """Budget of the fine-tune path for ``gap``, from the GPU estimator.

    The data set is priced at ``max(labelled_examples, min_examples)``: a
    fine-tune needs at least the minimum, and examples not yet labelled are
    priced as expert labelling.

    Args:
        gap: The gap (labelled examples, optional fine-tune plan override).
        cfg: Decision settings (default plan, minimum examples).
        estimator_cfg: ``EstimatorConfig`` (catalogue, prices); defaults when None.

    Raises:
        InputError: the estimator cannot size the plan (names the gap).
    """
    from ragtune.tasks.estimate import estimate

    plan = fine_tune_plan(gap, cfg)
    examples = max(gap.labelled_examples, cfg.min_examples)
    needs_labels = gap.labelled_examples < cfg.min_examples
    try:
        result = estimate(
            plan.model_size,
            plan.method,
            examples=examples,
            epochs=plan.epochs,
            seq_len=plan.seq_len,
            needs_labels=needs_labels,
            cfg=estimator_cfg,
        ).to_dict()
    except InputError as exc:
        raise InputError(f"gap {gap.name!r}: fine-tune estimate: {exc}") from None
    return _summary(result, plan, examples, needs_labels)


def _summary(
    result: dict[str, Any], plan: FineTunePlan, examples: int, needs_labels: bool
) -> dict[str, Any]:
    best = result["plan"]
    costs = result.get("costs") or {}
    return {
        "model_size": plan.model_size,
        "method": plan.method,
        "epochs": plan.epochs,
        "examples_priced": examples,
        "needs_labels": needs_labels,
        "gpu": best["gpu"],
        "gpu_count": best["count"],
        "provider": best["provider"],
        "hours": best["hours"],
        "compute_usd": best["cost_usd"],
        "with_search_usd": costs.get("with_search_usd"),
        "data_prep_usd": costs.get("data_prep_usd"),
        "data_prep_basis": costs.get("data_prep_basis"),
        "first_project_usd": costs.get("first_project_usd"),
        "prices_as_of": result.get("prices_as_of"),
    }
