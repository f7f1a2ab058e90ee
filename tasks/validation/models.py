"""Typed results of the validation checks, handed to flows, the CLI and reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from ragtune.tasks.ingest.models import Document, Rejection


@dataclass(frozen=True)
class ExpectationSummary:
    """How one expectation fared on one batch.

    ``name`` is ragtune's stable check name (also stored in the expectation's
    ``meta.check`` in GX), ``expectation`` the GX expectation type. ``error`` is
    set when GX could not evaluate the expectation at all.
    """

    name: str
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    error: str | None = None


@dataclass(frozen=True)
class ValidationReport:
    """Documents that passed, everything quarantined, and whether the run may go on.

    ``quarantine_share`` is quarantined files over all files seen (loaded plus
    rejected at load time); ``passed`` is False when the share is above
    ``max_quarantine_share`` or an expectation could not be evaluated.
    """

    documents: tuple[Document, ...]
    rejected: tuple[Rejection, ...]
    expectations: tuple[ExpectationSummary, ...]
    n_files: int
    quarantine_share: float
    max_quarantine_share: float
    passed: bool
    data_docs_path: str | None = None
    warnings: tuple[tuple[str, str], ...] = ()  # (source_path, why), kept anyway
    # doc_id -> the paths that claim it: all quarantined, and the refresh stops
    duplicate_ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[ExpectationSummary, ...]:
        """Expectations GX failed to evaluate (a bug or a schema change, not data)."""
        return tuple(e for e in self.expectations if e.error is not None)


@dataclass(frozen=True)
class EvalSetReport:
    """Result of the checks on a BEIR-layout eval set; ``problems`` say what to fix."""

    eval_path: str
    n_queries: int
    n_qrels: int
    n_corpus: int | None  # None when the set has no corpus.jsonl
    expectations: tuple[ExpectationSummary, ...]
    problems: tuple[str, ...]
    passed: bool
    data_docs_path: str | None = None
