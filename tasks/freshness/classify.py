"""Freshness classification: metadata first, then clear rules, then centroids.

Each step only decides what it can vouch for; the next one sees the rest. The
confidence says how sure the deciding step was, and anything below
``min_confidence`` is flagged for a human instead of being trusted silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from ragtune.errors import InputError
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.freshness.centroid import embed_documents, fit_centroids
from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.freshness.report import (
    Classification,
    FreshnessReport,
    Method,
    placement_of,
    summarise,
)
from ragtune.tasks.freshness.rules import RuleClassifier, RuleDecision
from ragtune.tasks.freshness.staleness import staleness
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Decision:
    label: str
    confidence: float
    method: Method
    evidence: str


def normalise_category(raw: str) -> str:
    """``Product Pricing`` / ``product_pricing`` -> ``product-pricing``."""
    return "-".join(raw.strip().lower().replace("_", " ").split())


def metadata_class(doc: Document, cfg: FreshnessConfig) -> str | None:
    """The class named by the document's own metadata, validated against config.

    Raises:
        InputError: the metadata names a class that params.yaml does not define;
            guessing would hide a typo or a missing class policy.
    """
    if doc.category is None or not doc.category.strip():
        return None
    label = normalise_category(doc.category)
    if label not in cfg.classes:
        raise InputError(
            f"{doc.source_path}: metadata category {doc.category!r} is not a "
            f"freshness class; expected one of {sorted(cfg.classes)} (fix the "
            "document's metadata or add the class under freshness.classes)"
        )
    return label


def _check_unique(docs: Sequence[Document]) -> None:
    seen: dict[str, str] = {}
    for d in docs:
        if d.doc_id in seen:
            raise InputError(
                f"duplicate doc_id {d.doc_id!r}: {seen[d.doc_id]} and {d.source_path}"
            )
        seen[d.doc_id] = d.source_path


def _first_pass(
    docs: Sequence[Document], cfg: FreshnessConfig
) -> tuple[dict[str, _Decision], dict[str, str], list[tuple[Document, RuleDecision]]]:
    """Metadata, then rules; returns decisions, metadata labels and the undecided."""
    rules = RuleClassifier(cfg)
    decided: dict[str, _Decision] = {}
    meta: dict[str, str] = {}
    pending: list[tuple[Document, RuleDecision]] = []
    for doc in docs:
        label = metadata_class(doc, cfg)
        if label is not None:
            meta[doc.doc_id] = label
            decided[doc.doc_id] = _Decision(label, 1.0, "metadata", "category")
            continue
        verdict = rules.decide(doc)
        if verdict.label is not None:
            terms = ", ".join(verdict.votes.terms[verdict.label][:6])
            decided[doc.doc_id] = _Decision(
                verdict.label, verdict.confidence, "rules", terms
            )
        else:
            pending.append((doc, verdict))
    return decided, meta, pending


def _fallback(verdict: RuleDecision, cfg: FreshnessConfig) -> _Decision:
    """Nothing decided: keep the rules' leader if anything voted, else the
    configured fallback class; always flagged for review."""
    leader, score = verdict.votes.ranked()[0]
    if score > 0:
        share = verdict.votes.share(leader)
        return _Decision(leader, share, "fallback", f"unclear rules: {verdict.reason}")
    return _Decision(cfg.fallback(), 0.0, "fallback", "no rule votes, no centroids")


def _centroid_pass(
    docs: Sequence[Document],
    meta: dict[str, str],
    pending: list[tuple[Document, RuleDecision]],
    cfg: FreshnessConfig,
    embedder: Embedder | None,
) -> tuple[dict[str, _Decision], list[str]]:
    """Fit centroids on the metadata-labelled documents and classify the rest."""
    counts = Counter(meta.values())
    trainable = [n for n in cfg.classes if counts[n] >= cfg.centroid.min_examples]
    notes = [
        f"class {name!r} has {counts[name]} metadata-labelled document(s) and was "
        "left out of the centroid model"
        for name in cfg.classes
        if name not in trainable
    ]
    if len(trainable) < 2 or embedder is None:
        why = "no embedder given" if embedder is None else "fewer than two classes"
        notes.append(f"centroid model not used ({why}); undecided documents fell back")
        return {d.doc_id: _fallback(v, cfg) for d, v in pending}, notes
    labelled = [d for d in docs if meta.get(d.doc_id) in trainable]
    vectors = embed_documents(
        labelled + [d for d, _ in pending], embedder, cfg.centroid
    )
    model = fit_centroids(
        vectors[: len(labelled)],
        [meta[d.doc_id] for d in labelled],
        trainable,
        cfg.centroid,
    )
    predictions = model.predict(vectors[len(labelled) :])
    out = {
        doc.doc_id: _Decision(
            p.label, p.confidence, "centroid", f"cosine {p.similarity:.2f}"
        )
        for (doc, _), p in zip(pending, predictions, strict=True)
    }
    return out, notes


def _finish(
    doc: Document, decision: _Decision, cfg: FreshnessConfig, today: date
) -> Classification:
    policy = cfg.classes[decision.label]
    age = staleness(doc, policy, today)
    review = decision.method == "fallback" or decision.confidence < cfg.min_confidence
    return Classification(
        doc_id=doc.doc_id,
        source_path=doc.source_path,
        label=decision.label,
        confidence=round(decision.confidence, 4),
        method=decision.method,
        needs_review=review,
        age_days=age.age_days,
        stale=age.stale,
        stale_reason=age.reason,
        placement=placement_of(policy.volatile),
        evidence=decision.evidence,
        next_step=age.next_step,
    )


def classify_documents(
    documents: Iterable[Document],
    cfg: FreshnessConfig,
    embedder: Embedder | None,
    today: date,
) -> FreshnessReport:
    """Class, confidence, method and staleness for every document.

    Args:
        documents: loaded documents; ``category`` is their metadata class.
        cfg: the ``freshness`` section of params.yaml.
        embedder: used only when some documents are left after metadata and
            rules; None skips the centroid step (undecided documents fall back).
        today: the day ages are measured against (passed in so runs are repeatable).

    Returns:
        A report with one classification per document, in input order.

    Raises:
        InputError: duplicate doc_ids, or metadata naming an unknown class.
    """
    docs = list(documents)
    _check_unique(docs)
    decided, meta, pending = _first_pass(docs, cfg)
    notes: list[str] = []
    if pending:
        more, notes = _centroid_pass(docs, meta, pending, cfg, embedder)
        decided.update(more)
    results = [_finish(d, decided[d.doc_id], cfg, today) for d in docs]
    policies = {n: (p.volatile, p.max_age_days) for n, p in cfg.classes.items()}
    report = FreshnessReport(results, summarise(results, policies), notes)
    log.info(
        "classified %d documents: %s",
        len(results),
        {s.label: s.count for s in report.summaries},
    )
    return report
