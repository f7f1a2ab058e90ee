"""Retrieval metrics over document rankings: recall@k, MRR@k and nDCG@10.

Definitions (per query q with judged grades ``g(d)``; relevant means ``g(d) > 0``;
a ranking is deduplicated, first occurrence wins):

- recall@k = |relevant docs in the top k| / |relevant docs|.
- MRR@k: reciprocal rank ``1 / r`` of the first relevant document when ``r <= k``,
  else 0 (BEIR's ``MRR@k``).
- nDCG@10 = DCG@10 / IDCG@10 with ``DCG@10 = sum_{i=1..10} g(d_i) / log2(i + 1)``:
  linear gain on the grade, as trec_eval's ``ndcg_cut_10`` (which BEIR reports),
  so figures compare with published BEIR numbers. IDCG@10 is the DCG of the judged
  grades sorted best first; negative grades count as 0.

- in_force@1 (dated questions only, those with an ``as_of`` day): the share
  whose first *judged* document is a relevant one, searching what was in force
  that day. Their judgements grade the version in force then 1 and the other
  versions 0, so another version ranked above the one in force is a miss; a
  document nobody judged (a glossary page) counts neither way.

Set figures are means over the evaluated queries. Queries with no relevant judged
document are skipped (every metric would be undefined or trivially 0) and counted
in ``n_skipped``. Per-query figures are kept for paired bootstrap comparisons.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import EvalSet

log = logging.getLogger(__name__)

NDCG_CUTOFF = 10
METRICS = ("recall_at_k", "mrr", "ndcg_at_10")


@dataclass(frozen=True)
class QueryMetrics:
    """The three figures for one query."""

    qid: str
    recall_at_k: float
    mrr: float
    ndcg_at_10: float


@dataclass(frozen=True)
class RetrievalMetrics:
    """Set-level means, how many queries they cover, and the per-query figures."""

    recall_at_k: float
    mrr: float
    ndcg_at_10: float
    n_queries: int
    k: int
    n_skipped: int = 0
    per_query: tuple[QueryMetrics, ...] = ()
    # Dated questions (``as_of``): the share whose first document is one judged
    # relevant that day, i.e. answered from the version in force then.
    in_force_at_1: float | None = None
    n_dated: int = 0
    dated_misses: tuple[str, ...] = ()

    def by_query(self, metric: str) -> dict[str, float]:
        """``{qid: value}`` of one metric, for paired comparisons across runs."""
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
        return {q.qid: getattr(q, metric) for q in self.per_query}

    def summary(self) -> dict[str, float | int]:
        """The set-level figures as a flat mapping (reports, JSON output)."""
        figures: dict[str, float | int] = {
            "recall_at_k": self.recall_at_k,
            "mrr": self.mrr,
            "ndcg_at_10": self.ndcg_at_10,
            "n_queries": self.n_queries,
            "n_skipped": self.n_skipped,
            "k": self.k,
        }
        if self.in_force_at_1 is not None:
            figures["in_force_at_1"] = self.in_force_at_1
            figures["n_dated"] = self.n_dated
        return figures


def retrieval_metrics(
    rankings: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    k: int,
    dated: Collection[str] = (),
) -> RetrievalMetrics:
    """Score the ranking of every query in ``rankings`` against ``qrels``.

    Args:
        rankings: Query id -> document ids, best first.
        qrels: Query id -> document id -> relevance grade.
        k: Cutoff for recall and MRR (nDCG is always cut at 10).
        dated: Query ids asked as of a day; ``in_force_at_1`` is measured on them.

    Returns:
        Means over the queries that have a relevant judged document; others are
        counted in ``n_skipped``. With no evaluable query every mean is 0.0.
    """
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    per_query: list[QueryMetrics] = []
    skipped = 0
    for qid, ranking in rankings.items():
        grades = {d: max(0, g) for d, g in qrels.get(qid, {}).items()}
        if not any(grades.values()):
            skipped += 1
            continue
        per_query.append(_score_query(qid, _dedupe(ranking), grades, k))
    if skipped:
        log.info("%d queries without a relevant judged document were skipped", skipped)
    if not per_query:
        log.warning("no query could be evaluated; all metrics are 0")
    n = len(per_query)

    def mean(metric: str) -> float:
        return sum(getattr(q, metric) for q in per_query) / n if n else 0.0

    timed = [q for q in per_query if q.qid in set(dated)]
    misses = tuple(
        sorted(
            q.qid for q in timed if not _in_force_first(rankings[q.qid], qrels[q.qid])
        )
    )
    return RetrievalMetrics(
        recall_at_k=mean("recall_at_k"),
        mrr=mean("mrr"),
        ndcg_at_10=mean("ndcg_at_10"),
        n_queries=n,
        k=k,
        n_skipped=skipped,
        per_query=tuple(per_query),
        in_force_at_1=(1 - len(misses) / len(timed)) if timed else None,
        n_dated=len(timed),
        dated_misses=misses,
    )


def evaluate_retrieval(
    search: Callable[[str, date | None], list[str]], evalset: EvalSet, k: int
) -> RetrievalMetrics:
    """Run ``search`` on every query of the set (with its ``as_of`` day) and score
    the document rankings.

    ``search`` should return at least ``max(k, 10)`` document ids when it can, or
    nDCG@10 is computed over a shorter list than its cutoff.
    """
    rankings = {q.qid: list(search(q.text, q.as_of)) for q in evalset.queries}
    return retrieval_metrics(rankings, evalset.qrels, k, dated=_dated(evalset))


def _dated(evalset: EvalSet) -> set[str]:
    return {q.qid for q in evalset.queries if q.as_of is not None}


def compare(current: RetrievalMetrics, previous: RetrievalMetrics) -> dict[str, float]:
    """``current - previous`` for each metric, for the refresh report.

    Both must use the same ``k``: recall@5 against recall@10 is not a change.
    """
    if current.k != previous.k:
        raise InputError(
            f"cannot compare metrics at k={current.k} with metrics at k={previous.k}"
        )
    return {m: getattr(current, m) - getattr(previous, m) for m in METRICS}


def _in_force_first(ranking: Sequence[str], grades: Mapping[str, int]) -> bool:
    """True when the first judged document of ``ranking`` is a relevant one: for a
    dated question, the version in force ranks above every other judged version
    (documents nobody judged, e.g. a glossary page, do not count either way)."""
    judged = (d for d in ranking if d in grades)
    first = next(judged, None)
    return first is not None and grades[first] > 0


def _dedupe(ranking: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def _score_query(
    qid: str, ranking: list[str], grades: Mapping[str, int], k: int
) -> QueryMetrics:
    relevant = {d for d, g in grades.items() if g > 0}
    top_k = ranking[:k]
    recall = len(relevant.intersection(top_k)) / len(relevant)
    first = next((i for i, d in enumerate(top_k, start=1) if d in relevant), None)
    return QueryMetrics(
        qid=qid,
        recall_at_k=recall,
        mrr=1.0 / first if first else 0.0,
        ndcg_at_10=_ndcg(ranking[:NDCG_CUTOFF], grades),
    )


def _dcg(gains: Sequence[int]) -> float:
    return sum(g / math.log2(i + 1) for i, g in enumerate(gains, start=1))


def _ndcg(ranking: list[str], grades: Mapping[str, int]) -> float:
    ideal = _dcg(sorted(grades.values(), reverse=True)[:NDCG_CUTOFF])
    return _dcg([grades.get(d, 0) for d in ranking]) / ideal if ideal else 0.0
