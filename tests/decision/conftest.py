"""Local fixtures for the decision tests: gap and evidence builders, and a tiny
real LanceDB index (real MiniLM embedder) with a matching BEIR eval set.

pytest runs with ``--import-mode=importlib``, so test modules cannot import this
file; its helpers reach them through the ``kit`` fixture.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.gaps import Gap
from ragtune.tasks.decision.models import (
    AlternativeFigures,
    Evidence,
    RetrievalSetting,
    SettingResult,
)

BASE_GAP: dict[str, Any] = {
    "name": "test-gap",
    "description": "Members ask about something.",
    "examples": ["What is it?"],
    "change_frequency": "stable",
    "accuracy_target": {"metric": "recall_at_k", "target": 0.8},
    "query_volume_per_month": 10_000,
    "latency_budget_ms": 3000,
    "labelled_examples": 5000,
    "eval_slice": {"classes": ["regulatory"]},
}


def make_gap(**overrides: Any) -> Gap:
    """A valid gap; keyword arguments replace top-level keys."""
    return Gap.model_validate_json(json.dumps(BASE_GAP | overrides), strict=True)


def make_evidence(gap: Gap, **overrides: Any) -> Evidence:
    """Evidence for ``gap`` as if measured: value 0.9, cheap, fast, compliant."""
    best = SettingResult(
        setting=RetrievalSetting("hybrid", 5),
        retrieval={"recall_at_k": 0.9, "mrr": 0.8, "ndcg_at_10": 0.85},
        metric=0.9,
        context_tokens=600.0,
        retrieval_latency_p95_ms=40.0,
    )
    base: dict[str, Any] = {
        "gap": gap.name,
        "metric": gap.accuracy_target.metric,
        "target": gap.accuracy_target.target,
        "value": 0.9,
        "n_queries": 20,
        "best": best,
        "tried": (best,),
        "rag_cost_per_1k_usd": 0.8,
        "rag_cost_per_month_usd": 0.8 * gap.query_volume_per_month / 1000,
        "latency_p95_ms": 1200.0,
        "fine_tuned": AlternativeFigures(
            cost_per_1k_usd=0.06, cost_with_rag_per_1k_usd=0.18
        ),
        "query_volume_per_month": gap.query_volume_per_month,
        "sources": {gap.accuracy_target.metric: "measured"},
    }
    return Evidence(**(base | overrides))


# A tiny knowledge base: (doc_id, category, text).
CORPUS = [
    ("reg-cdd", "regulatory", "Customer due diligence is required for occasional "
     "transactions of EUR 7,500 or more since the July 2026 amendment."),
    ("reg-complaints", "regulatory", "A complaint must be acknowledged in writing "
     "within three business days and answered within six weeks."),
    ("price-saver", "product-pricing", "The Harbour Saver pays 3.10% AER on "
     "balances from EUR 1 and a bonus of 0.50% for the first year."),
    ("price-overdraft", "product-pricing", "Arranged overdrafts cost 19.9% EAR "
     "with a EUR 50 interest-free buffer."),
    ("hist-merger", "historical", "In 1998 Northwind merged with Greystone "
     "Building Society after 81% of voting members approved."),
    ("hist-outage", "historical", "The 2023 core banking outage lasted nine "
     "hours and was caused by a failed database upgrade."),
    ("concept-aer", "domain-concept", "The AER shows what interest would be "
     "if it were paid and compounded once a year."),
    ("concept-ltv", "domain-concept", "Loan to value is the mortgage divided by "
     "the property value, shown as a percentage."),
]  # fmt: skip
QUERIES = [
    ("q1", "regulatory", "Above what amount must we identify a one-off customer?",
     "reg-cdd"),
    ("q2", "regulatory", "How fast must complaints be acknowledged?",
     "reg-complaints"),
    ("q3", "product-pricing", "What rate does the Harbour Saver pay?", "price-saver"),
    ("q4", "product-pricing", "How much does an arranged overdraft cost?",
     "price-overdraft"),
    ("q5", "historical", "When did Northwind merge with Greystone?", "hist-merger"),
    ("q6", "domain-concept", "What does the AER mean?", "concept-aer"),
    ("q7", "domain-concept", "How is loan to value worked out?", "concept-ltv"),
]  # fmt: skip


# Reference answers, so the configured model's answers can be scored.
ANSWERS = {
    "q1": "EUR 7,500",
    "q2": "within three business days",
    "q3": "3.10% AER",
    "q4": "19.9% EAR",
    "q5": "1998",
    "q6": "interest paid and compounded once a year",
    "q7": "the mortgage divided by the property value",
}


def write_evalset(folder: Path, unreachable: bool = False) -> Path:
    """A BEIR folder for QUERIES; ``unreachable`` adds a query judged against a
    document that is not indexed, so no setting can reach recall 1.0."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    rows = list(QUERIES)
    if unreachable:
        rows.append(("q8", "regulatory", "What did the 2019 rulebook say?", "gone"))
    with (folder / "queries.jsonl").open("w") as fh:
        for qid, cls, text, _ in rows:
            meta = {"class": cls} | ({"answer": ANSWERS[qid]} if qid in ANSWERS else {})
            fh.write(json.dumps({"_id": qid, "text": text, "metadata": meta}))
            fh.write("\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, _, _, d in rows]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder


def build_index(uri: str, embedder) -> None:  # noqa: ANN001 - Embedder
    """Refresh CORPUS into a LanceDB store at ``uri`` and publish it live."""
    from ragtune.tasks.index.chunking import chunk_document
    from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
    from ragtune.tasks.index.publish import publish, standard_checks
    from ragtune.tasks.index.store import IndexStore
    from ragtune.tasks.ingest.models import Document

    cfg = IndexConfig(smoke_sample=3, smoke_top_k=3)
    chunks, hashes = [], {}
    for doc_id, category, text in CORPUS:
        digest = hashlib.sha256(text.encode()).hexdigest()
        doc = Document(
            doc_id=doc_id,
            source_path=f"{category}/{doc_id}.md",
            format="markdown",
            title=doc_id,
            text=text,
            content_hash=digest,
            size_bytes=len(text.encode()),
        )
        chunks += chunk_document(doc, category, ChunkingConfig(), "kb-test")
        hashes[doc_id] = digest
    store = IndexStore(uri, "chunks", embedder, cfg=cfg)
    store.refresh(chunks, hashes)
    checks = standard_checks(store.candidate(), embedder, len(chunks), cfg, 13)
    publish(store, checks, {"chunks": len(chunks)}, "kb-test")


@pytest.fixture(scope="session")
def live_index(tmp_path_factory, embedder) -> str:  # noqa: ANN001
    """URI of a published tiny index (built once per session)."""
    uri = str(tmp_path_factory.mktemp("decision-index") / "index")
    build_index(uri, embedder)
    return uri


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for test modules."""
    return SimpleNamespace(
        BASE_GAP=BASE_GAP,
        CORPUS=CORPUS,
        QUERIES=QUERIES,
        make_gap=make_gap,
        make_evidence=make_evidence,
        write_evalset=write_evalset,
        build_index=build_index,
        cfg=DecisionConfig(),
    )
