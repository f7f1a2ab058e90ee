"""The ``promotion:`` section: what a candidate must beat, and who may wave it on."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ragtune.schema import StrictModel

GateMetric = Literal["token_f1", "exact_match", "format_ok"]


class PromotionConfig(StrictModel):
    """Margins, confidence, tolerances and approval of the promotion gates.

    The default metric is ``token_f1``: exact match is too coarse for the short
    eval sets a retrain is judged on (one query flips it by 1/n), while F1 still
    moves when an answer gets a figure right inside a longer sentence.

    A margin is the least the candidate's best configuration must gain over a
    reference, on the point estimate, and its paired bootstrap interval must
    exclude zero. A negative margin states non-inferiority instead (at most that
    much worse, with the interval's lower bound above the margin); it exists for
    demos and tests on the tiny model, never for production params.
    """

    metric: GateMetric = Field(
        "token_f1", description="Answer metric the gate compares configurations on."
    )
    margin_over_base_rag: float = Field(
        0.02,
        ge=-1,
        le=1,
        description="Least gain of the candidate's best configuration over base + RAG.",
    )
    margin_over_champion: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="Least gain over the current champion + RAG (when one serves).",
    )
    gap_candidate_margin: float = Field(
        -0.02,
        ge=-1,
        le=0,
        description="A candidate trained for one knowledge gap must beat base + RAG "
        "(and the champion) on that gap's slice, on the gap's metric, by the "
        "margins above; on the whole eval set it need only be non-inferior: its "
        "interval's lower bound must clear this (negative) margin.",
    )
    ci_level: float = Field(
        0.95, gt=0, lt=1, description="Coverage of the paired bootstrap interval."
    )
    bootstrap_resamples: int = Field(
        2000, ge=100, description="Bootstrap draws of each comparison."
    )
    latency_p95_tolerance: float = Field(
        0.25,
        ge=0,
        description="Allowed relative rise of p95 latency over each reference "
        "(0.25: at most 25% slower).",
    )
    cost_tolerance: float = Field(
        0.25,
        ge=0,
        description="Allowed relative rise of cost per 1,000 queries over each "
        "reference; skipped when either side is unpriced.",
    )
    format_tolerance: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Allowed absolute drop of format compliance (share of answers "
        "in the required format); skipped when no format is required.",
    )
    eval_limit: int | None = Field(
        None,
        ge=1,
        description="Evaluate a seeded sample of this many eval queries (None: all; "
        "the knowledge gap's queries are always added).",
    )
    approval_timeout_s: int = Field(
        86400,
        ge=1,
        description="How long the flow waits for a person's decision; then it rejects.",
    )
    auto_approve: bool = Field(
        False,
        description="Skip the human approval (CI, demos); the audit log records it.",
    )
    auto_approver: str = Field(
        "auto-approve",
        min_length=1,
        description="Approver name recorded for an automatic approval.",
    )
