"""Retrieval quality of an index version on an eval set, and the recall-floor gate.

Evaluated on the publish candidate before it goes live, so a refresh that makes
retrieval worse than ``index.recall_floor`` never reaches readers.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from lancedb.table import Table

from ragtune.gates import GateResult
from ragtune.tasks.embedding.embedder import Embedder, PrimedEmbedder
from ragtune.tasks.evaluation.beir import EvalSet
from ragtune.tasks.evaluation.retrieval import RetrievalMetrics, evaluate_retrieval
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.search import doc_ranking, hybrid_search

# nDCG@10 needs ten ranked documents; documents have several chunks, so ask for more.
_EVAL_CHUNKS = 30


def evaluate_table(
    table: Table,
    embedder: Embedder,
    evalset: EvalSet,
    cfg: IndexConfig,
    known_doc_ids: Collection[str] | None = None,
) -> RetrievalMetrics:
    """recall@k, MRR and nDCG@10 of hybrid search on ``table`` over ``evalset``.

    Queries whose relevant documents are all absent from ``known_doc_ids`` (e.g.
    quarantined this run) are dropped, so a quarantine shows as fewer queries rather
    than as a retrieval regression.
    """
    if known_doc_ids is not None:
        known = set(known_doc_ids)
        keep = {q for q, docs in evalset.qrels.items() if set(docs) & known}
        evalset = EvalSet(
            evalset.name,
            evalset.split,
            tuple(q for q in evalset.queries if q.qid in keep),
            {q: d for q, d in evalset.qrels.items() if q in keep},
            evalset.corpus,
        )

    primed = PrimedEmbedder(embedder, [q.text for q in evalset.queries])

    def search(text: str, as_of: date | None) -> list[str]:
        k = max(cfg.eval_k, _EVAL_CHUNKS)
        hits = hybrid_search(table, primed, text, k=k, in_force_on=as_of, cfg=cfg)
        return doc_ranking(hits)

    return evaluate_retrieval(search, evalset, cfg.eval_k)


def recall_floor_check(
    metrics: RetrievalMetrics, floor: float, version: int
) -> GateResult:
    """A blocking gate: recall@k on the candidate must reach the floor.

    An eval set that judges none of the indexed documents (another knowledge base's,
    or every judged document quarantined) measures nothing: a warning that says
    so, never a pass of 0 against a floor.
    """
    if metrics.n_queries == 0:
        return GateResult(
            "eval_recall_floor",
            "warn",
            "not evaluated: the eval set judges none of the indexed documents "
            f"(0 queries); recall floor {floor:.3f} not checked",
            {"n_queries": 0, "floor": floor},
            version,
        )
    passed = metrics.recall_at_k >= floor
    return GateResult.judged(
        "eval_recall_floor",
        passed,
        (
            f"recall@{metrics.k} {metrics.recall_at_k:.3f} "
            f"{'>=' if passed else '<'} floor {floor:.3f} "
            f"on {metrics.n_queries} queries"
        ),
        measured={"recall_at_k": metrics.recall_at_k, "floor": floor},
        subject=version,
    )


def in_force_check(
    metrics: RetrievalMetrics, floor: float, version: int
) -> GateResult | None:
    """A blocking gate on dated eval questions: the share answered first from the
    version in force on their day must reach ``floor``. None when the eval set
    has no dated question on the indexed documents (nothing to judge)."""
    if metrics.in_force_at_1 is None:
        return None
    passed = metrics.in_force_at_1 >= floor
    missed = ", ".join(metrics.dated_misses[:5])
    return GateResult.judged(
        "in_force_answers",
        passed,
        (
            f"in force@1 {metrics.in_force_at_1:.3f} "
            f"{'>=' if passed else '<'} floor {floor:.3f} on {metrics.n_dated} "
            "dated questions"
            + (f"; first document not in force for {missed}" if missed else "")
        ),
        measured={
            "in_force_at_1": metrics.in_force_at_1,
            "floor": floor,
            "n_dated": metrics.n_dated,
            "misses": list(metrics.dated_misses),
        },
        subject=version,
    )
