"""Incremental refresh: ragtune against the LangChain indexing API and LlamaIndex's
IngestionPipeline, side by side in one process and one run (issue 4).

Every system gets the same generated corpus (``bench/corpus.py``), the same
chunks (ragtune's ``chunk_document``) and the same timed embedder, then runs five
scenarios: full build; refresh after editing 1% of the documents; after deleting
1%; after adding 1%; a rerun with no change. Per scenario and system: wall time,
time inside the embedder, texts embedded against the minimum (chunk texts not in
the previous state), stale and missing chunks against a full rebuild of the same
data, and peak memory. The raw embedder throughput is measured in the same run.

The four refresh scenarios are repeated ``--rounds`` times (each round mutates
other documents), with the systems' order rotated every round so none always
runs first, right after another system's embedding. Times are the median over
rounds, counts are summed, stale and missing are the worst round.

    python -m bench.refresh --chunks 2000 --json bench/results/refresh-cpu-2000.json
    python -m bench.refresh --chunks 20000 --json ...   # on a GPU
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lancedb

from bench.corpus import Corpus
from bench.peers import MODULES, Peer, PeerUnavailable, TimedEmbedder, build_peer
from bench.peers.base import chunk_documents, chunk_keys, measured
from bench.peers.report import check_targets, environment, markdown, render
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.embedding.hashed import HashEmbedder
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)

SCENARIOS: list[tuple[str, Callable[[Corpus, float], Any] | None]] = [
    ("full-build", None),
    ("edit-1pct", Corpus.edit),
    ("delete-1pct", Corpus.delete),
    ("add-1pct", Corpus.add),
    ("no-change", None),
]


REFRESHES = SCENARIOS[1:]
# Before each measured step: lets the previous system's embedder threads and
# LanceDB's background writers go idle, so they do not run on this one's clock.
SETTLE_S = 0.2
TIMES = ("wall_s", "cpu_s", "embed_s", "overhead_s")
SUMMED = ("embedded", "minimum")
WORST = ("stale", "missing", "py_peak_mb", "rss_peak_delta_mb", "rss_delta_mb")


@dataclass
class Result:
    """One system in one scenario."""

    wall_s: float
    cpu_s: float
    embed_s: float
    overhead_s: float  # wall time outside the embedder
    embedded: int
    minimum: int
    stale: int
    missing: int
    rows: int
    expected_rows: int
    py_peak_mb: float | None
    rss_peak_delta_mb: float
    rss_delta_mb: float
    report: dict[str, Any] = field(default_factory=dict)


def warm_up(work: Path, embedder: Embedder) -> None:
    """Pay one-time costs (model first call, LanceDB runtime) before measuring, so
    they do not land on whichever system happens to run first."""
    embedder.embed(["warm-up text"] * 8)
    table = lancedb.connect(str(work / "warm-up")).create_table(
        "t", [{"k": str(i), "v": [0.0, 1.0]} for i in range(8)]
    )
    rows = [{"k": "1", "v": [1.0, 0.0]}]
    table.merge_insert("k").when_matched_update_all().execute(rows)
    table.delete("k = '2'")
    table.to_lance().to_table(columns=["k"])


def raw_throughput(embedder: Embedder, texts: list[str]) -> dict[str, float]:
    """Chunks per second (wall and CPU) embedding ``texts`` directly, in one call."""
    with measured(trace_python=False) as usage:
        embedder.embed(texts)
    return {
        "texts": len(texts),
        "seconds": usage.wall_s,
        "cpu_seconds": usage.cpu_s,
        "chunks_per_s": _per_s(len(texts), usage.wall_s),
        "chunks_per_cpu_s": _per_s(len(texts), usage.cpu_s),
    }


def _per_s(count: int, seconds: float) -> float | None:
    """None when the clock did not move (CPU time ticks in 10 ms steps)."""
    return count / seconds if seconds > 0 else None


def run_step(
    peer: Peer,
    documents: Sequence[Document],
    timed: TimedEmbedder,
    expected: Sequence[Chunk],
    minimum: int,
    trace: bool,
) -> Result:
    """Refresh one system and account for what it did."""
    timed.reset()
    gc.collect()  # the previous system's garbage is not this one's to collect
    time.sleep(SETTLE_S)
    with measured(trace) as usage:
        report = peer.refresh(documents)
    publish = getattr(peer, "publish", None)  # ragtune: checks + live tag, untimed
    if publish is not None:
        publish(len(expected))
    rows = peer.contents()
    held, wanted = set(rows), chunk_keys(expected)
    return Result(
        wall_s=usage.wall_s,
        cpu_s=usage.cpu_s,
        embed_s=timed.seconds,
        overhead_s=usage.wall_s - timed.seconds,
        embedded=timed.texts,
        minimum=minimum,
        stale=len(held - wanted),
        missing=len(wanted - held),
        rows=len(rows),
        expected_rows=len(expected),
        py_peak_mb=usage.py_peak_mb,
        rss_peak_delta_mb=usage.rss_peak_delta_mb,
        rss_delta_mb=usage.rss_delta_mb,
        report=report,
    )


def run_pass(
    work: Path,
    embedder: Embedder,
    systems: Sequence[str],
    settings: dict[str, Any],
    *,
    trace_python: bool,
) -> dict[str, Any]:
    """Generate the corpus in ``work`` and run every scenario on every system."""
    chunking, share = settings["chunking"], settings["share"]
    rounds = settings["rounds"]
    corpus = Corpus.generate(
        work / "kb", settings["chunks"], seed=settings["seed"], chunking=chunking
    )
    timed = TimedEmbedder(embedder)
    peers, skipped = [], {}
    for name in systems:
        try:
            peers.append(build_peer(name, work / name, timed, chunking))
        except PeerUnavailable as exc:
            skipped[name] = str(exc)
            log.warning("skipping %s: %s", name, exc)
    out: dict[str, Any] = {"systems": [p.name for p in peers], "skipped": skipped}
    plan = [(*SCENARIOS[0], 0)]
    plan += [(name, mutate, r) for r in range(rounds) for name, mutate in REFRESHES]
    steps, previous = [], set()
    for name, mutate, round_no in plan:
        mutation = mutate(corpus, share) if mutate else None
        documents = corpus.documents()
        expected = chunk_documents(documents, chunking)
        texts = {c.text for c in expected}
        if name == "full-build":
            out["corpus"] = _corpus_facts(documents, expected, texts)
            if settings["raw"]:  # right before the first system's full build
                out["raw_embedder"] = raw_throughput(embedder, sorted(texts))
        step = {"name": name, "round": round_no, "minimum": len(texts - previous)}
        step["mutation"] = asdict(mutation) if mutation else None
        turn = round_no % len(peers) if peers else 0
        order = peers[turn:] + peers[:turn]
        step["order"], results = [p.name for p in order], {}
        for peer in order:
            log.info("%s: %s (traced: %s)", name, peer.name, trace_python)
            result = run_step(
                peer, documents, timed, expected, step["minimum"], trace_python
            )
            results[peer.name] = asdict(result)
        step["results"] = {p.name: results[p.name] for p in peers}
        steps.append(step)
        previous = texts
    out["rounds"], out["scenarios"] = rounds, aggregate(steps)
    out["steps"] = steps
    out["issues"] = [asdict(i) for p in peers for i in p.issues()]
    return out


def aggregate(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per scenario, in scenario order: median times, summed counts, the
    worst round's stale, missing and memory, and each round's wall time."""
    out = []
    for name, _ in SCENARIOS:
        group = [s for s in steps if s["name"] == name]
        if not group:
            continue
        merged = {
            "name": name,
            "rounds": len(group),
            "minimum": sum(s["minimum"] for s in group),
            "mutation": group[0]["mutation"],
            "results": {},
        }
        for system in group[0]["results"]:
            runs = [s["results"][system] for s in group]
            result = dict(runs[-1])
            result |= {k: statistics.median(r[k] for r in runs) for k in TIMES}
            result |= {k: sum(r[k] for r in runs) for k in SUMMED}
            for key in WORST:
                values = [r[key] for r in runs if r[key] is not None]
                result[key] = max(values) if values else None
            result["wall_s_rounds"] = [r["wall_s"] for r in runs]
            result["exact_rounds"] = sum(r["embedded"] == r["minimum"] for r in runs)
            merged["results"][system] = result
        out.append(merged)
    return out


