"""Keyword, pattern and path votes: the cheap, explainable second opinion.

Rules only decide when the votes are clear (enough hits, a large share, a lead
over the runner-up); a mixed document falls through to the embedding classifier
instead of being forced into a class by one stray word.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ragtune.tasks.freshness.config import ClassPolicy, FreshnessConfig, RulesConfig
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleVotes:
    """Weighted votes per class and the terms that cast them."""

    scores: dict[str, float]
    hits: dict[str, int]
    terms: dict[str, tuple[str, ...]]

    def ranked(self) -> list[tuple[str, float]]:
        """Classes by descending score; ties keep config order (stable sort)."""
        return sorted(self.scores.items(), key=lambda kv: -kv[1])

    def share(self, label: str) -> float:
        """``label``'s fraction of all weighted votes (0 when nothing voted)."""
        total = sum(self.scores.values())
        return self.scores[label] / total if total else 0.0


@dataclass(frozen=True)
class RuleDecision:
    """The rules' verdict: a label when clear, else None and the reason why not."""

    label: str | None
    confidence: float
    votes: RuleVotes
    reason: str


@dataclass(frozen=True)
class _CompiledClass:
    terms: tuple[tuple[str, re.Pattern[str]], ...]
    title_terms: tuple[tuple[str, re.Pattern[str]], ...]
    paths: tuple[tuple[str, re.Pattern[str]], ...]


def keyword_regex(keyword: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match for a literal phrase.

    Word boundaries are only added at ends that are word characters, so phrases
    like ``% AER`` still match right after a digit ("4.1% AER").
    """
    body = re.escape(keyword.strip())
    head = r"\b" if re.match(r"\w", keyword.strip()) else ""
    tail = r"\b" if re.search(r"\w$", keyword.strip()) else ""
    return re.compile(head + body + tail, re.IGNORECASE)


def _compile(policy: ClassPolicy) -> _CompiledClass:
    terms = [(k, keyword_regex(k)) for k in policy.keywords]
    terms += [(p, re.compile(p, re.IGNORECASE | re.MULTILINE)) for p in policy.patterns]
    titles = tuple((k, keyword_regex(k)) for k in policy.title_keywords)
    paths = tuple((p, re.compile(p, re.IGNORECASE)) for p in policy.path_patterns)
    return _CompiledClass(tuple(terms), titles, paths)


class RuleClassifier:
    """Counts configured keywords, patterns and path patterns per class."""

    def __init__(self, cfg: FreshnessConfig) -> None:
        self.cfg: RulesConfig = cfg.rules
        self._classes = {name: _compile(p) for name, p in cfg.classes.items()}

    def votes(self, doc: Document) -> RuleVotes:
        """Weighted votes per class for one document."""
        body = doc.text[: self.cfg.scan_chars]
        scores: dict[str, float] = {}
        hits: dict[str, int] = {}
        terms: dict[str, tuple[str, ...]] = {}
        for name, compiled in self._classes.items():
            scores[name], hits[name], terms[name] = self._class_votes(
                compiled, doc, body
            )
        return RuleVotes(scores, hits, terms)

    def _class_votes(
        self, compiled: _CompiledClass, doc: Document, body: str
    ) -> tuple[float, int, tuple[str, ...]]:
        """Body hits count 1, title hits ``title_weight``, a matching path
        ``path_weight``; one term counts at most ``max_hits_per_term`` times."""
        cap, score, count, matched = self.cfg.max_hits_per_term, 0.0, 0, []
        for term, rx in compiled.terms:
            n_body = min(len(rx.findall(body)), cap)
            n_title = min(len(rx.findall(doc.title)), cap)
            score += n_body + self.cfg.title_weight * n_title
            count += n_body + n_title
            if n_body or n_title:
                matched.append(term)
        for term, rx in compiled.title_terms:
            if rx.search(doc.title):
                score, count = score + self.cfg.title_weight, count + 1
                matched.append(f"title:{term}")
        for pattern, rx in compiled.paths:
            if rx.search(doc.source_path):
                score, count = score + self.cfg.path_weight, count + 1
                matched.append(f"path:{pattern}")
        return score, count, tuple(matched)

    def decide(self, doc: Document) -> RuleDecision:
        """A label when the votes are clear, with the winner's share as confidence."""
        votes = self.votes(doc)
        ranked = votes.ranked()
        top, top_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        share = votes.share(top)
        if votes.hits[top] < self.cfg.min_hits:
            reason = f"{votes.hits[top]} hit(s) < min_hits {self.cfg.min_hits}"
        elif share < self.cfg.min_share:
            reason = f"{top} share {share:.2f} < min_share {self.cfg.min_share}"
        elif top_score - runner_up < self.cfg.min_margin:
            reason = f"{top} lead {top_score - runner_up:.1f} < min_margin"
        else:
            return RuleDecision(top, share, votes, f"{top} share {share:.2f}")
        log.debug("rules undecided for %s: %s", doc.doc_id, reason)
        return RuleDecision(None, share, votes, reason)
