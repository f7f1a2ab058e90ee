"""Hybrid search on the ``chunks`` table: vector (cosine) and full-text (BM25)
candidates, each prefiltered by freshness class and date in force, fused with
reciprocal rank fusion (RRF).

RRF rather than a weighted sum of scores: cosine distances and BM25 scores live on
unrelated scales that drift as the corpus changes, while ranks do not. A chunk's
fused score is ``sum over the lists it appears in of 1 / (rrf_k + rank)``, with
ranks from 1 (Cormack, Clarke & Buettcher, SIGIR 2009, where k=60).

The two retrievers are independent queries, so the full-text one runs on a worker
thread while the caller's thread embeds the question and runs the vector one: a
search costs the slower side, not the sum (LanceDB and the embedder release the
GIL while they work). The results are those of running them one after the other.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
from lancedb.query import MatchQuery
from lancedb.table import Table

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.search_indexes import DISTANCE, TEXT_COLUMN, VECTOR_COLUMN
from ragtune.tasks.index.validity import Amendment

log = logging.getLogger(__name__)

HIT_COLUMNS = [
    "chunk_id",
    "doc_id",
    "title",
    "source_path",
    "category",
    "section",
    "effective_date",
    "text",
]
# Validity columns: a live table written before they existed has none of them
# until its next refresh, so they are read only where present.
VALIDITY_HIT_COLUMNS = ["valid_until", "clause", "superseded_by", "amended_by"]
SNIPPET_CHARS = 240
_STOP_WORDS = frozenset(
    "a an and are as at be by do does for from has have how i in is it its my of "
    "on or our the their this to was we what when where which who why will with "
    "you your".split()
)
# Runs the full-text side of searches; shared, so a search starts no thread.
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class SearchHit:
    """One chunk in the fused ranking.

    ``vector_rank`` / ``text_rank`` are the chunk's 1-based ranks in the vector and
    full-text candidate lists (None: not among that side's candidates), kept so an
    operator can see which side found it.
    """

    chunk_id: str
    doc_id: str
    title: str
    source_path: str
    category: str
    section: str
    effective_date: date | None
    score: float
    vector_rank: int | None
    text_rank: int | None
    snippet: str
    text: str  # the whole chunk: what a prompt shows and citations check
    valid_until: date | None = None  # its last day in force (None: open)
    clause: str = ""
    superseded_by: str | None = None  # the document that replaced it
    amended_by: tuple[str, ...] = ()  # amendments in force that day that mark it

    def in_force_on(self, day: date) -> bool:
        """False when the chunk had stopped applying, or not started, on ``day``."""
        started = self.effective_date is None or self.effective_date <= day
        return started and (self.valid_until is None or day <= self.valid_until)


def hybrid_search(
    table: Table,
    embedder: Embedder,
    query: str,
    k: int = 5,
    classes: list[str] | None = None,
    in_force_on: date | None = None,
    candidates: int | None = None,
    *,
    known_classes: Collection[str] | None = None,
    cfg: IndexConfig | None = None,
    include_superseded: bool = False,
    vectors: dict[str, np.ndarray] | None = None,
) -> list[SearchHit]:
    """Search the given table version with both retrievers and fuse the ranks.

    Filters are applied before ranking (LanceDB prefilter), so a narrow filter
    still yields up to ``k`` hits instead of whatever survived a top-N cut.

    Args:
        table: The ``chunks`` table, at whichever version the caller checked out.
        embedder: The embedder the table's vectors were made with.
        query: The user's question or keywords.
        k: Hits to return.
        classes: Only chunks whose ``category`` is one of these.
        in_force_on: Only chunks in force that day: ``effective_date`` null or on or
            before it, and ``valid_until`` (the last day, inclusive) null or on or
            after it. None: every date (callers that answer users pass today).
        candidates: Hits each retriever contributes (default
            ``cfg.search_candidates``); must be at least ``k``.
        known_classes: When given, names in ``classes`` must be among these.
        cfg: Search settings (RRF constant, candidates, ANN re-scoring).
        include_superseded: With ``in_force_on``, also return text that had
            stopped applying by then (not text that had not started); such hits
            carry ``valid_until`` and ``superseded_by`` so callers can mark them.
        vectors: When given, filled with ``chunk_id -> stored vector`` of each
            returned hit, read by the candidate queries themselves: retrieval
            needs them for the similarity, and a third query would cost about as
            much as one retriever.

    Returns:
        Up to ``k`` hits, best first, one per chunk.
    """
    cfg = cfg or IndexConfig()
    candidates = cfg.search_candidates if candidates is None else candidates
    _check_request(query, k, candidates, classes, known_classes)
    schema = table.schema  # one read: on a checked-out version each costs a trip
    _check_dimension(schema, embedder)
    where = build_filter(classes, in_force_on, include_superseded=include_superseded)
    columns = _hit_columns(schema) + ([VECTOR_COLUMN] if vectors is not None else [])
    vector_rows, text_rows = both_candidates(
        table, embedder, query, where, candidates, cfg, columns
    )
    fused = fuse_ranks([vector_rows, text_rows], cfg.rrf_k)[:k]
    if vectors is not None:
        vectors.update((row["chunk_id"], row[VECTOR_COLUMN]) for row, _, _ in fused)
    return [
        _to_hit(row, score, ranks, query, in_force_on) for row, score, ranks in fused
    ]


def both_candidates(
    table: Table,
    embedder: Embedder,
    query: str,
    where: str | None,
    candidates: int,
    cfg: IndexConfig,
    columns: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The vector and full-text candidate lists, the full-text query running on a
    worker thread meanwhile; it is waited for even when the vector side fails, so
    no query outlives the search."""
    pool = _text_side()
    text = pool.submit(text_candidates, table, query, where, candidates, columns)
    try:
        vector_rows = vector_candidates(
            table, embedder, query, where, candidates, cfg, columns
        )
    finally:
        wait([text])
    return vector_rows, text.result()


def _text_side() -> ThreadPoolExecutor:
    """The pool, made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(thread_name_prefix="ragtune-fts")
        return _pool


def _forget_pool() -> None:
    """In a forked child: the parent's pool came along without its threads (a
    task sent to it would wait on workers that do not exist there), and its lock
    may have been held; start both afresh, as LanceDB does with its own loop."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def hit_columns(table: Table) -> list[str]:
    """The columns a hit reads that ``table`` has."""
    return _hit_columns(table.schema)


