"""The ``dataset:`` section: where the SFT set comes from, how it is split, and the
thresholds of the gates that decide whether it may be trained on."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel
from ragtune.tasks.privacy import KINDS

# Phrases of assistant boilerplate that teach a model to refuse or to talk about
# itself instead of answering; case-insensitive regular expressions.
DEFAULT_REFUSALS = [
    r"\bas an ai\b",
    r"\bas a (large )?language model\b",
    r"\bi(?: a|')m (?:sorry|afraid),? but\b",
    r"\bi (?:cannot|can ?not|can't|am unable to|'m unable to) "
    r"(?:help|assist|answer|provide|comply)",
    r"\bi do(?: not|n't) have (?:access|personal|real-time)",
]


class FieldBounds(StrictModel):
    """Allowed length of one text field, in characters."""

    min_chars: int = Field(1, ge=0, description="Shorter values fail the schema gate.")
    max_chars: int = Field(4000, ge=1, description="Longer values fail it too.")

    @model_validator(mode="after")
    def _ordered(self) -> FieldBounds:
        if self.min_chars > self.max_chars:
            raise ValueError(
                f"min_chars {self.min_chars} is above max_chars {self.max_chars}"
            )
        return self


class LengthBounds(StrictModel):
    """Per-field bounds: the first user turn, the last assistant turn, the system."""

    instruction: FieldBounds = FieldBounds(min_chars=10, max_chars=2000)
    response: FieldBounds = FieldBounds(min_chars=20, max_chars=4000)
    system: FieldBounds = FieldBounds(min_chars=0, max_chars=2000)


class GenerationConfig(StrictModel):
    """Examples rendered from stable documents with a Jinja template (no model)."""

    enabled: bool = Field(False, description="Add template examples to the set.")
    template: Path = Field(
        Path("data/prompts/sft_from_doc.j2"),
        description="Jinja file with `instruction` and `response` blocks.",
    )
    classes: list[str] = Field(
        ["historical", "domain-concept"],
        description="Freshness classes whose documents are generated from; only "
        "stable knowledge belongs in weights (volatile facts stay in RAG).",
    )
    max_per_document: int = Field(
        6, ge=1, description="At most this many sections per document, seeded pick."
    )
    min_section_chars: int = Field(
        120, ge=1, description="Sections shorter than this are skipped."
    )


class DatasetConfig(StrictModel):
    """Build and gate settings of the supervised fine-tuning set."""

    curated_dir: Path = Field(
        Path("data/sft/curated"), description="Curated *.jsonl (both formats)."
    )
    out_dir: Path = Field(
        Path("data/sft/build"),
        description="train.jsonl, eval.jsonl, manifest.json (a DVC output).",
    )
    eval_share: float = Field(
        0.1, gt=0, lt=1, description="Share of example groups held out for eval."
    )
    seed: int = Field(13, description="Seeds the split and the generation picks.")
    min_examples: int = Field(
        1000, ge=1, description="Fewer training examples fail the volume gate."
    )
    lengths: LengthBounds = Field(
        default_factory=LengthBounds, description="Length bounds per field."
    )
    max_out_of_bounds_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of examples outside the length bounds tolerated (warn); "
        "above it the schema gate fails.",
    )
    near_dup_threshold: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Estimated Jaccard similarity (character 5-gram MinHash) at "
        "which two examples count as near-duplicates.",
    )
    max_duplicate_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of input removed as duplicates above which the set is "
        "judged a broken export (fail); any removal is a warning.",
    )
    max_label_issue_share: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of empty, truncated, refusing or language-mismatched "
        "examples tolerated (warn); above it the label gate fails.",
    )
    refusal_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REFUSALS),
        description="Case-insensitive regexes of refusal boilerplate.",
    )
    min_class_coverage: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of each stable class's documents that training examples "
        "must cite; below it the representativeness gate warns.",
    )
    min_query_coverage: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Share of logged stable-topic queries with a similar training "
        "instruction; below it the representativeness gate warns.",
    )
    query_similarity: float = Field(
        0.3, gt=0, le=1, description="TF-IDF cosine at which a query is covered."
    )
    query_log: Path | None = Field(
        None, description="Served-query log (default: <state_dir>/query_log.jsonl)."
    )
    eval_queries: Path | None = Field(
        Path("data/eval/queries.jsonl"),
        description="Retrieval eval queries (BEIR) that must not leak into training.",
    )
    legal_basis: dict[str, str] = Field(
        default_factory=dict,
        description="PII kind -> the legal basis for training on it; a kind found "
        "without one fails the PII gate (or is redacted, see `redact`).",
    )
    redact: bool = Field(
        False,
        description="Replace PII of kinds without a legal basis with [kind] in the "
        "built files instead of failing.",
    )
    generation: GenerationConfig = Field(
        default_factory=GenerationConfig, description="Template generation."
    )

    @field_validator("legal_basis")
    @classmethod
    def _basis_per_known_kind(cls, basis: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(basis) - set(KINDS))
        if unknown:
            raise ValueError(
                f"unknown PII kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}"
            )
        blank = sorted(kind for kind, text in basis.items() if not text.strip())
        if blank:
            raise ValueError(f"empty legal basis for {', '.join(blank)}")
        return basis

    @field_validator("refusal_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"refusal pattern {pattern!r}: {exc}") from None
        return patterns
