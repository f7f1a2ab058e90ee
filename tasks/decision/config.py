"""Thresholds and assumptions of the RAG-vs-fine-tune decision (``decision:``).

Every number a rule compares against lives here, so a decision record can name
the threshold it used and an operator can change it in params.yaml. Prices are
assumptions, not measurements: the record says so next to each cost figure.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ragtune.schema import StrictModel

SearchMode = Literal["hybrid", "vector", "text"]
FineTuneMethod = Literal["full", "lora", "qlora"]
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "stable")


class ModelPrice(StrictModel):
    """What serving one model costs per million tokens (list or amortised price)."""

    name: str = Field(description="Model (and host) the price is for.")
    input_usd_per_mtok: float = Field(ge=0, description="USD per 1M prompt tokens.")
    output_usd_per_mtok: float = Field(ge=0, description="USD per 1M answer tokens.")


class FineTunePlan(StrictModel):
    """The fine-tune the estimator prices when a gap may need one."""

    model_size: str = Field("7B", description="Model size for the estimator.")
    method: FineTuneMethod = Field("qlora", description="full, lora or qlora.")
    epochs: float = Field(3.0, gt=0, description="Passes over the examples.")
    seq_len: int = Field(1024, ge=8, description="Tokens per training sequence.")


def _rag_model() -> ModelPrice:
    return ModelPrice(
        name="70B instruct, hosted API",
        input_usd_per_mtok=0.90,
        output_usd_per_mtok=0.90,
    )


def _fine_tuned_model() -> ModelPrice:
    return ModelPrice(
        name="7B QLoRA fine-tune, self-hosted",
        input_usd_per_mtok=0.20,
        output_usd_per_mtok=0.20,
    )


class DecisionConfig(StrictModel):
    """RAG-vs-fine-tune thresholds, the retrieval grid tried, and price assumptions."""

    k_grid: tuple[int, ...] = Field(
        (3, 5, 10), description="Chunks given to the model; each k is tried."
    )
    search_modes: tuple[SearchMode, ...] = Field(
        ("hybrid", "vector"), description="Retrievers tried on each gap's slice."
    )
    try_class_filter: bool = Field(
        True, description="Also try searching only the slice's freshness classes."
    )
    max_queries_per_gap: int = Field(
        60, ge=1, description="Slice queries evaluated per gap (seeded sample)."
    )
    answer_questions_per_gap: int = Field(
        12,
        ge=0,
        description="Questions of each gap's slice the configured model answers "
        "(closed book and with retrieval) to measure answer figures; 0: measure "
        "retrieval only.",
    )
    seed: int = Field(13, description="Seed of the slice sample.")
    min_format_compliance: float = Field(
        0.95, ge=0, le=1, description="Share of answers in the required format."
    )
    max_inference_usd_per_month: float = Field(
        1500.0, ge=0, description="RAG serving cost per gap above which it is too high."
    )
    min_cost_saving: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="Share the fine-tuned path must save for the cost rule to fire.",
    )
    volatile_frequencies: tuple[str, ...] = Field(
        ("daily", "weekly", "monthly"),
        description="Change frequencies that keep knowledge in RAG.",
    )
    min_examples: int = Field(
        1000, ge=1, description="Labelled examples a fine-tune data set needs."
    )
    chars_per_token: float = Field(
        4.0, gt=0, description="Characters per token when counting context tokens."
    )
    prompt_overhead_tokens: int = Field(
        120, ge=0, description="System prompt and template tokens per query."
    )
    question_tokens: int = Field(25, ge=0, description="Tokens of a typical question.")
    answer_tokens: int = Field(150, ge=0, description="Tokens of a typical answer.")
    rag_model: ModelPrice = Field(
        default_factory=_rag_model, description="The base model RAG serves with."
    )
    fine_tuned_model: ModelPrice = Field(
        default_factory=_fine_tuned_model,
        description="The smaller model a fine-tune would serve with.",
    )
    fine_tune: FineTunePlan = Field(
        default_factory=FineTunePlan, description="What the estimator prices."
    )

    @field_validator("k_grid", "search_modes")
    @classmethod
    def _not_empty(cls, value: tuple) -> tuple:
        if not value:
            raise ValueError("needs at least one value")
        if len(set(value)) != len(value):
            raise ValueError(f"values repeat: {list(value)}")
        return value

    @field_validator("k_grid")
    @classmethod
    def _positive_k(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(k < 1 for k in value):
            raise ValueError(f"every k must be at least 1 (got {list(value)})")
        return tuple(sorted(value))

    @field_validator("volatile_frequencies")
    @classmethod
    def _known_frequencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in FREQUENCIES]
        if unknown:
            raise ValueError(
                f"unknown frequencies {unknown}; known: {', '.join(FREQUENCIES)}"
            )
        return value
