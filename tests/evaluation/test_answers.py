"""Answer metrics on hand-made cases; expected values are worked out in comments."""

from __future__ import annotations

import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.answers import (
    FormatSpec,
    citation_correct,
    cited_ids,
    contains_answer,
    exact_match,
    format_compliant,
    normalize_answer,
    reference_answers,
    score_answer,
    token_f1,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  EUR 10,000!", "eur 10000"),  # article, punctuation, spacing
        ("An APR of 7.00%", "apr of 700"),
        ("a", ""),
    ],
)
def test_squad_normalisation(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_uses_the_best_reference():
    assert exact_match("eur 10,000.", ["EUR 10,000"]) == 1.0
    assert exact_match("EUR 10,000 per year", ["EUR 10,000"]) == 0.0
    assert exact_match("8 weeks", ["two months", "8 weeks"]) == 1.0


def test_token_f1_by_hand():
    # pred {every, 12, months, at, most} vs ref {every, 12, months}: 3 shared,
    # precision 3/5, recall 3/3, F1 = 2 * 0.6 * 1 / 1.6 = 0.75
    assert token_f1("every 12 months at most", ["every 12 months"]) == pytest.approx(
        0.75
    )
    assert token_f1("nothing shared", ["every 12 months"]) == 0.0
    # Repeated tokens count once per occurrence on both sides (multiset overlap):
    # pred {12, 12} vs ref {12}: 1 shared, P 1/2, R 1, F1 2/3.
    assert token_f1("12 12", ["12"]) == pytest.approx(2 / 3)
    assert token_f1("", [""]) == 1.0 and token_f1("x", [""]) == 0.0


def test_format_regex_must_match_the_whole_answer():
    spec = FormatSpec(regex=r"EUR [\d,]+ \[[\w-]+\]")
    assert format_compliant("  EUR 7,500 [aml-policy]\n", spec)
    assert not format_compliant("About EUR 7,500 [aml-policy]", spec)


def test_format_json_schema_accepts_fenced_json():
    spec = FormatSpec(
        json_schema={
            "type": "object",
            "required": ["answer", "sources"],
            "properties": {"sources": {"type": "array", "minItems": 1}},
        }
    )
    good = '```json\n{"answer": "EUR 7,500", "sources": ["aml-policy"]}\n```'
    assert format_compliant(good, spec)
    assert not format_compliant('{"answer": "EUR 7,500", "sources": []}', spec)
    assert not format_compliant("EUR 7,500", spec)


@pytest.mark.parametrize(
    "raw",
    [{"regex": "("}, {"json_schema": {"type": "nonsense"}}, {"both": 1}, "regex"],
)
def test_bad_format_specs_are_input_errors(raw):
    with pytest.raises(InputError):
        FormatSpec.parse(raw)


SOURCES = {
    "aml-amendment": "From 1 July 2026 the threshold is EUR 7,500 for transfers.",
    "aml-policy": "The threshold was EUR 10,000 before the amendment.",
}


def test_citations_are_extracted_in_order_without_repeats():
    answer = "EUR 7,500 [aml-amendment], see also [aml-policy] and [aml-amendment]."
    assert cited_ids(answer) == ["aml-amendment", "aml-policy"]
    assert cited_ids("see [regulatory/solvency.md] and [not an id]") == [
        "regulatory/solvency.md"
    ]


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ("EUR 7,500 [aml-amendment]", True),
        ("EUR 7,500", False),  # no citation at all
        ("EUR 7,500 [aml-policy]", False),  # cited source does not hold the answer
        ("EUR 7,500 [aml-amendment][aml-policy]", False),  # one of two is wrong
        ("EUR 7,500 [made-up-doc]", False),  # not a retrieved source
    ],
)
def test_citation_correctness(answer, ok):
    assert citation_correct(answer, SOURCES, ["EUR 7,500"]) is ok


def test_answer_containment_is_on_whole_words():
    # "EUR 7,500" normalises to "eur 7500", which must not match inside "eur 75000".
    assert not contains_answer("a fee of EUR 75,000 applies", ["EUR 7,500"])
    assert contains_answer("a fee of EUR 7,500 applies", ["EUR 7,500"])


def test_score_answer_marks_what_does_not_apply():
    # EM and F1 judge the content: the [doc_id] marker is removed first.
    with_rag = score_answer("q1", "EUR 7,500 [aml-amendment]", ["EUR 7,500"], SOURCES)
    assert (with_rag.exact_match, with_rag.token_f1) == (1.0, 1.0)
    assert (with_rag.citation_ok, with_rag.format_ok) == (1.0, None)  # no format
    assert with_rag.cited == ("aml-amendment",)
    no_rag = score_answer(
        "q1", "EUR 7,500", ["EUR 7,500"], None, FormatSpec(regex=".+")
    )
    assert (no_rag.exact_match, no_rag.citation_ok, no_rag.format_ok) == (
        1.0,
        None,
        1.0,
    )
    no_ref = score_answer("q2", "anything", [], SOURCES)
    assert (no_ref.exact_match, no_ref.token_f1, no_ref.citation_ok) == (None,) * 3


def test_reference_answers_from_metadata_or_top_level():
    assert reference_answers({"answer": "8 weeks"}, {}) == ["8 weeks"]
    assert reference_answers({}, {"answer": ["8 weeks", "56 days"]}) == [
        "8 weeks",
        "56 days",
    ]
    assert reference_answers({"answer": " "}, {}) == []
    assert reference_answers({}, {}) == []
