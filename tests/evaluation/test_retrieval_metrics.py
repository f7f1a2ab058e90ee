"""Retrieval metrics against values computed by hand from the documented formulas."""

from __future__ import annotations

import math

import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.retrieval import compare, retrieval_metrics

LOG2_3 = math.log2(3)  # discount at rank 2
LOG2_5 = math.log2(5)  # discount at rank 4


def test_perfect_ranking_scores_one() -> None:
    m = retrieval_metrics({"q1": ["d1", "d2", "d3"]}, {"q1": {"d1": 1, "d2": 1}}, k=2)
    assert (m.recall_at_k, m.mrr, m.ndcg_at_10) == (1.0, 1.0, 1.0)
    assert (m.n_queries, m.n_skipped, m.k) == (1, 0, 2)


def test_empty_ranking_scores_zero() -> None:
    m = retrieval_metrics({"q1": []}, {"q1": {"d1": 1}}, k=5)
    assert (m.recall_at_k, m.mrr, m.ndcg_at_10) == (0.0, 0.0, 0.0)
    assert m.n_queries == 1


def test_partial_ranking() -> None:
    # Relevant d2 at rank 2 and d1 at rank 4; with k=3 only d2 is inside the cutoff.
    m = retrieval_metrics(
        {"q1": ["x", "d2", "y", "d1"]}, {"q1": {"d1": 1, "d2": 1}}, k=3
    )
    assert m.recall_at_k == pytest.approx(0.5)
    assert m.mrr == pytest.approx(0.5)
    dcg = 1 / LOG2_3 + 1 / LOG2_5
    idcg = 1 + 1 / LOG2_3
    assert m.ndcg_at_10 == pytest.approx(dcg / idcg)  # 0.6509


def test_graded_ndcg_uses_linear_gain() -> None:
    # a is highly relevant (2), b partly (1), c judged not relevant (0).
    qrels = {"q1": {"a": 2, "b": 1, "c": 0}}
    m = retrieval_metrics({"q1": ["b", "a", "c"]}, qrels, k=3)
    dcg = 1 / 1 + 2 / LOG2_3
    idcg = 2 / 1 + 1 / LOG2_3
    assert m.ndcg_at_10 == pytest.approx(dcg / idcg)  # 0.8597
    assert m.recall_at_k == 1.0  # both graded documents are in the top 3
    assert m.mrr == 1.0  # b is relevant (grade 1) at rank 1
    swapped = retrieval_metrics({"q1": ["a", "b", "c"]}, qrels, k=3)
    assert swapped.ndcg_at_10 == pytest.approx(1.0)


def test_ndcg_is_cut_at_ten_whatever_k() -> None:
    ranking = [f"n{i}" for i in range(10)] + ["d1"]  # d1 at rank 11
    m = retrieval_metrics({"q1": ranking}, {"q1": {"d1": 1}}, k=20)
    assert m.recall_at_k == 1.0
    assert m.mrr == pytest.approx(1 / 11)
    assert m.ndcg_at_10 == 0.0


def test_queries_without_relevant_judgements_are_skipped_and_counted() -> None:
    rankings = {"q1": ["d1"], "q2": ["d9"], "q3": ["d3"]}
    qrels = {"q1": {"d1": 1}, "q3": {"d3": 0}}  # q2 unjudged, q3 only non-relevant
    m = retrieval_metrics(rankings, qrels, k=1)
    assert (m.n_queries, m.n_skipped) == (1, 2)
    assert m.recall_at_k == 1.0
    assert [q.qid for q in m.per_query] == ["q1"]


def test_means_over_queries_and_per_query_figures() -> None:
    rankings = {"q1": ["d1"], "q2": ["x", "d2"]}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    m = retrieval_metrics(rankings, qrels, k=1)
    assert m.recall_at_k == pytest.approx(0.5)  # (1 + 0) / 2
    assert m.mrr == pytest.approx(0.5)  # MRR@1: d2 at rank 2 is outside k
    assert m.ndcg_at_10 == pytest.approx((1 + 1 / LOG2_3) / 2)
    assert m.by_query("recall_at_k") == {"q1": 1.0, "q2": 0.0}


def test_duplicate_documents_in_a_ranking_count_once() -> None:
    qrels = {"q1": {"d1": 1, "d2": 1}}
    dup = retrieval_metrics({"q1": ["d1", "d1", "d2"]}, qrels, k=2)
    assert dup.recall_at_k == 1.0
    assert dup.ndcg_at_10 == pytest.approx(1.0)


def test_no_evaluable_query_gives_zeros() -> None:
    m = retrieval_metrics({}, {"q1": {"d1": 1}}, k=5)
    assert (m.recall_at_k, m.mrr, m.ndcg_at_10, m.n_queries) == (0.0, 0.0, 0.0, 0)


def test_bad_k_and_unknown_metric_are_input_errors() -> None:
    with pytest.raises(InputError, match="k must be at least 1"):
        retrieval_metrics({"q1": ["d1"]}, {"q1": {"d1": 1}}, k=0)
    m = retrieval_metrics({"q1": ["d1"]}, {"q1": {"d1": 1}}, k=1)
    with pytest.raises(InputError, match="unknown metric 'precision'"):
        m.by_query("precision")


def test_compare_gives_deltas_and_refuses_different_k() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    before = retrieval_metrics({"q1": ["d1"], "q2": ["x", "d2"]}, qrels, k=1)
    after = retrieval_metrics({"q1": ["d1"], "q2": ["d2"]}, qrels, k=1)
    delta = compare(after, before)
    assert delta["recall_at_k"] == pytest.approx(0.5)
    assert delta["mrr"] == pytest.approx(0.5)
    assert delta["ndcg_at_10"] == pytest.approx(1 - (1 + 1 / LOG2_3) / 2)
    other_k = retrieval_metrics({"q1": ["d1"]}, qrels, k=5)
    with pytest.raises(InputError, match="k=1 with metrics at k=5"):
        compare(after, other_k)
