"""Expectation suites, defined in code and stored by GX in ``gx/expectations/``.

Code is the source of truth: each run writes a suite only when its stored JSON
differs from what is built here, and a test checks the committed JSON against
this module, so the two cannot drift apart. Thresholds that change (today's
date, allowed categories, known ids, length limits) are GX suite parameters
(``{"$PARAMETER": ...}``) filled in at run time, so the stored suites stay
the same from one run to the next.

Each check pairs an expectation with a reason template that turns one failing
row into a sentence an operator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import great_expectations.expectations as gxe

from ragtune.tasks.validation.checks import (
    Check,
    Reason,
    Row,
    SuiteSpec,
    fixed,
    in_set,
    matches,
    not_null,
    param,
    unique,
    valued,
)

DOCUMENTS_SUITE = "ragtune-documents"
EVAL_QUERIES_SUITE = "ragtune-eval-queries"
EVAL_QRELS_SUITE = "ragtune-eval-qrels"
EVAL_CORPUS_SUITE = "ragtune-eval-corpus"
# U+FFFD marks bytes a decoder gave up on; C0 controls (bar tab/newline/CR) and
# DEL come from binary junk or bad copy-paste. A few in a long document are a
# blemish (warned about); a share above validation.max_debris_share is damage.
BLANK_PATTERN = r"^\s*$"
NOT_BLANK_PATTERN = r"\S"


def _present(column: str) -> Check:
    return not_null(f"{column}-present", column, fixed(f"{column} is missing"))


def _iso_date(column: str) -> Check:
    reason = valued(f"{column} {{value!r}} is not a YYYY-MM-DD date", column)
    kwargs = {"column": column, "strftime_format": "%Y-%m-%d"}
    kind = gxe.ExpectColumnValuesToMatchStrftimeFormat
    return Check(f"{column}-format", kind, kwargs, reason)


def debris_share(text: str) -> float:
    """Share of ``text``'s characters that are encoding debris (0 for no text)."""
    return sum(1 for ch in text if _is_debris(ch)) / len(text) if text else 0.0


def debris_found(text: str) -> str:
    """What debris ``text`` holds, in words (empty when none)."""
    replacement = text.count("\ufffd")
    controls = sorted({f"U+{ord(ch):04X}" for ch in text if _is_control(ch)})
    parts = [f"{replacement} U+FFFD replacement character(s)"] if replacement else []
    parts += [f"control character(s) {', '.join(controls)}"] if controls else []
    return "; ".join(parts)


def _debris_reason(row: Row, ctx: Mapping[str, Any]) -> str:
    found = ctx.get("debris", {}).get(row.get("source_path")) or "unprintable text"
    return (
        f"text contains encoding debris: {found} ({row.get('debris_share', 0):.2%} "
        f"of the text, over validation.max_debris_share {ctx['max_debris_share']:.2%})"
    )


def _is_control(ch: str) -> bool:
    return (ord(ch) < 0x20 and ch not in "\t\n\r") or ord(ch) == 0x7F


def _is_debris(ch: str) -> bool:
    return ch == "\ufffd" or _is_control(ch)


def _length_reason(row: Row, ctx: Mapping[str, Any]) -> str:
    n = len(str(row.get("text") or ""))
    return (
        f"extracted text has {n} characters; allowed {ctx['min_chars']} to "
        f"{ctx['max_chars']} (validation.min_chars / validation.max_chars)"
    )


def _category_reason(row: Row, ctx: Mapping[str, Any]) -> str:
    allowed = ", ".join(sorted(ctx["allowed_categories"])) or "(none configured)"
    return f"category {row.get('category')!r} is not one of: {allowed}"


def _day(value: Any) -> str:
    return str(value)[:10]


def _review_reason(row: Row, ctx: Mapping[str, Any]) -> str:
    when = _day(row.get("last_reviewed_at"))
    return f"last_reviewed {when} is in the future (today is {ctx['today']})"


def _effective_reason(row: Row, ctx: Mapping[str, Any]) -> str:
    when = _day(row.get("effective_date_at"))
    return (
        f"effective_date {when} is more than {ctx['days_ahead']} days after today "
        f"({ctx['today']}); rules are not announced that far ahead"
    )


