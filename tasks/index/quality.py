"""Retrieval quality of an index version on an eval set, and the recall-floor gate.

Evaluated on the publish candidate before it goes live, so a refresh that makes
retrieval worse than ``index.recall_floor`` never reaches readers.
"""

from __future__ import annotations

from collections.abc import Collection

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

    def search(text: str) -> list[str]:
        k = max(cfg.eval_k, _EVAL_CHUNKS)
        return doc_ranking(hybrid_search(table, primed, text, k=k, cfg=cfg))

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