def _hit_columns(schema: pa.Schema) -> list[str]:
    names = set(schema.names)
    return HIT_COLUMNS + [c for c in VALIDITY_HIT_COLUMNS if c in names]


def doc_ranking(hits: list[SearchHit]) -> list[str]:
    """Unique document ids in the order of their best chunk, for retrieval metrics
    that judge documents (BEIR qrels name documents, not chunks)."""
    return list(dict.fromkeys(hit.doc_id for hit in hits))


def build_filter(
    classes: list[str] | None,
    in_force_on: date | None,
    *,
    include_superseded: bool = False,
) -> str | None:
    """The SQL prefilter for class and date in force (None: no filter).

    ``valid_until`` is the last day a text applies, so it is in force on that day.
    """
    parts = []
    if classes:
        quoted = ", ".join("'" + name.replace("'", "''") + "'" for name in classes)
        parts.append(f"category IN ({quoted})")
    if in_force_on is not None:
        day = f"DATE '{in_force_on.isoformat()}'"
        parts.append(f"(effective_date IS NULL OR effective_date <= {day})")
        if not include_superseded:
            parts.append(f"(valid_until IS NULL OR valid_until >= {day})")
    return " AND ".join(parts) or None


def fuse_ranks(
    ranked_lists: list[list[dict[str, Any]]], rrf_k: int
) -> list[tuple[dict[str, Any], float, tuple[int | None, ...]]]:
    """Reciprocal rank fusion, deduplicated by ``chunk_id``.

    A chunk listed twice on one side (duplicate rows) counts once, at its best rank.
    Ties are broken by the best single rank, then chunk id, so results are stable.

    Returns:
        ``(row, fused score, rank on each side or None)``, best first.
    """
    rows: dict[str, dict[str, Any]] = {}
    ranks: dict[str, list[int | None]] = {}
    for side, ranked in enumerate(ranked_lists):
        for rank, row in enumerate(ranked, start=1):
            key = row["chunk_id"]
            rows.setdefault(key, row)
            slot = ranks.setdefault(key, [None] * len(ranked_lists))
            if slot[side] is None:
                slot[side] = rank
    scored = [
        (rows[key], sum(1.0 / (rrf_k + r) for r in rs if r is not None), tuple(rs))
        for key, rs in ranks.items()
    ]
    scored.sort(
        key=lambda item: (
            -item[1],
            min(r for r in item[2] if r is not None),
            item[0]["chunk_id"],
        )
    )
    return scored


def make_snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the densest cluster of query
    terms, cut at word boundaries, with ``…`` where text was left out.

    Terms match at word starts, so "premium" also finds "premiums"; compound terms
    such as clause numbers ("14.3(b)", "NW-4471") are matched as written and weigh
    more. With no term in the text (a paraphrase found by the vector side) the
    snippet is the start of the chunk.
    """
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    positions = _term_positions(flat.lower(), query)
    start = _best_window(positions, width) if positions else 0
    return _cut(flat, start, width)


def _check_request(
    query: str,
    k: int,
    candidates: int,
    classes: list[str] | None,
    known_classes: Collection[str] | None,
) -> None:
    if not query or not query.strip():
        raise InputError("search query is empty")
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    if candidates < k:
        raise InputError(f"candidates ({candidates}) must be at least k ({k})")
    if isinstance(classes, str):
        raise InputError(f"classes must be a list of names, not the string {classes!r}")
    if classes is not None and not classes:
        raise InputError("classes is an empty list: pass None to search every class")
    if classes and known_classes is not None:
        unknown = sorted(set(classes) - set(known_classes))
        if unknown:
            raise InputError(
                f"unknown class(es) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known_classes))}"
            )


def _check_dimension(schema: pa.Schema, embedder: Embedder) -> None:
    dim = schema.field(VECTOR_COLUMN).type.list_size
    if dim != embedder.dim:
        raise ConfigError(
            f"index vectors have dimension {dim} but embedder {embedder.name} gives "
            f"{embedder.dim}: rebuild the index with this embedder or switch back"
        )


def vector_candidates(
    table: Table,
    embedder: Embedder,
    query: str,
    where: str | None,
    candidates: int,
    cfg: IndexConfig,
    columns: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The ``candidates`` nearest chunks by cosine distance, ``where`` applied first."""
    vector = embedder.embed([query])[0]
    search = (
        table.search(vector, query_type="vector", vector_column_name=VECTOR_COLUMN)
        .distance_type(DISTANCE)
        .refine_factor(cfg.vector_refine_factor)
    )
    if where:
        search = search.where(where, prefilter=True)
    # Naming the score column keeps Lance from projecting it implicitly (deprecated).
    selected = [*(columns or HIT_COLUMNS), "_distance"]
    return _rows(search.select(selected).limit(candidates).to_arrow())


