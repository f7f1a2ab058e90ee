"""Freshness classification: which class each document belongs to, how sure we
are, whether it is stale, and whether its knowledge belongs in RAG or fine-tuning.

Plain Python; the Prefect wiring lives in ``flows/``.
"""

from ragtune.tasks.freshness.classify import classify_documents
from ragtune.tasks.freshness.config import ClassPolicy, FreshnessConfig
from ragtune.tasks.freshness.evaluation import (
    leave_metadata_out_accuracy,
    load_labels,
)
from ragtune.tasks.freshness.report import (
    Accuracy,
    Classification,
    ClassSummary,
    FreshnessReport,
)

__all__ = [
    "Accuracy",
    "ClassPolicy",
    "ClassSummary",
    "Classification",
    "FreshnessConfig",
    "FreshnessReport",
    "classify_documents",
    "leave_metadata_out_accuracy",
    "load_labels",
]