DOCUMENT_CHECKS = (
    _present("doc_id"),
    _present("title"),
    _present("source_path"),
    _present("text"),
    Check(
        "text-not-blank",
        gxe.ExpectColumnValuesToNotMatchRegex,
        {"column": "text", "regex": BLANK_PATTERN},
        fixed("extracted text is empty"),
    ),
    Check(
        "text-length",
        gxe.ExpectColumnValueLengthsToBeBetween,
        {
            "column": "text",
            "min_value": param("min_chars"),
            "max_value": param("max_chars"),
        },
        _length_reason,
    ),
    Check(
        "text-encoding-debris",
        gxe.ExpectColumnValuesToBeBetween,
        {"column": "debris_share", "max_value": param("max_debris_share")},
        _debris_reason,
    ),
    Check(
        "category-allowed",
        gxe.ExpectColumnValuesToBeInSet,
        {"column": "category", "value_set": param("allowed_categories")},
        _category_reason,
    ),
    _iso_date("effective_date"),
    _iso_date("last_reviewed"),
    _iso_date("valid_until"),
    Check(
        "last_reviewed-not-future",
        gxe.ExpectColumnValuesToBeBetween,
        {"column": "last_reviewed_at", "max_value": param("latest_review")},
        _review_reason,
    ),
    Check(
        "effective_date-horizon",
        gxe.ExpectColumnValuesToBeBetween,
        {"column": "effective_date_at", "max_value": param("latest_effective_date")},
        _effective_reason,
    ),
    Check(
        "doc_id-unique",
        gxe.ExpectColumnValuesToBeUnique,
        {"column": "doc_id"},
        valued("duplicate doc_id {value!r}", "doc_id"),
    ),
)

DOCUMENTS = SuiteSpec(DOCUMENTS_SUITE, "documents", ("source_path",), DOCUMENT_CHECKS)


def _line(label: str, text: str, column: str | None = None) -> Reason:
    def reason(row: Row, ctx: Mapping[str, Any]) -> str:
        value = row.get(column) if column else None
        return f"{label} line {row.get('line')}: " + text.format(value=value)

    return reason


QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "qrels/test.tsv"
CORPUS_FILE = "corpus.jsonl"


def _query(text: str, column: str | None = None) -> Reason:
    return _line(QUERIES_FILE, text, column)


def _qrel(text: str, column: str) -> Reason:
    return _line(QRELS_FILE, text, column)


def _corpus(text: str, column: str | None = None) -> Reason:
    return _line(CORPUS_FILE, text, column)


EVAL_QUERIES = SuiteSpec(
    EVAL_QUERIES_SUITE,
    QUERIES_FILE,
    ("line",),
    (
        not_null("query-id-present", "_id", _query("query has no _id")),
        matches(
            "query-id-not-blank", "_id", NOT_BLANK_PATTERN, _query("query _id is blank")
        ),
        unique(
            "query-id-unique",
            "_id",
            _query("query id {value!r} is used by more than one query", "_id"),
        ),
        not_null("query-text-present", "text", _query("query has no text")),
        matches(
            "query-text-not-blank",
            "text",
            NOT_BLANK_PATTERN,
            _query("query text is blank"),
        ),
        matches(
            "query-as-of-date",
            "as_of",
            r"^\d{4}-\d{2}-\d{2}$",
            _query("as_of {value!r} is not a date (YYYY-MM-DD)", "as_of"),
        ),
        unique(
            "query-text-unique",
            "asked",
            _query("query text {value!r} appears more than once", "asked"),
        ),
        in_set(
            "query-has-relevant-doc",
            "_id",
            "judged_query_ids",
            _query(
                f"query {{value!r}} has no relevant document in {QRELS_FILE}", "_id"
            ),
        ),
    ),
)

EVAL_QRELS = SuiteSpec(
    EVAL_QRELS_SUITE,
    QRELS_FILE,
    ("line",),
    (
        in_set(
            "qrel-query-known",
            "query-id",
            "query_ids",
            _qrel(f"query-id {{value!r}} is not in {QUERIES_FILE}", "query-id"),
        ),
        in_set(
            "qrel-doc-known",
            "corpus-id",
            "doc_ids",
            _qrel("corpus-id {value!r} is not a known document id", "corpus-id"),
        ),
        matches(
            "qrel-score-integer",
            "score",
            r"^-?\d+$",
            _qrel("score {value!r} is not an integer", "score"),
        ),
    ),
)

EVAL_CORPUS = SuiteSpec(
    EVAL_CORPUS_SUITE,
    CORPUS_FILE,
    ("line",),
    (
        not_null("corpus-id-present", "_id", _corpus("document has no _id")),
        unique(
            "corpus-id-unique",
            "_id",
            _corpus("document id {value!r} is used more than once", "_id"),
        ),
        matches(
            "corpus-text-not-blank",
            "text",
            NOT_BLANK_PATTERN,
            _corpus("document text is blank"),
        ),
    ),
)

ALL_SUITES = (DOCUMENTS, EVAL_QUERIES, EVAL_QRELS, EVAL_CORPUS)
