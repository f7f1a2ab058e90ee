"""validate_eval_set on tiny BEIR sets, and on the bundled data/eval when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.eval_set import validate_eval_set

HEADER = "query-id\tcorpus-id\tscore"
KNOWN = ["aml-policy", "saver-rates"]


def _beir(
    root: Path, queries: list, qrels: list[str], corpus: list | None = None
) -> Path:
    """Write a BEIR folder; queries/corpus items are dicts or raw lines."""
    (root / "qrels").mkdir(parents=True)

    def lines(items: list) -> str:
        return "".join(
            (i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items
        )

    (root / "queries.jsonl").write_text(lines(queries), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    if corpus is not None:
        (root / "corpus.jsonl").write_text(lines(corpus), encoding="utf-8")
    return root


def _query(qid: str, text: str) -> dict:
    return {"_id": qid, "text": text, "metadata": {"class": "regulatory"}}


def test_clean_set_passes(tmp_path: Path) -> None:
    path = _beir(
        tmp_path / "eval",
        [_query("q1", "What is the CDD threshold?"), _query("q2", "Saver rate?")],
        [HEADER, "q1\taml-policy\t1", "q2\tsaver-rates\t2", "q2\taml-policy\t0"],
    )

    report = validate_eval_set(path, KNOWN)

    assert (report.passed, report.problems) == (True, ())
    assert (report.n_queries, report.n_qrels, report.n_corpus) == (2, 3, None)
    assert [e.name for e in report.expectations] == [
        "query-id-present", "query-id-not-blank", "query-id-unique",
        "query-text-present", "query-text-not-blank", "query-as-of-date",
        "query-text-unique", "query-has-relevant-doc", "qrel-query-known",
        "qrel-doc-known", "qrel-score-integer",
    ]  # fmt: skip
    assert report.data_docs_path is None  # in-memory context: nothing written


def test_every_flaw_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _beir(
        tmp_path / "eval",
        [
            _query("q1", "What is the CDD threshold?"),
            _query("q1", "How long do complaints take?"),
            {"_id": "q3", "text": "  "},
            "{not json",
            _query("q5", "What is the CDD threshold?"),
            {"text": "no id at all"},
            _query("q7", "Never judged"),
        ],
        [
            HEADER,
            "q1\taml-policy\t1",
            "q3\taml-policy\t1",
            "q5\tsaver-rates\t1",
            "q7\taml-policy\t0",
            "q9\taml-policy\t1",
            "q5\tghost-doc\t1",
            "q3\tsaver-rates\thigh",
            "q1\tonly-two-fields",
        ],
    )

    report = validate_eval_set(path, KNOWN)

    assert report.passed is False
    assert set(report.problems) == {
        "queries.jsonl line 4: not valid JSON (Expecting property name enclosed in "
        "double quotes)",
        "qrels/test.tsv line 9: expected 3 tab-separated fields, got 2",
        "queries.jsonl line 1: query id 'q1' is used by more than one query",
        "queries.jsonl line 2: query id 'q1' is used by more than one query",
        "queries.jsonl line 6: query has no _id",
        "queries.jsonl line 3: query text is blank",
        "queries.jsonl line 1: query text 'What is the CDD threshold?' appears more "
        "than once",
        "queries.jsonl line 5: query text 'What is the CDD threshold?' appears more "
        "than once",
        "queries.jsonl line 7: query 'q7' has no relevant document in qrels/test.tsv",
        "qrels/test.tsv line 6: query-id 'q9' is not in queries.jsonl",
        "qrels/test.tsv line 7: corpus-id 'ghost-doc' is not a known document id",
        "qrels/test.tsv line 8: score 'high' is not an integer",
    }
    assert len(report.problems) == 12
    assert (report.n_queries, report.n_qrels) == (6, 7)


def test_a_question_may_repeat_as_of_another_day(tmp_path: Path) -> None:
    asked = "What is the CDD threshold?"
    path = _beir(
        tmp_path / "eval",
        [
            {**_query("q1", asked), "as_of": "2026-06-01"},
            {**_query("q2", asked), "as_of": "2026-08-01"},
            {**_query("q3", asked), "as_of": "2026-08-01"},
            {**_query("q4", "Saver rate?"), "as_of": "1 August"},
        ],
        [HEADER] + [f"q{i}\taml-policy\t1" for i in range(1, 5)],
    )

    report = validate_eval_set(path, KNOWN)

    assert set(report.problems) == {
        "queries.jsonl line 2: query text 'What is the CDD threshold? (as of "
        "2026-08-01)' appears more than once",
        "queries.jsonl line 3: query text 'What is the CDD threshold? (as of "
        "2026-08-01)' appears more than once",
        "queries.jsonl line 4: as_of '1 August' is not a date (YYYY-MM-DD)",
    }


def test_corpus_ids_count_as_known(tmp_path: Path) -> None:
    path = _beir(
        tmp_path / "eval",
        [_query("q1", "Bond rates?")],
        [HEADER, "q1\tbond-rates\t1"],
        corpus=[
            {"_id": "bond-rates", "title": "Bonds", "text": "Issue 47 pays 3.40%."}
        ],
    )

    report = validate_eval_set(path, [])

    assert (report.passed, report.n_corpus) == (True, 1)
    assert report.expectations[-1].name == "corpus-text-not-blank"


def test_corpus_flaws(tmp_path: Path) -> None:
    path = _beir(
        tmp_path / "eval",
        [_query("q1", "Bond rates?")],
        [HEADER, "q1\tb\t1"],
        corpus=[{"_id": "b", "text": "x"}, {"_id": "b", "text": " "}],
    )

    report = validate_eval_set(path, [])

    assert set(report.problems) == {
        "corpus.jsonl line 1: document id 'b' is used more than once",
        "corpus.jsonl line 2: document id 'b' is used more than once",
        "corpus.jsonl line 2: document text is blank",
    }


def test_file_context_builds_data_docs(tmp_path: Path) -> None:
    path = _beir(
        tmp_path / "eval", [_query("q1", "Rates?")], [HEADER, "q1\taml-policy\t1"]
    )
    project = tmp_path / "project"

    report = validate_eval_set(
        path, KNOWN, cfg=ValidationConfig(), project_root=project
    )

    assert report.passed is True
    assert report.data_docs_path == str(
        project / "gx/uncommitted/data_docs/local_site/index.html"
    )
    assert Path(report.data_docs_path).is_file()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "queries.jsonl is missing"),
        (
            lambda p: (p.mkdir(), (p / "queries.jsonl").write_text("")),
            "qrels/test.tsv is missing",
        ),
    ],
)
def test_missing_pieces_raise_input_error(tmp_path: Path, setup, message: str) -> None:
    path = tmp_path / "eval"
    setup(path)
    with pytest.raises(InputError, match=message):
        validate_eval_set(path, KNOWN)


def test_wrong_qrels_header_raises(tmp_path: Path) -> None:
    path = _beir(tmp_path / "eval", [_query("q1", "x?")], ["qid\tdoc\trel", "q1\td\t1"])
    with pytest.raises(InputError, match="header must be 'query-id\\\\tcorpus-id"):
        validate_eval_set(path, KNOWN)


def test_bundled_eval_set_matches_bundled_kb(repo_root: Path) -> None:
    eval_path = repo_root / "data" / "eval"
    if not (eval_path / "queries.jsonl").is_file():
        pytest.skip("data/eval has no queries.jsonl yet")
    kb = load_knowledge_base(repo_root / "data" / "kb", DataConfig())

    report = validate_eval_set(eval_path, [d.doc_id for d in kb.documents])

    assert report.problems == ()
    assert report.passed is True
    assert report.n_queries > 0 and report.n_qrels >= report.n_queries