def text_candidates(
    table: Table,
    query: str,
    where: str | None,
    candidates: int,
    columns: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The ``candidates`` best chunks by BM25, ``where`` applied first."""
    # A MatchQuery (terms OR-ed, BM25) rather than the raw string: the string form
    # parses quotes as phrase queries, which fail on an index built without
    # positions, so a user's stray quote would break search.
    search = table.search(MatchQuery(query, TEXT_COLUMN), query_type="fts")
    if where:
        search = search.where(where, prefilter=True)
    selected = [*(columns or HIT_COLUMNS), "_score"]
    return _rows(search.select(selected).limit(candidates).to_arrow())


def _rows(found: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as dicts; a selected ``vector`` column becomes one float32 array
    per row (as Python lists, 50 rows of 384 floats cost milliseconds)."""
    if VECTOR_COLUMN not in found.column_names:
        return found.to_pylist()
    dim = found.schema.field(VECTOR_COLUMN).type.list_size
    flat = found[VECTOR_COLUMN].combine_chunks().flatten()
    matrix = np.asarray(flat.to_numpy(zero_copy_only=False), np.float32)
    rows = found.drop_columns([VECTOR_COLUMN]).to_pylist()
    for row, vector in zip(rows, matrix.reshape(-1, dim), strict=True):
        row[VECTOR_COLUMN] = vector
    return rows


def _to_hit(
    row: dict[str, Any],
    score: float,
    ranks: tuple[int | None, ...],
    query: str,
    day: date | None,
) -> SearchHit:
    return SearchHit(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        title=row["title"],
        source_path=row["source_path"],
        category=row["category"],
        section=row["section"],
        effective_date=row["effective_date"],
        score=score,
        vector_rank=ranks[0],
        text_rank=ranks[1],
        snippet=make_snippet(row["text"], query),
        text=row["text"],
        valid_until=row.get("valid_until"),
        clause=row.get("clause") or "",
        superseded_by=row.get("superseded_by"),
        amended_by=amendments_on(row.get("amended_by") or "", day),
    )


def amendments_on(marks: str, day: date | None) -> tuple[str, ...]:
    """The ``doc@YYYY-MM-DD[#clause]`` marks of amendments in force on ``day``
    (every mark when ``day`` is None): as of an earlier day, the text had not been
    amended yet."""
    found = []
    for mark in filter(None, marks.split(",")):
        when = Amendment.parse(mark).effective
        if day is None or when is None or when <= day:
            found.append(mark)
    return tuple(found)


def _term_positions(lowered: str, query: str) -> list[tuple[int, str, float]]:
    """Where each query term occurs: ``(offset, term, weight)``."""
    words = {w for w in re.findall(r"\w+", query.lower()) if w not in _STOP_WORDS}
    compounds = {
        c.strip(".,;:") for c in re.findall(r"\S*\w[^\s\w]\w\S*", query.lower())
    }
    found = []
    for term in words | compounds:
        weight = 3.0 if term in compounds else 1.0
        pattern = re.escape(term) if term in compounds else rf"\b{re.escape(term)}"
        found += [(m.start(), term, weight) for m in re.finditer(pattern, lowered)]
    return sorted(found)


def _best_window(positions: list[tuple[int, str, float]], width: int) -> int:
    """Start offset of the window holding the most weight of distinct terms."""
    best_start, best_score = 0, -1.0
    for anchor, _, _ in positions:
        start = max(0, anchor - width // 4)
        seen: dict[str, float] = {}
        for pos, term, weight in positions:
            if start <= pos < start + width - len(term):
                seen[term] = weight
        score = sum(seen.values())
        if score > best_score:
            best_start, best_score = start, score
    return best_start


def _cut(flat: str, start: int, width: int) -> str:
    """``flat[start:start+width]`` widened or narrowed to whole words."""
    start = min(start, max(0, len(flat) - width))
    if start > 0 and flat[start - 1] != " ":
        start = flat.find(" ", start) + 1 or start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end + 1)
        end = space if space > start else end
    piece = flat[start:end].strip()
    return ("…" if start > 0 else "") + piece + ("…" if end < len(flat) else "")
