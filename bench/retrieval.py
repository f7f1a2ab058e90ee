"""Retrieval latency (issue 17): vector-only, full-text-only and hybrid search, with
and without a class filter, before and after the speed-ups, side by side in one
process, on the sample index and on a synthetic 100,000-chunk index.

Every case searches what serving searches: the text in force today
(``in_force_on``), ``k`` = 5 from ``search_candidates`` per side. The two paths:

* ``before``: the search as it was: the vector query, then the full-text query,
  one after the other, on an index without the filter-column indexes (dropped from
  a copy), and, for ``retrieve``, a third query for the hits' vectors.
* ``after``: ``hybrid_search`` / ``retrieve`` as they are now (full-text side on a
  worker thread while the vector side runs, hit vectors read by the candidate
  queries, scalar indexes on ``category``, ``effective_date``, ``valid_until``).

Each query runs both paths back to back, their order alternating, and their
results must be identical (``mismatches`` counts any difference). Search rows use
query vectors computed beforehand, so they time the index alone;
``retrieve+embed`` embeds each question as serving does (MiniLM on the sample,
the hash embedder on the synthetic index), where the full-text query now overlaps
the embedding.

    python -m bench.retrieval --json bench/results/retrieval-cpu.json
    python -m bench.retrieval --synthetic 0            # the sample index only
    python -m bench.retrieval --sample-index .ragtune/index   # copy an existing one
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.table import Table

from bench.stamp import cpu_stamp
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.embedding.hashed import HashEmbedder
from ragtune.tasks.index import search
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.maintenance import FILTER_INDEXES, maintain
from ragtune.tasks.index.retrieval import RetrievedChunk, retrieve
from ragtune.tasks.index.schema import chunk_schema

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KB = ROOT / "data" / "kb"
SAMPLE_QUERIES = ROOT / "data" / "eval" / "queries.jsonl"
TABLE = "chunks"
K = 5
CASES = ("vector", "fts", "hybrid", "hybrid+class", "retrieve", "retrieve+embed")
CLASSES = ("regulatory", "product-pricing", "historical", "domain-concept")
_WORD = re.compile(r"[A-Za-z]{3,}")


class FixedVectors:
    """An embedder that answers from vectors computed beforehand, so search rows
    time the index and not the model (``embed`` of an unknown text fails)."""

    def __init__(self, inner: Embedder, texts: Sequence[str]) -> None:
        self.name, self.dim = inner.name, inner.dim
        self.vectors = dict(zip(texts, inner.embed(list(texts)), strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


# ---------------------------------------------------------------- the indexes


def build_sample(uri: Path, embedder: Embedder, kb: Path = SAMPLE_KB) -> Table:
    """The sample knowledge base indexed as ``knowledge_refresh`` indexes it (load,
    freshness classes, validity, chunks, refresh with its index upkeep), without
    its validation, evaluation and publish steps; the embedding cache in ``uri``
    makes a rerun with ``--workdir`` embed nothing."""
    from ragtune.app.settings import load_settings
    from ragtune.tasks.freshness import classify_documents
    from ragtune.tasks.index.corpus import chunk_corpus
    from ragtune.tasks.index.store import IndexStore
    from ragtune.tasks.index.validity import derive_validity
    from ragtune.tasks.ingest.loader import load_knowledge_base

    settings = load_settings(ROOT / "params.yaml", env={})
    documents = load_knowledge_base(kb, settings.data).documents
    today = date.today()
    classes = classify_documents(documents, settings.freshness, embedder, today)
    labels = {c.doc_id: c.label for c in classes.classifications}
    validity = derive_validity(documents)
    chunks, hashes = chunk_corpus(
        documents, labels, settings.chunking, "bench-sample", validity
    )
    store = IndexStore(str(uri), TABLE, embedder, cfg=settings.index)
    store.refresh(chunks, hashes, data_hash="bench-sample")
    return store.candidate()


def build_synthetic(uri: Path, rows: int, seed: int = 13) -> Table:
    """``rows`` chunks of seeded text over the sample's vocabulary (word
    frequencies Zipf-like, 40-80 words each), four classes, dates and superseded
    rows, hash-embedded, written in one commit and indexed by ``maintain`` as a
    refresh would (full-text, filter and, from 10,000 rows, IVF_PQ indexes)."""
    rng = random.Random(seed)
    words = vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(words))]
    texts, docs, categories, started, ended = [], [], [], [], []
    for i in range(rows):
        doc = i // 6
        texts.append(" ".join(rng.choices(words, weights, k=rng.randint(40, 80))))
        docs.append(f"synthetic-{doc:06d}")
        categories.append(CLASSES[doc % len(CLASSES)])
        day = None
        if rng.random() >= 0.3:
            day = date(2015, 1, 1) + timedelta(days=rng.randrange(4500))
        started.append(day)
        until = None
        if day is not None and rng.random() < 0.15:
            until = day + timedelta(days=rng.randrange(30, 1500))
        ended.append(until)
    embedder = HashEmbedder()
    vectors = np.concatenate(
        [embedder.embed(texts[i : i + 4096]) for i in range(0, rows, 4096)]
    )
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    schema = chunk_schema(embedder.dim)
    columns = {
        "chunk_id": [f"{d}#{h[:16]}" for d, h in zip(docs, hashes, strict=True)],
        "doc_id": docs,
        "ordinal": [i % 6 for i in range(rows)],
        "text": texts,
        "content_hash": hashes,
        "source_path": [f"synthetic/{d}.md" for d in docs],
        "title": docs,
        "section": [""] * rows,
        "category": categories,
        "effective_date": started,
        "valid_until": ended,
        "data_hash": ["synthetic"] * rows,
        "clause": [""] * rows,
        "superseded_by": [None] * rows,
        "amended_by": [""] * rows,
        "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1), pa.float32()), embedder.dim
        ),
    }
    data = pa.Table.from_pydict(columns, schema=schema)
    table = lancedb.connect(str(uri)).create_table(TABLE, data, schema=schema)
    for line in maintain(table, IndexConfig()):
        log.info("synthetic %d: %s", rows, line)
    return table


def vocabulary(kb: Path = SAMPLE_KB) -> list[str]:
    """The sample knowledge base's words (Markdown files), most frequent first."""
    counts: dict[str, int] = {}
    for path in sorted(kb.rglob("*.md")):
        for word in _WORD.findall(path.read_text(encoding="utf-8").lower()):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))


