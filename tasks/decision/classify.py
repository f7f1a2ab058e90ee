"""What kind of gap is this? Declared type first, else keyword and pattern votes.

The five types decide which technique is even a candidate: style-format,
vocabulary and capability gaps are about how the model answers (fine-tuning
candidates); current-facts and document-retrieval gaps are about what it knows
(RAG). A user's declared ``gap_type`` always wins. Otherwise the rules below
vote: each keyword or pattern found in the description scores 2, in an example
question 1. The type with the most votes wins; ties go to the type listed first
in :data:`PRECEDENCE` (knowledge types first, as RAG comes first). With no vote
at all the gap is treated as document-retrieval, the RAG-first default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ragtune.tasks.decision.gaps import Gap

Source = Literal["declared", "rules", "default"]
DESCRIPTION_WEIGHT = 2
EXAMPLE_WEIGHT = 1
DEFAULT_TYPE = "document-retrieval"
PRECEDENCE = (
    "current-facts",
    "document-retrieval",
    "style-format",
    "vocabulary",
    "capability",
)
# Whole-word phrases (case-insensitive) and regular expressions per type.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "style-format": (
        "format", "formatted", "json", "xml", "yaml", "csv", "schema", "template",
        "tone", "style", "layout", "structured", "fields", "bullet points",
        "house style", "letter", "plain language", "voice",
    ),
    "vocabulary": (
        "term", "terms", "terminology", "jargon", "acronym", "acronyms",
        "abbreviation", "abbreviations", "glossary", "internal codes", "code names",
        "stands for", "stand for", "vocabulary", "misreads", "misinterprets",
        "own terms", "means", "meaning", "mean",
    ),
    "capability": (
        "classify", "classifies", "categorise", "categorize", "triage", "route",
        "extract", "calculate", "compute", "assess", "score", "decide", "reasoning",
        "multi-step", "step by step", "summarise", "summarize",
    ),
    "current-facts": (
        "current", "currently", "today", "latest", "now", "this week", "this month",
        "as of", "in force", "up to date", "out-of-date", "changes", "changed",
        "amended", "amendment", "amendments", "rate sheet", "rate sheets",
        "price list", "tariff", "fee schedule",
    ),
    "document-retrieval": (
        "which document", "source", "sources", "cite", "citation", "citations",
        "quote", "clause", "section", "according to", "where does it say",
        "annual report", "minutes", "policy wording", "find the", "look up",
    ),
}  # fmt: skip
PATTERNS: dict[str, tuple[str, ...]] = {
    "style-format": (r"\balways (answer|reply|respond|return)\b",),
    "vocabulary": (r"\bwhat (does|do) [\w-]+ (mean|stand for)\b",),
    "capability": (r"\bwhich (team|queue|category)\b",),
    "current-facts": (r"\b(daily|weekly|monthly)\b", r"\bnew (rate|price|fee)s?\b"),
    "document-retrieval": (r"\b(clause|section|article) \d+", r"\bin (19|20)\d\d\b"),
}


@dataclass(frozen=True)
class GapClassification:
    """A gap's type, where it came from, why, and the votes behind it."""

    gap_type: str
    source: Source
    reason: str
    votes: dict[str, int] = field(default_factory=dict)


def classify_gap(gap: Gap) -> GapClassification:
    """The gap's type: declared, else voted by the documented rules."""
    if gap.gap_type is not None:
        return GapClassification(gap.gap_type, "declared", "declared in GAPS.yaml")
    votes, hits = _votes(gap)
    best = max(votes.values())
    if best == 0:
        return GapClassification(
            DEFAULT_TYPE,
            "default",
            "no keyword or pattern matched; RAG-first default (document-retrieval)",
            votes,
        )
    winner = next(t for t in PRECEDENCE if votes[t] == best)
    tied = [t for t in PRECEDENCE if votes[t] == best and t != winner]
    reason = f"{best} vote(s) from {', '.join(hits[winner][:6])}"
    if tied:
        reason += f"; tied with {', '.join(tied)}, broken by precedence"
    return GapClassification(winner, "rules", reason, votes)


def _votes(gap: Gap) -> tuple[dict[str, int], dict[str, list[str]]]:
    texts = [(gap.description, DESCRIPTION_WEIGHT)]
    texts += [(example, EXAMPLE_WEIGHT) for example in gap.examples]
    votes = dict.fromkeys(PRECEDENCE, 0)
    hits: dict[str, list[str]] = {t: [] for t in PRECEDENCE}
    for gap_type in PRECEDENCE:
        for term, regex in _rules(gap_type):
            for text, weight in texts:
                if regex.search(text):
                    votes[gap_type] += weight
                    if term not in hits[gap_type]:
                        hits[gap_type].append(term)
    return votes, hits


def _rules(gap_type: str) -> list[tuple[str, re.Pattern[str]]]:
    words = [
        (f"'{w}'", re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE))
        for w in KEYWORDS[gap_type]
    ]
    patterns = [(f"/{p}/", re.compile(p, re.IGNORECASE)) for p in PATTERNS[gap_type]]
    return words + patterns
