"""Checks on a BEIR-layout evaluation set before any metric is computed from it.

Layout: ``queries.jsonl`` (``_id``, ``text``, optional ``metadata``),
``qrels/test.tsv`` (header ``query-id<TAB>corpus-id<TAB>score``) and optionally
``corpus.jsonl``. A qrel pointing at an unknown document silently lowers
recall, and a query with no relevant document can never be answered, so both
are reported before an eval gate trusts the numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ragtune.errors import InputError
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.documents import resolve_gx_root
from ragtune.tasks.validation.gx_runner import (
    CheckOutcome,
    build_data_docs,
    open_context,
    run_suite,
)
from ragtune.tasks.validation.models import EvalSetReport
from ragtune.tasks.validation.suites import (
    CORPUS_FILE,
    EVAL_CORPUS,
    EVAL_QRELS,
    EVAL_QUERIES,
    QRELS_FILE,
    QUERIES_FILE,
)

log = logging.getLogger(__name__)

QRELS_HEADER = ("query-id", "corpus-id", "score")


def read_jsonl(path: Path, label: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows of a JSON-lines file with their line numbers, plus unreadable lines.

    Blank lines are skipped; a line that is not a JSON object is a problem
    (reported, not fatal) so one typo does not hide every other finding.
    """
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{label} line {number}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            problems.append(f"{label} line {number}: expected a JSON object")
            continue
        text, as_of = _as_str(record.get("text")), _as_str(record.get("as_of"))
        # a question may repeat when asked as of another day (before and after
        # an amendment): it is the text and the day together that must be unique
        asked = f"{text} (as of {as_of})" if text is not None and as_of else text
        rows.append(
            {"line": number, "_id": _as_str(record.get("_id")), "text": text,
             "as_of": as_of, "asked": asked}
        )  # fmt: skip
    columns = ["line", "_id", "text", "as_of", "asked"]
    return pd.DataFrame(rows, columns=columns), problems


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def read_qrels(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """``qrels/test.tsv`` rows (all values as strings) and malformed lines.

    Raises:
        InputError: the header is not ``query-id, corpus-id, score``; without
            it the columns cannot be trusted at all.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    header = tuple(lines[0].split("\t")) if lines else ()
    if header != QRELS_HEADER:
        raise InputError(
            f"{path}: header must be {chr(9).join(QRELS_HEADER)!r} "
            f"(tab-separated), got {lines[0] if lines else '(empty file)'!r}"
        )
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(QRELS_HEADER):
            problems.append(
                f"{QRELS_FILE} line {number}: expected 3 tab-separated fields, "
                f"got {len(fields)}"
            )
            continue
        rows.append({"line": number, **dict(zip(QRELS_HEADER, fields, strict=True))})
    return pd.DataFrame(rows, columns=["line", *QRELS_HEADER]), problems


def _required(eval_path: Path, name: str) -> Path:
    path = eval_path / name
    if not path.is_file():
        raise InputError(f"eval set {eval_path}: {name} is missing (BEIR layout)")
    return path


def _judged(qrels: pd.DataFrame) -> list[str]:
    scores = pd.to_numeric(qrels["score"], errors="coerce")
    return sorted(set(qrels.loc[scores > 0, "query-id"]))


def validate_eval_set(
    eval_path: Path,
    known_doc_ids: Iterable[str],
    *,
    cfg: ValidationConfig | None = None,
    project_root: Path | None = None,
) -> EvalSetReport:
    """Check queries, qrels and (if present) the corpus of a BEIR eval set.

    Args:
        eval_path: the eval-set folder.
        known_doc_ids: ids qrels may point at (the knowledge base's doc ids);
            ids from ``corpus.jsonl`` are accepted as well.
        cfg: GX settings; only used with ``project_root``.
        project_root: when given, results go to the file context there (and
            Data Docs if enabled); otherwise an in-memory context is used and
            nothing is written.

    Raises:
        InputError: the folder, ``queries.jsonl`` or ``qrels/test.tsv`` is
            missing, or the qrels header is wrong.
    """
    eval_path = Path(eval_path)
    if not eval_path.is_dir():
        raise InputError(f"eval set {eval_path} does not exist (check data.eval_path)")
    queries, problems = read_jsonl(_required(eval_path, QUERIES_FILE), QUERIES_FILE)
    qrels, qrel_problems = read_qrels(_required(eval_path, QRELS_FILE))
    problems += qrel_problems
    corpus = None
    doc_ids = set(known_doc_ids)
    if (eval_path / CORPUS_FILE).is_file():
        corpus, corpus_problems = read_jsonl(eval_path / CORPUS_FILE, CORPUS_FILE)
        problems += corpus_problems
        doc_ids |= set(corpus["_id"].dropna())
    cfg = cfg or ValidationConfig()
    gx_root = resolve_gx_root(cfg, project_root) if project_root is not None else None
    context = open_context(gx_root)
    params = {
        "judged_query_ids": _judged(qrels),
        "query_ids": sorted(set(queries["_id"].dropna())),
        "doc_ids": sorted(doc_ids),
    }
    outcomes = run_suite(context, EVAL_QUERIES, queries, params)
    outcomes += run_suite(context, EVAL_QRELS, qrels, params)
    if corpus is not None:
        outcomes += run_suite(context, EVAL_CORPUS, corpus, params)
    docs_path = build_data_docs(context) if gx_root and cfg.build_data_docs else None
    return _report(eval_path, queries, qrels, corpus, outcomes, problems, docs_path)


def _report(
    eval_path: Path,
    queries: pd.DataFrame,
    qrels: pd.DataFrame,
    corpus: pd.DataFrame | None,
    outcomes: tuple[CheckOutcome, ...],
    problems: list[str],
    docs_path: str | None,
) -> EvalSetReport:
    problems = list(problems)
    for outcome in outcomes:
        problems += [outcome.check.reason(row, {}) for row in outcome.rows]
        if outcome.summary.error:
            error = outcome.summary.error
            problems.append(f"check {outcome.check.name} could not run: {error}")
    passed = not problems and all(o.summary.success for o in outcomes)
    log.info("eval set %s: %d problem(s)", eval_path, len(problems))
    return EvalSetReport(
        eval_path=str(eval_path),
        n_queries=len(queries),
        n_qrels=len(qrels),
        n_corpus=None if corpus is None else len(corpus),
        expectations=tuple(o.summary for o in outcomes),
        problems=tuple(problems),
        passed=passed,
        data_docs_path=docs_path,
    )
