"""The RAG-vs-fine-tune decision framework: gaps in, evidence-backed decisions out.

Plain Python; the Prefect wiring lives in ``flows/``. See docs/decision-framework.md.
Names are imported lazily: ``ragtune.settings`` imports this package's config on
every CLI start, and that must not pay for LanceDB or the estimator.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "GapClassification": "classify",
    "classify_gap": "classify",
    "DecisionConfig": "config",
    "fine_tune_cost": "costing",
    "AnswerScorer": "evidence",
    "measure_rag_baseline": "evidence",
    "Gap": "gaps",
    "GapsFile": "gaps",
    "file_sha256": "gaps",
    "load_gaps": "gaps",
    "AnswerFigures": "models",
    "Decision": "models",
    "Evidence": "models",
    "RetrievalSetting": "models",
    "RuleResult": "models",
    "decide_gaps": "pipeline",
    "audit_record": "record",
    "build_record": "record",
    "read_latest": "record",
    "write_record": "record",
    "render_markdown": "render",
    "lancedb_search_factory": "retrievers",
    "mean_chunk_tokens": "retrievers",
    "decide": "rules",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
