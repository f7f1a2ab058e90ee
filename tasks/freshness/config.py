"""Freshness classes: how fast each kind of knowledge changes and where it belongs."""

from pydantic import Field, model_validator

from ragtune.schema import StrictModel


class ClassPolicy(StrictModel):
    """One freshness class.

    ``max_age_days`` is the longest a document may go unreviewed before it is
    reported stale (None: stable knowledge never goes stale). ``volatile`` classes
    stay in RAG; stable ones are fine-tuning candidates.
    """

    max_age_days: int | None = Field(None, gt=0)
    volatile: bool
    keywords: tuple[str, ...] = ()
    path_patterns: tuple[str, ...] = ()


def _default_classes() -> dict[str, ClassPolicy]:
    return {
        "regulatory": ClassPolicy(max_age_days=30, volatile=True),
        "product-pricing": ClassPolicy(max_age_days=7, volatile=True),
        "historical": ClassPolicy(max_age_days=None, volatile=False),
        "domain-concept": ClassPolicy(max_age_days=None, volatile=False),
    }


class FreshnessConfig(StrictModel):
    """Classes and the confidence below which a classification is flagged."""

    classes: dict[str, ClassPolicy] = Field(default_factory=_default_classes)
    min_confidence: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _has_classes(self) -> "FreshnessConfig":
        if not self.classes:
            raise ValueError("at least one freshness class is required")
        return self
