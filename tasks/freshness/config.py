"""Freshness classes: how fast each kind of knowledge changes and where it belongs.

The rule vocabulary below is the shipped default for a bank or insurer; params.yaml
repeats it so operators can tune it, and a test keeps the two copies equal.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from ragtune.errors import InputError
from ragtune.schema import StrictModel

CLASS_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class ClassPolicy(StrictModel):
    """One freshness class.

    ``max_age_days`` is the longest a document may go unreviewed before it is
    reported stale (None: stable knowledge never goes stale). ``volatile`` classes
    stay in RAG; stable ones are fine-tuning candidates.
    """

    max_age_days: int | None = Field(
        None, gt=0, description="Days since review before stale; null: never stale."
    )
    volatile: bool = Field(
        description="True: the knowledge belongs in RAG; false: fine-tune candidate."
    )
    keywords: tuple[str, ...] = Field(
        (), description="Phrases (case-insensitive, whole words) that vote for it."
    )
    title_keywords: tuple[str, ...] = Field(
        (), description="Phrases that vote only when they appear in the title."
    )
    patterns: tuple[str, ...] = Field(
        (), description="Regular expressions on title and text that vote for it."
    )
    path_patterns: tuple[str, ...] = Field(
        (), description="Regular expressions on the source path that vote for it."
    )

    @field_validator("keywords", "title_keywords")
    @classmethod
    def _no_blank_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not k.strip() for k in value):
            raise ValueError("keywords must not be blank")
        return value

    @field_validator("patterns", "path_patterns")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return value


class RulesConfig(StrictModel):
    """When keyword and path votes are clear enough to decide without embeddings."""

    min_hits: int = Field(2, ge=1, description="Least votes the winning class needs.")
    min_share: float = Field(
        0.6, gt=0, le=1, description="Least share of all weighted votes for the winner."
    )
    min_margin: float = Field(
        1.0, ge=0, description="Least weighted lead of the winner over the runner-up."
    )
    title_weight: float = Field(2.0, ge=0, description="Weight of a vote in the title.")
    path_weight: float = Field(3.0, ge=0, description="Weight of a path-pattern vote.")
    max_hits_per_term: int = Field(
        3, ge=1, description="Repeats of one term counted, so one word cannot dominate."
    )
    scan_chars: int = Field(
        20_000, ge=100, description="Characters of text scanned for votes."
    )


class CentroidConfig(StrictModel):
    """The nearest-centroid fallback trained on metadata-labelled documents."""

    text_chars: int = Field(
        1500, ge=100, description="Characters of text embedded after the title."
    )
    temperature: float = Field(
        0.05, gt=0, description="Softmax temperature over cosine similarities."
    )
    min_examples: int = Field(
        1, ge=1, description="Labelled documents a class needs to get a centroid."
    )


class EvaluationConfig(StrictModel):
    """The leave-metadata-out estimate of accuracy without metadata."""

    folds: int = Field(5, ge=2, description="Folds whose metadata is hidden in turn.")
    seed: int = Field(13, description="Seed of the fold assignment.")


def _default_classes() -> dict[str, ClassPolicy]:
    from ragtune.tasks.freshness.defaults import default_classes

    return default_classes()


class FreshnessConfig(StrictModel):
    """Classes, decision thresholds and the confidence below which one is flagged."""

    classes: dict[str, ClassPolicy] = Field(default_factory=_default_classes)
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="Lower confidence is flagged needs_review."
    )
    fallback_class: str | None = Field(
        None,
        description="Class given when nothing decides; null: the volatile class "
        "with the shortest max_age_days, so unknown documents stay in RAG.",
    )
    rules: RulesConfig = RulesConfig()
    centroid: CentroidConfig = CentroidConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    @model_validator(mode="after")
    def _consistent(self) -> FreshnessConfig:
        if not self.classes:
            raise ValueError("at least one freshness class is required")
        bad = [n for n in self.classes if not CLASS_NAME.fullmatch(n)]
        if bad:
            raise ValueError(
                f"class names {bad} must be lowercase words joined by hyphens "
                "(metadata categories are normalised to that form before matching)"
            )
        if self.fallback_class is not None and self.fallback_class not in self.classes:
            raise ValueError(
                f"fallback_class {self.fallback_class!r} is not one of the classes "
                f"{sorted(self.classes)}"
            )
        return self

    def check_classes(self, names: list[str] | None) -> None:
        """Refuse freshness class names this configuration does not define.

        Raises:
            InputError: one or more names are unknown (all of them named).
        """
        unknown = sorted(set(names or ()) - set(self.classes))
        if unknown:
            raise InputError(
                f"unknown freshness class {', '.join(unknown)}; known: "
                f"{', '.join(self.classes)}"
            )

    def fallback(self) -> str:
        """The class for documents that neither metadata, rules nor centroids decide."""
        if self.fallback_class is not None:
            return self.fallback_class
        volatile = [
            (p.max_age_days or 10**9, n) for n, p in self.classes.items() if p.volatile
        ]
        return min(volatile)[1] if volatile else next(iter(self.classes))