def synthetic_queries(table: Table, count: int, seed: int = 13) -> list[str]:
    """3-7 words picked from chunks of the table, so both retrievers find some."""
    rng = random.Random(seed)
    texts = table.to_lance().to_table(columns=["text"], limit=2000)["text"]
    picked = rng.sample(texts.to_pylist(), min(count, len(texts)))
    return [" ".join(rng.sample(t.split(), rng.randint(3, 7))) for t in picked]


def sample_queries(count: int, path: Path = SAMPLE_QUERIES) -> list[str]:
    """The first ``count`` questions of the sample eval set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()][:count]


def plain_copy(table: Table, uri: Path) -> Table:
    """The table as refreshes built it before: a copy without filter indexes."""
    source = Path(table.to_lance().uri).parent
    shutil.rmtree(uri, ignore_errors=True)
    shutil.copytree(source, uri)
    copy = lancedb.connect(str(uri)).open_table(TABLE)
    for index in copy.list_indices():
        if list(index.columns) in ([column] for column in FILTER_INDEXES):
            copy.drop_index(index.name)
    return copy


# ---------------------------------------------------------------- the two paths


def before_search(
    table: Table,
    embedder: Embedder,
    query: str,
    classes: list[str] | None,
    day: date,
    cfg: IndexConfig,
) -> list[search.SearchHit]:
    """``hybrid_search`` as it was: both retrievers in turn, each re-reading the
    schema, then fusion (the hit builder is the module's own)."""
    where = search.build_filter(classes, day)
    _ = table.schema.field(search.VECTOR_COLUMN).type.list_size  # the dim check
    columns = search.hit_columns(table)
    vector_rows = search.vector_candidates(
        table, embedder, query, where, cfg.search_candidates, cfg, columns
    )
    text_rows = search.text_candidates(
        table, query, where, cfg.search_candidates, columns
    )
    fused = search.fuse_ranks([vector_rows, text_rows], cfg.rrf_k)[:K]
    return [search._to_hit(row, s, ranks, query, day) for row, s, ranks in fused]  # noqa: SLF001


def before_retrieve(
    table: Table, embedder: Embedder, query: str, day: date, cfg: IndexConfig
) -> list[RetrievedChunk]:
    """``retrieve`` as it was: the search above, then a query for the hits'
    vectors (the removed ``chunk_vectors``) for their similarity."""
    vector = np.asarray(embedder.embed([query])[0], np.float32)
    hits = before_search(table, _Once(embedder, vector), query, None, day, cfg)
    ids = ", ".join("'" + h.chunk_id.replace("'", "''") + "'" for h in hits)
    rows = table.to_lance().to_table(
        columns=["chunk_id", search.VECTOR_COLUMN], filter=f"chunk_id IN ({ids})"
    )
    vectors = {
        cid: np.asarray(v, dtype=np.float32)
        for cid, v in zip(
            rows["chunk_id"].to_pylist(),
            rows[search.VECTOR_COLUMN].to_pylist(),
            strict=True,
        )
    }
    return [
        RetrievedChunk(
            chunk_id=h.chunk_id,
            doc_id=h.doc_id,
            title=h.title,
            source_path=h.source_path,
            section=h.section,
            text=h.text,
            score=h.score,
            similarity=float(np.dot(vector, vectors[h.chunk_id])),
            effective_date=h.effective_date,
            valid_until=h.valid_until,
            clause=h.clause,
            superseded_by=h.superseded_by,
            amended_by=h.amended_by,
        )
        for h in hits
    ]


class _Once:
    """Hands the search the question's vector embedded once by the caller."""

    def __init__(self, inner: Embedder, vector: np.ndarray) -> None:
        self.name, self.dim, self.vector = inner.name, inner.dim, vector

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.vector[None, :]


Call = Callable[[str], Any]


def cases(
    before: Table,
    after: Table,
    fixed: Embedder,
    live: Embedder,
    cfg: IndexConfig,
    day: date,
) -> dict[str, tuple[Call, Call]]:
    """Per case, the (before, after) call for one query."""
    where = search.build_filter(None, day)
    columns = search.hit_columns(after)
    n = cfg.search_candidates
    one_class = [CLASSES[0]]

    def vector(table: Table) -> Call:
        return lambda q: _ids(
            search.vector_candidates(table, fixed, q, where, n, cfg, columns)
        )

    def fts(table: Table) -> Call:
        return lambda q: _ids(search.text_candidates(table, q, where, n, columns))

    def new(classes: list[str] | None) -> Call:
        return lambda q: search.hybrid_search(
            after, fixed, q, K, classes=classes, in_force_on=day, cfg=cfg
        )

    def old(classes: list[str] | None) -> Call:
        return lambda q: before_search(before, fixed, q, classes, day, cfg)

    return {
        "vector": (vector(before), vector(after)),
        "fts": (fts(before), fts(after)),
        "hybrid": (old(None), new(None)),
        "hybrid+class": (old(one_class), new(one_class)),
        "retrieve": (
            lambda q: before_retrieve(before, fixed, q, day, cfg),
            lambda q: retrieve(after, fixed, q, K, cfg=cfg, in_force_on=day),
        ),
        "retrieve+embed": (
            lambda q: before_retrieve(before, live, q, day, cfg),
            lambda q: retrieve(after, live, q, K, cfg=cfg, in_force_on=day),
        ),
    }


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["chunk_id"] for row in rows]


