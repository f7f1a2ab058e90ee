"""The RAG baseline measured on a real LanceDB index with the real MiniLM embedder."""

from __future__ import annotations

import pytest

from ragtune.errors import InputError
from ragtune.tasks.decision import costing
from ragtune.tasks.decision.evidence import measure_rag_baseline, slice_queries
from ragtune.tasks.decision.models import AnswerFigures, MeasuredAnswers
from ragtune.tasks.decision.retrievers import lancedb_search_factory, mean_chunk_tokens
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet, load_beir
from ragtune.tasks.index.publish import open_live


@pytest.fixture(scope="module")
def setup(live_index, embedder, kit, tmp_path_factory):  # noqa: ANN001, ANN201
    table = open_live(live_index, "chunks")
    evalset = load_beir(kit.write_evalset(tmp_path_factory.mktemp("eval"), True))
    return table, evalset, lancedb_search_factory(table, embedder)


@pytest.mark.slow
def test_grid_keeps_the_cheapest_setting_that_meets_the_target(kit, setup) -> None:
    table, evalset, factory = setup
    tokens = mean_chunk_tokens(table, kit.cfg.chars_per_token)
    texts = [text for _, _, text in kit.CORPUS]  # one chunk per short document
    assert tokens == pytest.approx(sum(map(len, texts)) / len(texts) / 4, rel=0.2)
    gap = kit.make_gap(
        eval_slice={"classes": ["regulatory", "product-pricing"]},
        accuracy_target={"metric": "recall_at_k", "target": 0.6},
    )
    ev = measure_rag_baseline(gap, evalset, factory, cfg=kit.cfg, chunk_tokens=tokens)
    # q1-q4 plus q8, whose only relevant document is not indexed
    assert ev.n_queries == 5
    # 3 k x 2 modes x (no filter, slice classes)
    assert len(ev.tried) == 12
    assert {r.setting.classes for r in ev.tried} == {
        None,
        ("regulatory", "product-pricing"),
    }
    assert max(r.metric for r in ev.tried) == pytest.approx(0.8)  # q8 unreachable
    meeting = [r for r in ev.tried if r.metric >= 0.6]
    assert ev.best.context_tokens == min(r.context_tokens for r in meeting)
    assert ev.value == ev.best.metric >= 0.6 and ev.sources["recall_at_k"] == "measured"
    filtered_10 = next(
        r for r in ev.tried if r.setting.k == 10 and r.setting.classes is not None
    )
    # only 4 chunks are in the two classes: k=10 sends 4 chunks, not 10
    assert filtered_10.context_tokens == pytest.approx(4 * tokens)
    expected = costing.cost_per_1k(
        costing.prompt_tokens(ev.best.context_tokens, kit.cfg),
        kit.cfg.answer_tokens,
        kit.cfg.rag_model,
    )
    assert ev.rag_cost_per_1k_usd == pytest.approx(expected)
    assert ev.rag_cost_per_month_usd == pytest.approx(expected * 10)  # 10k/month
    assert ev.latency_p95_ms == ev.best.retrieval_latency_p95_ms > 0
    assert ev.notes == ("latency is retrieval only",)


@pytest.mark.slow
def test_unreachable_target_keeps_the_best_figure(kit, setup) -> None:
    table, evalset, factory = setup
    gap = kit.make_gap(
        eval_slice={"query_ids": ["q1", "q2", "q8"]},
        accuracy_target={"metric": "recall_at_k", "target": 0.95},
    )
    ev = measure_rag_baseline(gap, evalset, factory, cfg=kit.cfg, chunk_tokens=100.0)
    assert len(ev.tried) == 6  # no classes in the slice: no filter variant
    assert ev.value == max(r.metric for r in ev.tried) < 0.95
    # the retrievers rank the two reachable documents inside the top 3
    assert ev.value == pytest.approx(2 / 3)


@pytest.mark.slow
def test_answer_scorer_runs_once_on_the_setting_retrieval_chose(kit, setup) -> None:
    _, evalset, factory = setup
    calls = []

    def scorer(gap, setting, queries) -> MeasuredAnswers:  # noqa: ANN001
        calls.append((setting, tuple(q.qid for q in queries.queries)))
        return MeasuredAnswers(
            closed_book=AnswerFigures(token_f1=0.1, n=4),
            rag=AnswerFigures(
                token_f1=0.55, format_compliance=0.5, latency_p95_ms=900.0, n=4
            ),
            differences=({"metric": "token_f1", "gain": 0.45},),
        )

    gap = kit.make_gap(
        eval_slice={"query_ids": ["q1", "q2", "q3", "q4"]},
        accuracy_target={"metric": "token_f1", "target": 0.54},
        format={"regex": "^x$"},
    )
    ev = measure_rag_baseline(
        gap, evalset, factory, cfg=kit.cfg, chunk_tokens=100.0, answer_scorer=scorer
    )
    # one model run per gap (6 retrieval settings were tried), on the whole slice
    assert len(calls) == 1 and calls[0][1] == ("q1", "q2", "q3", "q4")
    assert calls[0][0] == ev.best.setting
    # an answer target: retrieval picks the setting by recall, fewest tokens first
    best_recall = max(r.retrieval["recall_at_k"] for r in ev.tried)
    assert ev.best.retrieval["recall_at_k"] == best_recall
    assert ev.value == pytest.approx(0.55) and ev.sources["token_f1"] == "measured"
    assert ev.format_compliance == 0.5 and ev.sources["format_compliance"] == "measured"
    assert ev.latency_p95_ms == pytest.approx(ev.best.retrieval_latency_p95_ms + 900)
    assert ev.closed_book.token_f1 == 0.1 and ev.differences[0]["gain"] == 0.45


def test_slice_errors_and_seeded_sample(kit) -> None:
    queries = tuple(
        EvalQuery(f"q{i}", f"question {i}", {"class": "regulatory"}) for i in range(9)
    )
    evalset = EvalSet("tiny", "test", queries, {q.qid: {"d": 1} for q in queries})
    with pytest.raises(InputError, match="query_ids not in eval set tiny: zz"):
        slice_queries(kit.make_gap(eval_slice={"query_ids": ["zz"]}), evalset, kit.cfg)
    gap = kit.make_gap(eval_slice={"classes": ["historical"]})
    with pytest.raises(InputError, match="selects no judged query"):
        slice_queries(gap, evalset, kit.cfg)
    small = kit.cfg.model_copy(update={"max_queries_per_gap": 4})
    picked = slice_queries(kit.make_gap(), evalset, small)
    assert len(picked) == 4 and picked == slice_queries(kit.make_gap(), evalset, small)
    assert [q.qid for q in picked] == sorted(q.qid for q in picked)  # set order


class _NoEmbedder:
    name, dim = "none", 4


def test_unknown_search_mode_is_named() -> None:
    factory = lancedb_search_factory(table=None, embedder=_NoEmbedder())
    with pytest.raises(InputError, match="unknown search mode 'sparse'"):
        factory("sparse", None, 5)