def run_benchmark(
    work: Path,
    embedder: Embedder,
    *,
    chunks: int = 2000,
    seed: int = 13,
    systems: Sequence[str] = tuple(MODULES),
    chunking: ChunkingConfig | None = None,
    share: float = 0.01,
    memory_pass: bool = True,
    rounds: int = 1,
) -> dict[str, Any]:
    """Timing pass (raw embedder throughput right before the full builds), then an
    optional traced pass on a fresh copy of the same corpus for Python peaks.

    Systems whose packages are missing are skipped and listed under ``skipped``.
    """
    settings = {"chunks": chunks, "seed": seed, "share": share, "rounds": rounds}
    settings["raw"] = True
    settings["chunking"] = chunking or ChunkingConfig()
    warm_up(work, embedder)
    report = run_pass(work / "timing", embedder, systems, settings, trace_python=False)
    report["memory_pass"] = memory_pass
    if memory_pass:
        settings["raw"] = False
        traced = run_pass(
            work / "memory", embedder, systems, settings, trace_python=True
        )
        report["memory_pass_mismatches"] = _merge_peaks(report, traced)
    report["targets"] = check_targets(report)
    return report


def _merge_peaks(report: dict[str, Any], traced: dict[str, Any]) -> list[str]:
    """Copy traced Python peaks into the timing report; name any scenario whose
    counts differ between the passes (they must not: everything is seeded)."""
    mismatches = []
    for step, other in zip(report["scenarios"], traced["scenarios"], strict=True):
        for system, result in step["results"].items():
            twin = other["results"][system]
            result["py_peak_mb"] = twin["py_peak_mb"]
            keys = ("embedded", "minimum", "stale", "missing", "rows")
            if any(result[k] != twin[k] for k in keys):
                mismatches.append(f"{step['name']}/{system}")
    return mismatches


