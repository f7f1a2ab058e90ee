"""Hybrid search on a small real LanceDB table embedded with the real MiniLM model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import lancedb
import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.evaluation.beir import load_beir
from ragtune.tasks.evaluation.retrieval import evaluate_retrieval
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.retrieval import index_retriever, retrieve
from ragtune.tasks.index.schema import Chunk, chunk_schema
from ragtune.tasks.index.search import (
    build_filter,
    doc_ranking,
    fuse_ranks,
    hybrid_search,
    make_snippet,
)
from ragtune.tasks.index.search_indexes import ensure_search_indexes
from ragtune.tasks.serving.retrieval import LiveIndex, LiveState

D = date
CLASSES = ("regulatory", "product-pricing", "historical", "domain-concept")
# (doc_id, category, text, effective_date, valid_until)
CORPUS = [
    (
        "reg-theft",
        "regulatory",
        "Theft of a motor vehicle must be reported to the "
        "insurer and to the police within 48 hours of discovery.",
        None,
        None,
    ),
    (
        "reg-notice",
        "regulatory",
        "Under clause 14.3(b) an insurer shall notify each "
        "policyholder in writing at least thirty days before a premium change takes "
        "effect.",
        D(2023, 1, 1),
        None,
    ),
    (
        "reg-complaints",
        "regulatory",
        "Under clause 7.2(a) every complaint receives a "
        "written answer within fifteen working days.",
        D(2023, 1, 1),
        None,
    ),
    (
        "reg-data",
        "regulatory",
        "Clause 9.1 requires claim files to be kept for ten "
        "years after the claim is closed.",
        D(2023, 1, 1),
        None,
    ),
    (
        "reg-cooling",
        "regulatory",
        "A consumer may withdraw from a new policy within "
        "fourteen days of signature without giving reasons and without penalty.",
        D(2022, 5, 1),
        None,
    ),
    (
        "reg-deductible-2023",
        "regulatory",
        "The minimum deductible for home insurance policies is 500 euros per claim.",
        D(2023, 1, 1),
        D(2024, 6, 30),  # its last day: the 2024 rule applies from the next
    ),
    (
        "reg-deductible-2024",
        "regulatory",
        "The minimum deductible for home insurance policies is 750 euros per claim.",
        D(2024, 7, 1),
        None,
    ),
    (
        "price-home",
        "product-pricing",
        "Home cover costs 18 euros per month for "
        "apartments and 27 euros per month for houses.",
        D(2024, 3, 1),
        None,
    ),
    (
        "price-car",
        "product-pricing",
        "Comprehensive car cover costs 42 euros per "
        "month; third-party cover costs 19 euros.",
        D(2024, 3, 1),
        None,
    ),
    (
        "price-discount",
        "product-pricing",
        "Customers holding three or more policies "
        "receive a 12 percent discount on every premium.",
        D(2024, 3, 1),
        None,
    ),
    (
        "hist-founding",
        "historical",
        "Northwind Mutual was founded in 1921 by a cooperative of fishermen in Bergen.",
        None,
        None,
    ),
    (
        "hist-flood",
        "historical",
        "The North Sea flood of 1953 produced the largest "
        "claims year in the company's history.",
        None,
        None,
    ),
    (
        "concept-deductible",
        "domain-concept",
        "A deductible is the part of every claim "
        "that the policyholder pays before the insurer pays the rest.",
        None,
        None,
    ),
    (
        "concept-subrogation",
        "domain-concept",
        "Subrogation lets an insurer that paid "
        "a claim recover the money from the party that caused the loss.",
        None,
        None,
    ),
]


def chunk_row(doc_id: str, category: str, text: str, eff, until, vector) -> dict:
    digest = hashlib.sha256(text.encode()).hexdigest()
    chunk = Chunk(
        chunk_id=f"{doc_id}#{digest[:16]}",
        doc_id=doc_id,
        ordinal=0,
        text=text,
        content_hash=digest,
        source_path=f"kb/{doc_id}.md",
        title=doc_id.replace("-", " ").title(),
        section="",
        category=category,
        effective_date=eff,
        valid_until=until,
        data_hash="md5-test",
    )
    return asdict(chunk) | {"vector": [float(x) for x in vector]}


@pytest.fixture(scope="module")
def table(tmp_path_factory, embedder):
    vectors = embedder.embed([row[2] for row in CORPUS])
    rows = [chunk_row(*row, vec) for row, vec in zip(CORPUS, vectors, strict=True)]
    db = lancedb.connect(tmp_path_factory.mktemp("search"))
    tbl = db.create_table("chunks", data=rows, schema=chunk_schema(embedder.dim))
    ensure_search_indexes(tbl, IndexConfig())
    return tbl


def test_exact_clause_number_found_although_vector_side_ranks_it_low(
    table, embedder
) -> None:
    hits = hybrid_search(table, embedder, "14.3(b)", k=3)
    top = hits[0]
    assert top.doc_id == "reg-notice"
    assert top.text_rank == 1
    # MiniLM alone prefers another clause: the keyword side is what finds it.
    assert top.vector_rank is not None and top.vector_rank > 1
    assert "14.3(b)" in top.snippet


def test_paraphrase_found_although_full_text_misses_it(table, embedder) -> None:
    query = "How quickly should I tell anyone that my automobile was taken?"
    hits = hybrid_search(table, embedder, query, k=3)
    assert hits[0].doc_id == "reg-theft"
    assert hits[0].text_rank is None  # no word of the query is in the chunk
    assert hits[0].vector_rank == 1


def test_hits_are_unique_scored_and_ordered(table, embedder) -> None:
    hits = hybrid_search(table, embedder, "deductible per claim", k=20)
    assert len(hits) == len(CORPUS)
    assert len({h.chunk_id for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    both = hits[0]
    expected = 1 / (60 + both.vector_rank) + 1 / (60 + both.text_rank)
    assert both.score == pytest.approx(expected)


def test_class_filter_is_applied_before_ranking(table, embedder) -> None:
    # Two candidates per side: a filter applied after the cut would leave nothing,
    # since this query's best matches are regulatory.
    hits = hybrid_search(
        table,
        embedder,
        "minimum deductible for home insurance",
        k=2,
        classes=["historical"],
        candidates=2,
    )
    assert [h.category for h in hits] == ["historical", "historical"]
    pricing = hybrid_search(
        table, embedder, "price", k=10, classes=["product-pricing", "historical"]
    )
    assert {h.doc_id for h in pricing} == {
        "price-home",
        "price-car",
        "price-discount",
        "hist-founding",
        "hist-flood",
    }


@pytest.mark.parametrize(
    ("day", "in_force", "not_in_force"),
    [
        (D(2024, 3, 1), "reg-deductible-2023", "reg-deductible-2024"),
        (D(2024, 6, 30), "reg-deductible-2023", "reg-deductible-2024"),
        (D(2024, 7, 1), "reg-deductible-2024", "reg-deductible-2023"),  # amended
        (D(2025, 1, 1), "reg-deductible-2024", "reg-deductible-2023"),
    ],
)
def test_date_filter_returns_the_rule_in_force(
    table, embedder, day, in_force, not_in_force
) -> None:
    hits = hybrid_search(
        table,
        embedder,
        "minimum deductible for home insurance policies",
        k=20,
        in_force_on=day,
    )
    docs = doc_ranking(hits)
    assert docs[0] == in_force
    assert not_in_force not in docs
    assert "hist-flood" in docs  # undated chunks are always in force


def test_date_filter_before_any_rule(table, embedder) -> None:
    docs = doc_ranking(
        hybrid_search(
            table, embedder, "minimum deductible", k=20, in_force_on=D(2022, 1, 1)
        )
    )
    assert not {"reg-deductible-2023", "reg-deductible-2024", "reg-cooling"} & set(docs)
    assert "concept-deductible" in docs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "   "}, "search query is empty"),
        ({"query": "x", "k": 0}, "k must be at least 1"),
        ({"query": "x", "k": 5, "candidates": 3}, r"candidates \(3\) must be"),
        ({"query": "x", "classes": []}, "classes is an empty list"),
        ({"query": "x", "classes": "regulatory"}, "must be a list of names"),
        (
            {
                "query": "x",
                "classes": ["regulatory", "gossip"],
                "known_classes": CLASSES,
            },
            "unknown class.*gossip.*known: domain-concept",
        ),
    ],
)
def test_bad_input_is_rejected(table, embedder, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        hybrid_search(table, embedder, **kwargs)


def test_embedder_of_another_dimension_is_a_config_error(tmp_path, embedder) -> None:
    db = lancedb.connect(tmp_path)
    small = db.create_table("chunks", schema=chunk_schema(8))
    with pytest.raises(ConfigError, match="dimension 8 but embedder"):
        hybrid_search(small, embedder, "anything")


def test_quotes_and_operators_in_queries_do_not_break_search(table, embedder) -> None:
    hits = hybrid_search(table, embedder, '"clause 14.3(b)" AND premium: (notify', k=3)
    assert hits[0].doc_id == "reg-notice"


def test_doc_ranking_keeps_first_occurrence_order(table, embedder) -> None:
    hits = hybrid_search(table, embedder, "deductible", k=5)
    docs = doc_ranking(hits + hits)
    assert docs == list(dict.fromkeys(h.doc_id for h in hits))


def test_fusion_counts_a_duplicated_chunk_once_at_its_best_rank() -> None:
    a, b, c = ({"chunk_id": x} for x in "abc")
    fused = fuse_ranks([[a, b, a], [c, a]], rrf_k=60)
    assert [row["chunk_id"] for row, _, _ in fused] == ["a", "c", "b"]
    row, score, ranks = fused[0]
    assert ranks == (1, 2)
    assert score == pytest.approx(1 / 61 + 1 / 62)
    # c (text rank 1, 1/61) outranks b (vector rank 2, 1/62).
    assert fused[1][2] == (None, 1) and fused[2][2] == (2, None)


def test_build_filter_quotes_names_and_dates() -> None:
    assert build_filter(None, None) is None
    sql = build_filter(["it's"], D(2024, 7, 1))
    assert "category IN ('it''s')" in sql
    assert "effective_date <= DATE '2024-07-01'" in sql
    assert "valid_until >= DATE '2024-07-01'" in sql  # the last day still counts


def test_snippet_is_centred_on_the_query_terms() -> None:
    filler = "Lorem ipsum dolor sit amet consectetur adipiscing elit. " * 8
    text = filler + "Clause 14.3(b) obliges the insurer to notify. " + filler
    snippet = make_snippet(text, "what does 14.3(b) say about notify")
    assert "14.3(b) obliges the insurer to notify" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 242
    assert make_snippet("short text", "nothing") == "short text"
    assert make_snippet(filler * 2, "zebra").startswith("Lorem ipsum")


def test_evaluation_over_hybrid_search(tmp_path: Path, table, embedder) -> None:
    root = tmp_path / "northwind-eval"
    (root / "qrels").mkdir(parents=True)
    queries = [
        {"_id": "q1", "text": "14.3(b)"},
        {
            "_id": "q2",
            "text": "How quickly should I tell anyone that my automobile was taken?",
        },
        {"_id": "q3", "text": "when was the company founded"},
    ]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\treg-notice\t1\nq2\treg-theft\t1\n"
        "q3\thist-founding\t1\n"
    )

    def search(text: str, as_of: object = None) -> list[str]:
        return doc_ranking(hybrid_search(table, embedder, text, k=10))

    m = evaluate_retrieval(search, load_beir(root), k=3)
    assert m.n_queries == 3
    assert m.recall_at_k == 1.0
    assert m.mrr == 1.0


def test_retrieval_gives_whole_chunks_with_their_similarity(table, embedder) -> None:
    question = "How quickly should I tell anyone that my automobile was taken?"
    chunks = retrieve(table, embedder, question, 3)
    hits = hybrid_search(table, embedder, question, k=3)
    assert [c.chunk_id for c in chunks] == [h.chunk_id for h in hits]
    texts = {row[0]: row[2] for row in CORPUS}
    query = embedder.embed([question])[0]
    for chunk in chunks:
        assert chunk.text == texts[chunk.doc_id]  # the whole chunk, not a snippet
        vector = embedder.embed([chunk.text])[0]
        assert chunk.similarity == pytest.approx(float(query @ vector), abs=1e-5)
    assert chunks[0].doc_id == "reg-theft" and chunks[0].similarity > 0.3
    assert chunks[0].similarity > chunks[-1].similarity
    assert set(chunks[0].public()) >= {"doc_id", "chunk_id", "score", "similarity"}
    assert "text" not in chunks[0].public()  # clients never get the chunk text


def test_evaluation_and_serving_retrieve_the_same_chunks(table, embedder) -> None:
    question = "minimum deductible per claim"
    for_eval = index_retriever(table, embedder, k=4, classes=["product-pricing"])
    served = retrieve(table, embedder, question, 4, classes=["product-pricing"])
    assert for_eval(question) == served
    assert {c.doc_id for c in served} <= {
        row[0] for row in CORPUS if row[1] == "product-pricing"
    }
    state = LiveState(table=table, version=table.version, tag=None)
    index = LiveIndex("unused", IndexConfig(), embedder)
    # serving answers with what is in force today unless asked about another day
    today = date.today()
    assert index.retrieve(state, "deductible", 5) == retrieve(
        table, embedder, "deductible", 5, in_force_on=today
    )
    past = index.retrieve(state, "minimum deductible", 8, D(2024, 3, 1))
    assert past == for_eval_on("minimum deductible", D(2024, 3, 1), table, embedder)
    assert "reg-deductible-2023" in {c.doc_id for c in past}
    assert "reg-deductible-2023" not in {
        c.doc_id for c in index.retrieve(state, "minimum deductible", 8)
    }


def for_eval_on(question: str, day: date, table, embedder) -> list:  # noqa: ANN001
    """What the evaluation harness retrieves for a question dated ``day``."""
    return index_retriever(table, embedder, k=8)(question, day)
