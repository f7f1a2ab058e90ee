"""The ``evaluation:`` section: harness cut-offs, sampling, bootstrap and prices."""

from typing import Any, Literal

from pydantic import Field, model_validator

from ragtune.schema import StrictModel

AnswerMetric = Literal["exact_match", "token_f1", "format_ok", "citation_ok"]


class ModelPrice(StrictModel):
    """What answering costs with one model: per token (hosted API) or per hour
    (self-hosted), the hour spread by a throughput or by measured latency."""

    input_per_1k: float | None = Field(
        None, ge=0, description="USD per 1,000 input tokens (hosted API)."
    )
    output_per_1k: float | None = Field(
        None, ge=0, description="USD per 1,000 output tokens (hosted API)."
    )
    per_hour: float | None = Field(
        None, ge=0, description="USD per GPU (or machine) hour (self-hosted)."
    )
    input_tokens_per_s: float | None = Field(
        None, gt=0, description="Self-hosted prefill throughput; None: measured."
    )
    output_tokens_per_s: float | None = Field(
        None, gt=0, description="Self-hosted decode throughput; None: measured."
    )
    source: str = Field("", description="Where and when the price was read.")

    @model_validator(mode="after")
    def _one_basis(self) -> "ModelPrice":
        tokens = (self.input_per_1k, self.output_per_1k)
        if self.per_hour is None:
            if None in tokens:
                raise ValueError(
                    "a price needs input_per_1k and output_per_1k, or per_hour"
                )
        elif any(t is not None for t in tokens):
            raise ValueError("give token prices or per_hour, not both")
        throughputs = (self.input_tokens_per_s, self.output_tokens_per_s)
        if self.per_hour is None and any(t is not None for t in throughputs):
            raise ValueError("token throughputs only apply with per_hour")
        if None in throughputs and any(t is not None for t in throughputs):
            raise ValueError("give both token throughputs, or neither (measured)")
        return self

    def cost(self, tokens_in: int, tokens_out: int, latency_s: float) -> float:
        """USD for one answer."""
        if self.per_hour is None:
            return (
                tokens_in * (self.input_per_1k or 0.0)
                + tokens_out * (self.output_per_1k or 0.0)
            ) / 1000
        if self.input_tokens_per_s and self.output_tokens_per_s:
            latency_s = (
                tokens_in / self.input_tokens_per_s
                + tokens_out / self.output_tokens_per_s
            )
        return self.per_hour * latency_s / 3600


class EvaluationConfig(StrictModel):
    """How ``ragtune eval`` compares configurations."""

    k: int = Field(5, ge=1, description="Cut-off of recall@k and MRR@k.")
    search_k: int = Field(
        10, ge=1, description="Chunks retrieved per query (nDCG@10 wants 10)."
    )
    context_k: int = Field(3, ge=1, description="Retrieved chunks put in the prompt.")
    limit: int | None = Field(
        None, ge=1, description="Evaluate a seeded sample of this many queries."
    )
    seed: int = Field(13, description="Seeds the query sample and the bootstrap.")
    bootstrap_resamples: int = Field(2000, ge=100, description="Bootstrap draws.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Interval coverage.")
    compare_metrics: tuple[AnswerMetric, ...] = Field(
        ("token_f1", "exact_match", "citation_ok", "format_ok"),
        description="Per-query metrics compared between configurations.",
    )
    primary_metric: AnswerMetric = Field(
        "token_f1", description="Accuracy axis of the cost-vs-accuracy plot."
    )
    answer_format: dict[str, Any] | None = Field(
        None,
        description="Required answer format for every query: {regex: ...} or "
        "{json_schema: {...}}; a query's metadata.format overrides it.",
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Price per model name (generation.model, or 'tiny').",
    )

    @model_validator(mode="after")
    def _context_within_search(self) -> "EvaluationConfig":
        if self.context_k > self.search_k:
            raise ValueError("evaluation.context_k cannot exceed evaluation.search_k")
        if self.answer_format is not None:
            keys = set(self.answer_format)
            if len(keys) != 1 or not keys <= {"regex", "json_schema"}:
                raise ValueError(
                    "evaluation.answer_format takes exactly one of regex, json_schema"
                )
        return self
