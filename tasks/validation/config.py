"""Thresholds for the Great Expectations checks on the document manifest."""

from pathlib import Path

from pydantic import Field

from ragtune.schema import StrictModel


class ValidationConfig(StrictModel):
    """How strict validation is, and when a run fails as a whole."""

    max_quarantine_share: float = Field(
        0.10, ge=0, le=1, description="Fail the run if more documents are quarantined."
    )
    min_chars: int = Field(40, ge=1, description="Shorter extracted text is an error.")
    max_debris_share: float = Field(
        0.001,
        ge=0,
        le=1,
        description="Share of a document's characters that may be encoding debris "
        "(U+FFFD, control characters) before it is quarantined; below it the "
        "document is indexed and the refresh reports a warning.",
    )
    max_chars: int = Field(
        500_000, ge=1, description="Longer extracted text is an error."
    )
    effective_date_max_days_ahead: int = Field(
        366,
        ge=0,
        description="How far ahead an effective_date may lie; rules are announced "
        "before they take effect, but not years before.",
    )
    gx_root: Path = Field(
        Path("gx"), description="Great Expectations file context (suites in git)."
    )
    build_data_docs: bool = Field(True, description="Render GX Data Docs each run.")