def _corpus_facts(
    documents: Sequence[Document], chunks: Sequence[Chunk], texts: set[str]
) -> dict[str, int]:
    return {
        "documents": len(documents),
        "chunks": len(chunks),
        "distinct_texts": len(texts),
        "repeated_texts": len(chunks) - len(texts),
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--systems", default=",".join(MODULES))
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--workdir", type=Path, help="keep state here (default: tmp)")
    parser.add_argument(
        "--from-json", type=Path, help="only print a saved report (no run)"
    )
    parser.add_argument("--markdown", action="store_true", help="Markdown table")
    parser.add_argument(
        "--embedder",
        choices=("minilm", "hash"),
        default="minilm",
        help="minilm (the default embedder) or hash (near-free vectors: measures "
        "only the non-embedding overhead, e.g. at 20,000 chunks on a CPU)",
    )
    parser.add_argument(
        "--no-memory-pass",
        action="store_true",
        help="skip the second, tracemalloc-traced pass (no Python peaks)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="repeat the four refresh scenarios this many times (medians reported)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.from_json:
        report = json.loads(args.from_json.read_text(encoding="utf-8"))
        print(markdown(report) if args.markdown else render(report))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from ragtune.tasks.embedding.config import EmbeddingConfig
    from ragtune.tasks.embedding.embedder import build_embedder

    embedder = (
        HashEmbedder() if args.embedder == "hash" else build_embedder(EmbeddingConfig())
    )
    with tempfile.TemporaryDirectory(prefix="ragtune-bench-") as tmp:
        report = environment(argv) | run_benchmark(
            args.workdir or Path(tmp),
            embedder,
            chunks=args.chunks,
            seed=args.seed,
            systems=[s.strip() for s in args.systems.split(",") if s.strip()],
            memory_pass=not args.no_memory_pass,
            rounds=args.rounds,
        )
    report["machine"]["load_average_at_end"] = os.getloadavg()
    print(markdown(report) if args.markdown else render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