# ---------------------------------------------------------------- measuring


def measure(
    calls: dict[str, tuple[Call, Call]],
    queries: Sequence[str],
    rounds: int,
    warm_up: int = 3,
) -> dict[str, Any]:
    """Every query ``rounds`` times through every case on both paths, back to
    back (order alternating), so a burst of load on the machine lands on all
    cases and both sides alike; per case, latency percentiles in ms and the count
    of queries whose results differ between the paths."""
    for old, new in calls.values():  # indexes into the cache, first-call costs
        for query in queries[:warm_up]:
            old(query), new(query)
    times = {name: {"before": [], "after": []} for name in calls}
    mismatches = dict.fromkeys(calls, 0)
    for turn in range(rounds):
        for i, query in enumerate(queries):
            for name, (old, new) in calls.items():
                order = [("before", old), ("after", new)]
                if (i + turn) % 2:
                    order.reverse()
                found = {}
                for side, call in order:
                    start = time.perf_counter()
                    found[side] = call(query)
                    times[name][side].append(time.perf_counter() - start)
                mismatches[name] += found["before"] != found["after"]
    out: dict[str, Any] = {}
    for name, sides in times.items():
        b, a = summary(sides["before"]), summary(sides["after"])
        out[name] = {"before": b, "after": a, "mismatches": mismatches[name]}
        out[name]["p50_ratio"] = b["p50_ms"] / a["p50_ms"]
        out[name]["p95_ratio"] = b["p95_ms"] / a["p95_ms"]
        log.info(
            "%s: p50 %.1f -> %.1f ms, p95 %.1f -> %.1f ms, %d differing",
            name, b["p50_ms"], a["p50_ms"], b["p95_ms"], a["p95_ms"], mismatches[name],
        )  # fmt: skip
    return out


