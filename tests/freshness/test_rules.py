"""Keyword, pattern and path votes decide only when they are clear."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ragtune.tasks.freshness.config import ClassPolicy, FreshnessConfig, RulesConfig
from ragtune.tasks.freshness.rules import RuleClassifier, keyword_regex

CLEAR = [
    (
        "regulatory",
        "Firms shall notify the regulator within 30 days. This amendment is "
        "effective from 1 May 2026 and compliance with clause 4.2 is mandatory.",
    ),
    (
        "product-pricing",
        "The Easy Saver pays 4.10% AER. There is no monthly fee and the minimum "
        "deposit is EUR 100. Eligibility: residents aged 18 or over.",
    ),
    (
        "historical",
        "The board minutes of the meeting in 2019 record the merger. The annual "
        "report described the incident and the post-mortem lessons learned.",
    ),
    (
        "domain-concept",
        "What is an annuity? An annuity means a series of regular payments. For "
        "example, a pension annuity is explained in the glossary.",
    ),
]


@pytest.mark.parametrize(("label", "text"), CLEAR, ids=[c[0] for c in CLEAR])
def test_clear_text_is_decided_by_rules(cfg, doc, label, text):
    verdict = RuleClassifier(cfg).decide(doc("d", text, title="Note"))
    assert verdict.label == label
    assert cfg.rules.min_share <= verdict.confidence <= 1.0
    assert verdict.votes.hits[label] >= cfg.rules.min_hits


@pytest.mark.parametrize(
    "text",
    [
        "Hello world, nothing to see here.",  # no votes at all
        "The rate is explained below.",  # one vote each for two classes
        "Minutes.",  # a single hit is below min_hits
    ],
)
def test_unclear_text_falls_through(cfg, doc, text):
    verdict = RuleClassifier(cfg).decide(doc("d", text, title="Note"))
    assert verdict.label is None
    assert verdict.reason


def test_path_pattern_votes_with_its_weight(cfg, doc):
    rules = RuleClassifier(cfg)
    plain = rules.votes(doc("d", "See the attached table.", path="misc/a.md"))
    filed = rules.votes(doc("d", "See the attached table.", path="pricing/a.md"))
    gained = filed.scores["product-pricing"] - plain.scores["product-pricing"]
    assert gained == cfg.rules.path_weight
    assert any(t.startswith("path:") for t in filed.terms["product-pricing"])


def test_title_votes_count_more_than_body_votes(doc):
    policy = ClassPolicy(
        volatile=False, keywords=("incident",), title_keywords=("log",)
    )
    cfg = FreshnessConfig(
        classes={"h": policy, "x": ClassPolicy(volatile=True)},
        rules=RulesConfig(title_weight=2.5),
    )
    rules = RuleClassifier(cfg)
    assert rules.votes(doc("d", "Incident.", title="Note")).scores["h"] == 1.0
    assert rules.votes(doc("d", "Text.", title="Incident")).scores["h"] == 2.5
    # title_keywords vote only from the title
    assert rules.votes(doc("d", "log log", title="Note")).scores["h"] == 0.0
    assert rules.votes(doc("d", "Text.", title="Incident log")).scores["h"] == 5.0


def test_one_repeated_word_is_capped(doc):
    policy = ClassPolicy(volatile=True, keywords=("fee",))
    cfg = FreshnessConfig(
        classes={"a": policy, "b": ClassPolicy(volatile=False)},
        rules=RulesConfig(max_hits_per_term=3, title_weight=0),
    )
    votes = RuleClassifier(cfg).votes(doc("d", "fee " * 50))
    assert votes.hits["a"] == 3


@pytest.mark.parametrize(
    ("keyword", "text", "hits"),
    [
        ("% AER", "pays 4.1% AER today", 1),  # no word boundary before '%'
        ("rate", "a separate corporate rate", 1),  # not inside other words
        ("EUR", "costs eur 5 or EUR 7", 2),  # case-insensitive
        ("annual report", "the Annual  Report", 0),  # phrases are literal
        ("e.g.", "many, e.g. loans", 1),
    ],
)
def test_keyword_regex_whole_words(keyword, text, hits):
    assert len(keyword_regex(keyword).findall(text)) == hits


def test_bad_regex_is_a_config_error():
    with pytest.raises(ValidationError, match="bad regular expression"):
        ClassPolicy(volatile=True, patterns=("([unclosed",))
