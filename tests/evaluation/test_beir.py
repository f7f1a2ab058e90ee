"""The BEIR loader on a tiny set written the way public BEIR sets are laid out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import load_beir
from ragtune.tasks.evaluation.retrieval import evaluate_retrieval

QUERIES = [
    {"_id": "q1", "text": "minimum deductible for home policies", "answer": "750"},
    {
        "_id": "q2",
        "text": "how fast must theft be reported",
        "class": "regulatory",
        "metadata": {"source": "ops"},
    },
    {"_id": "q3", "text": "who founded the company"},
]
QRELS = (
    "query-id\tcorpus-id\tscore\nq1\tdeduct-2024\t2\nq1\tdeduct-2023\t1\nq2\ttheft\t1\n"
)
CORPUS = [
    {"_id": "theft", "title": "Theft", "text": "Report theft within 48 hours."},
    {"_id": 7, "text": "Numeric ids, as in SciFact, load as strings."},
]


def _write_set(root: Path, queries=QUERIES, qrels=QRELS, corpus=CORPUS) -> Path:
    (root / "qrels").mkdir(parents=True)
    lines = [json.dumps(q) if isinstance(q, dict) else q for q in queries]
    (root / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    if corpus is not None:
        docs = "\n".join(json.dumps(d) for d in corpus)
        (root / "corpus.jsonl").write_text(docs, encoding="utf-8")
    return root


def test_loads_queries_qrels_corpus_and_extra_fields(tmp_path: Path) -> None:
    evalset = load_beir(_write_set(tmp_path / "northwind"))
    assert evalset.name == "northwind" and evalset.split == "test"
    assert [q.qid for q in evalset.queries] == ["q1", "q2", "q3"]
    q1, q2, _ = evalset.queries
    assert q1.extra == {"answer": "750"}
    assert q2.extra == {"class": "regulatory"} and q2.metadata == {"source": "ops"}
    assert evalset.qrels == {
        "q1": {"deduct-2024": 2, "deduct-2023": 1},
        "q2": {"theft": 1},
    }
    assert [q.qid for q in evalset.judged()] == ["q1", "q2"]
    assert set(evalset.corpus) == {"theft", "7"}
    assert evalset.corpus["theft"].title == "Theft"


def test_corpus_is_optional_and_header_less_qrels_load(tmp_path: Path) -> None:
    root = _write_set(tmp_path / "s", qrels="q1\tdeduct-2024\t1\n", corpus=None)
    evalset = load_beir(root)
    assert evalset.corpus is None
    assert evalset.qrels == {"q1": {"deduct-2024": 1}}


def test_qrels_for_unknown_queries_are_dropped(tmp_path: Path) -> None:
    root = _write_set(tmp_path / "s", qrels=QRELS + "q404\ttheft\t1\n")
    assert "q404" not in load_beir(root).qrels


@pytest.mark.parametrize(
    ("queries", "qrels", "message"),
    [
        ([QUERIES[0], "{not json"], QRELS, r"queries.jsonl line 2: not valid JSON"),
        ([QUERIES[0], {"text": "no id"}], QRELS, r"queries.jsonl line 2: .*'_id'"),
        ([QUERIES[0], QUERIES[0]], QRELS, r"queries.jsonl line 2: duplicate query id"),
        (
            [QUERIES[0], "[1, 2]"],
            QRELS,
            r"queries.jsonl line 2: expected a JSON object",
        ),
        (QUERIES, QRELS + "q1\tonly-two\n", r"test.tsv line 5: expected 3 tab"),
        (QUERIES, QRELS + "q1\td\thigh\n", r"test.tsv line 5: score 'high'"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, queries: list, qrels: str, message: str
) -> None:
    root = _write_set(tmp_path / "bad", queries=queries, qrels=qrels)
    with pytest.raises(InputError, match=message):
        load_beir(root)


def test_missing_split_names_the_file(tmp_path: Path) -> None:
    root = _write_set(tmp_path / "s")
    with pytest.raises(InputError, match=r"qrels/dev.tsv: file not found"):
        load_beir(root, split="dev")


def test_evaluate_retrieval_runs_every_query(tmp_path: Path) -> None:
    evalset = load_beir(_write_set(tmp_path / "s"))
    answers = {
        QUERIES[0]["text"]: ["deduct-2023", "deduct-2024"],  # grades 1, 2: misordered
        QUERIES[1]["text"]: ["theft"],
        QUERIES[2]["text"]: ["history"],  # unjudged: skipped
    }
    asked: list[str] = []

    def search(text: str, as_of: object = None) -> list[str]:
        asked.append(text)
        return answers[text]

    m = evaluate_retrieval(search, evalset, k=1)
    assert len(asked) == 3
    assert (m.n_queries, m.n_skipped) == (2, 1)
    assert m.recall_at_k == pytest.approx((0.5 + 1.0) / 2)
    assert m.mrr == 1.0
    assert m.by_query("ndcg_at_10")["q2"] == 1.0