def embed_times(embedder: Embedder, queries: Sequence[str], rounds: int) -> dict:
    """The question embedding alone, as ``retrieve+embed`` pays it."""
    embedder.embed(list(queries[:3]))
    seconds = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            embedder.embed([query])
            seconds.append(time.perf_counter() - start)
    return summary(seconds)


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 (nearest rank), mean and max, in ms."""
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": ordered[math.ceil(0.50 * len(ordered)) - 1] * 1000,
        "p95_ms": ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def run_size(
    name: str,
    table: Table,
    work: Path,
    queries: Sequence[str],
    live: Embedder,
    rounds: int,
) -> dict[str, Any]:
    """Both paths on one index: ``table`` is the after side, a plain copy the
    before side."""
    cfg = IndexConfig()
    before = plain_copy(table, work / f"{name}-before")
    fixed = FixedVectors(live, queries)
    calls = cases(before, table, fixed, live, cfg, date.today())
    return {
        "rows": table.count_rows(),
        "indexes": sorted(ix.name for ix in table.list_indices()),
        "embedder": live.name,
        "queries": len(queries),
        "rounds": rounds,
        "cases": measure(calls, queries, rounds),
        "embed": embed_times(live, queries, rounds),
    }


def run_benchmark(
    work: Path,
    *,
    sample: Table | None,
    sample_embedder: Embedder | None,
    synthetic: int = 100_000,
    queries: int = 100,
    rounds: int = 2,
    seed: int = 13,
) -> dict[str, Any]:
    """Measure the sample index (when given) and a synthetic one of ``synthetic``
    rows (none when 0)."""
    sizes: dict[str, Any] = {}
    if sample is not None and sample_embedder is not None:
        asked = sample_queries(queries)
        sizes["sample"] = run_size(
            "sample", sample, work, asked, sample_embedder, rounds
        )
    if synthetic:
        uri = work / f"synthetic-{synthetic}"
        started = time.perf_counter()
        table = _open(uri) or build_synthetic(uri, synthetic, seed)
        built_s = time.perf_counter() - started
        asked = synthetic_queries(table, queries, seed)
        name = f"synthetic-{synthetic}"
        sizes[name] = run_size(name, table, work, asked, HashEmbedder(), rounds)
        sizes[name]["build_s"] = built_s
    return {"k": K, "in_force_on": date.today().isoformat(), "sizes": sizes}


def _open(uri: Path) -> Table | None:
    """A synthetic table a previous ``--workdir`` run left, else None."""
    if not (uri / f"{TABLE}.lance").exists():
        return None
    return lancedb.connect(str(uri)).open_table(TABLE)


# ---------------------------------------------------------------- reporting


def render(report: dict[str, Any]) -> str:
    """A Markdown table: per size and case, before/after p50 and p95 and ratios."""
    lines = [
        "| index | case | before p50 ms | after p50 ms | x | before p95 ms "
        "| after p95 ms | x | differing results |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, result in report["sizes"].items():
        label = f"{size} ({result['rows']:,} rows)"
        for case, row in result["cases"].items():
            b, a = row["before"], row["after"]
            lines.append(
                f"| {label} | {case} | {b['p50_ms']:.1f} | {a['p50_ms']:.1f} "
                f"| {row['p50_ratio']:.2f} | {b['p95_ms']:.1f} | {a['p95_ms']:.1f} "
                f"| {row['p95_ratio']:.2f} | {row['mismatches']} of {b['n']} |"
            )
    for size, result in report["sizes"].items():
        embed = result["embed"]
        lines.append(
            f"\n{size}: the question embedding alone ({result['embedder']}) "
            f"p50 {embed['p50_ms']:.1f} ms, p95 {embed['p95_ms']:.1f} ms"
        )
    return "\n".join(lines)


def stamp(argv: Sequence[str]) -> dict[str, Any]:
    """When, where, with what: the CPU stamp plus load and library versions."""
    versions = {}
    for package in ("lancedb", "pylance", "pyarrow", "torch", "sentence-transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        **cpu_stamp(),
        "command": "python -m bench.retrieval " + " ".join(argv),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "versions": versions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=100_000, help="rows (0: none)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--sample-index", type=Path, help="an index folder to copy (default: build)"
    )
    parser.add_argument("--no-sample", action="store_true", help="skip the sample")
    parser.add_argument("--workdir", type=Path, help="keep indexes here (default: tmp)")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--from-json", type=Path, help="only print a saved report")
    args = parser.parse_args(argv)
    if args.from_json:
        print(render(json.loads(args.from_json.read_text(encoding="utf-8"))))  # noqa: T201
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(1)  # as the stamp says; the other core is the index's
    report = stamp(argv)
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sample, embedder = None, None
        if not args.no_sample:
            embedder = _minilm()
            sample = _sample(work, args.sample_index, embedder)
        report |= run_benchmark(
            work,
            sample=sample,
            sample_embedder=embedder,
            synthetic=args.synthetic,
            queries=args.queries,
            rounds=args.rounds,
            seed=args.seed,
        )
    report["load_average_at_end"] = os.getloadavg()
    print(render(report))  # noqa: T201
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


def _minilm() -> Embedder:
    from ragtune.tasks.embedding.config import EmbeddingConfig
    from ragtune.tasks.embedding.embedder import build_embedder

    return build_embedder(EmbeddingConfig())


def _sample(work: Path, given: Path | None, embedder: Embedder) -> Table:
    """The sample index: a copy of ``given``, else built (once per workdir); its
    latest version, with the indexes a refresh keeps now (an index built before
    them gets them here, in the copy)."""
    uri = work / "sample-index"
    if given is not None and not uri.exists():
        shutil.copytree(given, uri)
    if not (uri / f"{TABLE}.lance").exists():
        return build_sample(uri, embedder)
    table = lancedb.connect(str(uri)).open_table(TABLE)
    maintain(table, IndexConfig())
    return table


if __name__ == "__main__":
    sys.exit(main())
