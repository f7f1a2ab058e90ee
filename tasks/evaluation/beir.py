"""Evaluation sets in the BEIR layout, so public BEIR sets drop in unchanged.

A set is a folder holding ``queries.jsonl`` (one ``{"_id", "text", "metadata"?,
"as_of"?, ...}`` object per line; ``as_of`` dates a question, so it is graded
against what was in force that day; extra top-level fields such as ``answer`` or
``class`` are kept), ``qrels/<split>.tsv`` (``query-id<TAB>corpus-id<TAB>score``
with a header line; score is an integer relevance grade, 0 meaning judged not
relevant) and, optionally, ``corpus.jsonl``
(``{"_id", "title"?, "text", "metadata"?}``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ragtune.errors import InputError

log = logging.getLogger(__name__)
_OWN_FIELDS = ("_id", "text", "metadata", "as_of")


@dataclass(frozen=True)
class EvalQuery:
    """One query; ``extra`` holds the other top-level fields (``answer``, ``class``)."""

    qid: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # The day the question is asked about: graded against what was in force then
    # (None: every version the judgements name counts).
    as_of: date | None = None


@dataclass(frozen=True)
class CorpusDoc:
    """One corpus document of a BEIR set (absent when the set has no corpus)."""

    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalSet:
    """Queries, graded judgements ``qrels[qid][doc_id] = grade`` and the corpus."""

    name: str
    split: str
    queries: tuple[EvalQuery, ...]
    qrels: dict[str, dict[str, int]]
    corpus: dict[str, CorpusDoc] | None = None

    def judged(self) -> tuple[EvalQuery, ...]:
        """The queries that have at least one relevant (grade > 0) document."""
        return tuple(
            q
            for q in self.queries
            if any(g > 0 for g in self.qrels.get(q.qid, {}).values())
        )


def load_beir(path: Path, split: str = "test") -> EvalSet:
    """Read a BEIR-layout folder.

    Args:
        path: The set's folder.
        split: Which ``qrels/<split>.tsv`` to read.

    Returns:
        The evaluation set. Qrels for query ids absent from ``queries.jsonl`` are
        dropped with a warning (they cannot be run).

    Raises:
        InputError: A file is missing, or a line is malformed (the message names
            the file and line).
    """
    path = Path(path)
    queries = _read_queries(_require(path / "queries.jsonl"))
    qrels = _read_qrels(_require(path / "qrels" / f"{split}.tsv"))
    known = {q.qid for q in queries}
    orphans = sorted(set(qrels) - known)
    if orphans:
        log.warning(
            "%s: %d qrels query ids have no query (e.g. %s); ignored",
            path,
            len(orphans),
            orphans[0],
        )
        qrels = {qid: docs for qid, docs in qrels.items() if qid in known}
    corpus_path = path / "corpus.jsonl"
    corpus = _read_corpus(corpus_path) if corpus_path.is_file() else None
    log.info(
        "loaded %s/%s: %d queries, %d judged",
        path.name,
        split,
        len(queries),
        len(qrels),
    )
    return EvalSet(path.name, split, queries, qrels, corpus)


def eval_set_digest(path: Path, split: str = "test") -> str:
    """sha256 of what a set's figures depend on (its queries and judgements), so
    figures measured on it can be carried forward while neither it nor the index
    changed; "" when the set is incomplete."""
    digest = hashlib.sha256()
    for file in (path / "queries.jsonl", path / "qrels" / f"{split}.tsv"):
        if not file.is_file():
            return ""
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _require(file: Path) -> Path:
    if not file.is_file():
        raise InputError(f"{file}: file not found (BEIR layout expected)")
    return file


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` for each non-blank line of a UTF-8 file."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}: not UTF-8 text ({exc.reason})") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _jsonl(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line."""
    for number, line in _lines(file):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{file} line {number}: not valid JSON ({exc.msg})"
            ) from None
        if not isinstance(obj, dict):
            raise InputError(f"{file} line {number}: expected a JSON object")
        yield number, obj


def _field(obj: dict[str, Any], key: str, file: Path, number: int) -> str:
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # BEIR sets such as SciFact use numeric ids
    if not isinstance(value, str) or (key == "_id" and not value.strip()):
        raise InputError(f"{file} line {number}: missing or non-string '{key}'")
    return value


def _metadata(obj: dict[str, Any], file: Path, number: int) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InputError(f"{file} line {number}: 'metadata' must be an object")
    return meta


def _read_queries(file: Path) -> tuple[EvalQuery, ...]:
    queries: dict[str, EvalQuery] = {}
    for number, obj in _jsonl(file):
        qid = _field(obj, "_id", file, number)
        if qid in queries:
            raise InputError(f"{file} line {number}: duplicate query id {qid!r}")
        extra = {
            k: v
            for k, v in obj.items()
            if k not in ("_id", "text", "metadata", "as_of")
        }
        queries[qid] = EvalQuery(
            qid=qid,
            text=_field(obj, "text", file, number),
            metadata=_metadata(obj, file, number),
            extra=extra,
            as_of=_as_of(obj.get("as_of"), file, number),
        )
    if not queries:
        raise InputError(f"{file}: no queries")
    return tuple(queries.values())


def _as_of(value: Any, file: Path, number: int) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            f"{file} line {number}: as_of {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def _read_corpus(file: Path) -> dict[str, CorpusDoc]:
    corpus: dict[str, CorpusDoc] = {}
    for number, obj in _jsonl(file):
        doc_id = _field(obj, "_id", file, number)
        corpus[doc_id] = CorpusDoc(
            doc_id=doc_id,
            title=str(obj.get("title") or ""),
            text=_field(obj, "text", file, number),
            metadata=_metadata(obj, file, number),
        )
    return corpus


def _read_qrels(file: Path) -> dict[str, dict[str, int]]:
    """Parse qrels; the first line is the header (``query-id corpus-id score``) when
    its score column is not an integer, so header-less files also load."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _lines(file):
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) != 3:
            raise InputError(
                f"{file} line {number}: expected 3 tab-separated columns "
                f"(query-id, corpus-id, score), got {len(cols)}"
            )
        qid, doc_id, grade = cols
        if not _is_int(grade):
            if number == 1:
                continue  # header
            raise InputError(f"{file} line {number}: score {grade!r} is not an integer")
        if not qid or not doc_id:
            raise InputError(f"{file} line {number}: empty query-id or corpus-id")
        qrels.setdefault(qid, {})[doc_id] = int(grade)
    return qrels


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
