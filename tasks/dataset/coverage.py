"""Representativeness: does the training set cover what the model will be asked?

Two views, both cheap enough to run on every build:

- the knowledge base: for each stable freshness class, the share of its
  documents that at least one training example cites (``meta.doc_id`` or the
  ``Source: ... [doc_id]`` line); examples citing volatile documents are counted
  too, because those facts should be served by RAG, not baked into weights;
- the query log (when there is one): the share of served questions about stable
  documents that have a lexically similar training instruction (TF-IDF cosine).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ragtune.gates import GateResult
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.dataset.records import SFTExample

_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class LoggedQuery:
    """One served question and the documents retrieval answered it from."""

    text: str
    sources: tuple[str, ...] = ()


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.casefold()) if len(t) > 2]


def tfidf_best_match(queries: Sequence[str], corpus: Sequence[str]) -> np.ndarray:
    """For each query, the highest cosine similarity to any corpus text."""
    if not queries or not corpus:
        return np.zeros(len(queries))
    docs = [Counter(_tokens(t)) for t in corpus]
    df = Counter(term for d in docs for term in d)
    vocab = {term: i for i, term in enumerate(sorted(df))}
    idf = np.array([math.log((1 + len(docs)) / (1 + df[t])) + 1 for t in vocab])

    def matrix(bags: Sequence[Counter]) -> np.ndarray:
        m = np.zeros((len(bags), len(vocab)), dtype=np.float32)
        for row, bag in enumerate(bags):
            for term, count in bag.items():
                if term in vocab:
                    m[row, vocab[term]] = count
        m *= idf
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1, norms)

    q = matrix([Counter(_tokens(t)) for t in queries])
    return (q @ matrix(docs).T).max(axis=1)


def _class_coverage(
    train: Sequence[SFTExample],
    classes: Mapping[str, str | None],
    stable: Sequence[str],
) -> tuple[dict[str, dict], int]:
    cited = Counter(d for e in train for d in e.cited_doc_ids())
    per_class: dict[str, dict] = {}
    for label in stable:
        docs = [d for d, c in classes.items() if c == label]
        covered = [d for d in docs if cited[d]]
        per_class[label] = {
            "documents": len(docs),
            "covered": len(covered),
            "share": round(len(covered) / len(docs), 4) if docs else None,
            "examples": sum(cited[d] for d in docs),
        }
    volatile = sum(
        1
        for e in train
        if any(classes.get(d) not in (None, *stable) for d in e.cited_doc_ids())
    )
    return per_class, volatile


def _query_coverage(
    train: Sequence[SFTExample],
    log: Sequence[LoggedQuery],
    classes: Mapping[str, str | None],
    stable: Sequence[str],
    cfg: DatasetConfig,
) -> dict:
    relevant = [
        q
        for q in log
        if not q.sources or any(classes.get(s) in stable for s in q.sources)
    ]
    best = tfidf_best_match([q.text for q in relevant], [e.instruction for e in train])
    covered = int((best >= cfg.query_similarity).sum())
    return {
        "queries": len(log),
        "stable_queries": len(relevant),
        "covered": covered,
        "share": round(covered / len(relevant), 4) if relevant else None,
    }


def representativeness_gate(
    train: Sequence[SFTExample],
    classes: Mapping[str, str | None],
    stable: Sequence[str],
    cfg: DatasetConfig,
    query_log: Sequence[LoggedQuery] = (),
) -> GateResult:
    """Warn on thin class or query coverage; fail when no stable document is cited."""
    measured: dict = {}
    notes: list[str] = []
    if classes:
        per_class, volatile = _class_coverage(train, classes, stable)
        measured |= {"classes": per_class, "volatile_examples": volatile}
        thin = [
            f"{c} {v['covered']}/{v['documents']}"
            for c, v in per_class.items()
            if v["documents"] and v["share"] < cfg.min_class_coverage
        ]
        if per_class and not any(v["covered"] for v in per_class.values()):
            return GateResult(
                "representativeness",
                "fail",
                f"no training example cites a document of the stable classes "
                f"({', '.join(stable)}); the set does not teach the knowledge base",
                measured,
            )
        notes += [f"thin class coverage: {', '.join(thin)}"] if thin else []
        if volatile:
            notes.append(f"{volatile} example(s) teach volatile facts RAG should serve")
    else:
        measured["classes"] = None
    measured["query_log"] = _query_log_figures(train, query_log, classes, stable, cfg)
    share = (measured["query_log"] or {}).get("share")
    if share is not None and share < cfg.min_query_coverage:
        notes.append(
            f"only {share:.0%} of logged stable-topic queries resemble a training "
            f"instruction (dataset.min_query_coverage {cfg.min_query_coverage:.0%})"
        )
    if notes:
        return GateResult("representativeness", "warn", "; ".join(notes), measured)
    return GateResult(
        "representativeness", "pass", "training set covers the stable classes", measured
    )


def _query_log_figures(train, query_log, classes, stable, cfg) -> dict | None:  # noqa: ANN001
    if not query_log:
        return None
    return _query_coverage(train, query_log, classes, stable, cfg)
