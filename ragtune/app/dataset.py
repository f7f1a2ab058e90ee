"""Build and gate the SFT set from ``Settings``: the two calls the CLI, the DVC
stage and the retrain flow share, so they cannot drift apart.

The steps it calls (``ragtune.tasks.dataset``) take their own config section and
plain values; only this module knows params.yaml as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.tasks.dataset.build import BuildReport, build_sft
from ragtune.tasks.dataset.gates import GateInputs, load_built, run_gates
from ragtune.tasks.dataset.generate import document_classes
from ragtune.tasks.dataset.report import GateReport
from ragtune.tasks.dataset.sources import read_eval_queries, read_query_log
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.models import Document


@dataclass(frozen=True)
class KnowledgeContext:
    """The knowledge base as the dataset steps need it: documents and classes."""

    documents: tuple[Document, ...]
    classes: dict[str, str | None]
    stable_classes: tuple[str, ...]


def knowledge_context(
    settings: Settings, kb_path: Path | None = None
) -> KnowledgeContext:
    """Load the knowledge base and class every document without embeddings."""
    loaded = load_knowledge_base(
        kb_path or settings.path(settings.data.kb_path), settings.data
    )
    classes = document_classes(loaded.documents, settings.freshness)
    stable = tuple(
        name
        for name, policy in settings.freshness.classes.items()
        if not policy.volatile
    )
    return KnowledgeContext(loaded.documents, classes, stable)


def build_from_settings(
    settings: Settings, context: KnowledgeContext | None = None
) -> BuildReport:
    """``build_sft`` with the knowledge base loaded only when generation is on."""
    cfg = settings.dataset
    if cfg.generation.enabled and context is None:
        context = knowledge_context(settings)
    return build_sft(
        cfg,
        settings.root,
        context.documents if context else (),
        context.classes if context else None,
    )


def query_log_path(settings: Settings) -> Path:
    """``dataset.query_log``, or the serving default ``<state_dir>/query_log.jsonl``."""
    configured = settings.dataset.query_log
    if configured is not None:
        return settings.path(configured)
    return Catalog.from_settings(settings).state_dir / "query_log.jsonl"


def check_from_settings(
    settings: Settings, context: KnowledgeContext | None = None
) -> GateReport:
    """Run every gate on the built set in ``dataset.out_dir``."""
    cfg = settings.dataset
    context = context or knowledge_context(settings)
    data = load_built(settings.path(cfg.out_dir))
    queries = read_eval_queries(
        settings.path(cfg.eval_queries) if cfg.eval_queries else None
    )
    inputs = GateInputs(
        doc_classes=context.classes,
        stable_classes=context.stable_classes,
        eval_queries=queries,
        query_log=read_query_log(query_log_path(settings)),
    )
    return run_gates(data, cfg, inputs)
