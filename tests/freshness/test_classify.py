"""classify_documents: metadata, then rules, then centroids; errors and output."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ragtune.errors import InputError
from ragtune.tasks.freshness import classify_documents
from ragtune.tasks.freshness.config import ClassPolicy, FreshnessConfig

# Rules off: every class without keywords, so the centroid decides what metadata
# does not. Two labelled examples per class, one unlabelled query each.
NO_RULES = FreshnessConfig(
    classes={
        "regulatory": ClassPolicy(max_age_days=30, volatile=True),
        "product-pricing": ClassPolicy(max_age_days=7, volatile=True),
        "historical": ClassPolicy(volatile=False),
        "domain-concept": ClassPolicy(volatile=False),
    }
)
TRAIN = [
    (
        "regulatory",
        "Regulation 12 requires banks to report suspicious transactions "
        "to the financial supervisor without delay.",
    ),
    (
        "regulatory",
        "The new rule obliges lenders to verify borrower income before "
        "approving any consumer credit agreement.",
    ),
    (
        "product-pricing",
        "The fixed savings account pays 4.5 percent interest per year "
        "and has a 5 euro monthly fee.",
    ),
    (
        "product-pricing",
        "Home insurance costs 30 euros per month; the price rises for "
        "older homes and larger contents cover.",
    ),
    (
        "historical",
        "In 2015 the company merged with a regional bank and closed twelve "
        "branches over the following year.",
    ),
    (
        "historical",
        "The 2021 outage lasted six hours after a database failure took "
        "card payments offline for customers.",
    ),
    (
        "domain-concept",
        "A mortgage is a loan secured on a property, which the lender "
        "can repossess if the borrower does not repay.",
    ),
    (
        "domain-concept",
        "Compound interest is interest calculated on both the original "
        "deposit and the interest already earned.",
    ),
]
QUERIES = [
    (
        "regulatory",
        "Supervisors require all banks to report large cash transactions "
        "to the authorities as the law demands.",
    ),
    (
        "product-pricing",
        "Our current account costs 3 euros a month and pays 1 percent "
        "interest on balances.",
    ),
    (
        "historical",
        "In 2018 the bank acquired an insurer, and after the merger two "
        "head offices were closed.",
    ),
    (
        "domain-concept",
        "An overdraft is a kind of loan that lets you spend more money "
        "than your account balance holds.",
    ),
]


def _corpus(doc):
    train = [
        doc(f"t{i}", text, category=label) for i, (label, text) in enumerate(TRAIN)
    ]
    queries = [doc(f"q-{label}", text) for label, text in QUERIES]
    return train, queries


def test_metadata_wins_over_rules(cfg, doc, today):
    d = doc(
        "r", "What is an annuity? It means, for example, ...", category="Regulatory"
    )
    [c] = classify_documents([d], cfg, embedder=None, today=today).classifications
    assert (c.label, c.confidence, c.method, c.needs_review) == (
        "regulatory",
        1.0,
        "metadata",
        False,
    )


@pytest.mark.parametrize(
    "raw", ["Product Pricing", "product_pricing", " PRODUCT-pricing"]
)
def test_category_spellings_normalise(cfg, doc, today, raw):
    report = classify_documents([doc("p", "x", category=raw)], cfg, None, today)
    assert report.classifications[0].label == "product-pricing"


def test_unknown_metadata_class_is_a_clear_error(cfg, doc, today):
    bad = doc("x", "text", category="marketing", path="misc/x.md")
    with pytest.raises(InputError, match=r"misc/x\.md.*'marketing'.*regulatory"):
        classify_documents([bad], cfg, None, today)


def test_duplicate_doc_ids_are_an_error(cfg, doc, today):
    with pytest.raises(InputError, match="duplicate doc_id 'a'"):
        classify_documents([doc("a", "x"), doc("a", "y")], cfg, None, today)


def test_rules_decide_unlabelled_documents_without_the_embedder(cfg, doc, today):
    text = "The saver pays 4.1% AER with no monthly fee; eligibility: over 18."
    [c] = classify_documents([doc("p", text)], cfg, None, today).classifications
    assert (c.label, c.method, c.placement) == ("product-pricing", "rules", "rag")
    assert c.confidence >= cfg.rules.min_share and "AER" in c.evidence


def test_nothing_decides_falls_back_and_flags(doc, today):
    report = classify_documents([doc("z", "Lorem ipsum.")], NO_RULES, None, today)
    [c] = report.classifications
    assert (c.label, c.method, c.needs_review) == ("product-pricing", "fallback", True)
    assert c.stale and c.stale_reason == "no review date"


def test_unclear_rules_without_centroids_keep_the_leader_and_flag(cfg, doc, today):
    report = classify_documents([doc("m", "Minutes.")], cfg, None, today)
    [c] = report.classifications
    assert (c.label, c.method, c.needs_review) == ("historical", "fallback", True)
    assert "min_hits" in c.evidence
    assert any("no embedder given" in note for note in report.notes)


def test_centroid_classifies_unlabelled_documents(embedder, doc, today):
    train, queries = _corpus(doc)
    report = classify_documents(train + queries, NO_RULES, embedder, today)
    by_doc = report.by_doc()
    for label, _ in QUERIES:
        c = by_doc[f"q-{label}"]
        assert (c.label, c.method) == (label, "centroid"), c
        assert 0.25 < c.confidence <= 1.0
    assert report.notes == []
    assert [s.count for s in report.summaries] == [3, 3, 3, 3]


def test_class_without_examples_is_left_out_and_reported(embedder, doc, today):
    train, queries = _corpus(doc)
    train = [d for d in train if d.category != "historical"]
    report = classify_documents(train + queries, NO_RULES, embedder, today)
    assert any("'historical'" in note for note in report.notes)
    assert "## Notes" in report.to_markdown()
    assert all(c.label != "historical" for c in report.classifications)


def test_low_confidence_is_flagged(embedder, doc, today):
    strict = NO_RULES.model_copy(update={"min_confidence": 0.999})
    train, queries = _corpus(doc)
    report = classify_documents(train + queries, strict, embedder, today)
    flagged = {c.doc_id for c in report.classifications if c.needs_review}
    assert flagged == {d.doc_id for d in queries}


def test_report_rows_markdown_and_summaries(cfg, doc, today):
    old = today - timedelta(days=90)
    docs = [
        doc("reg", "x", category="regulatory", reviewed=old, path="c/reg.md"),
        doc("price", "x", category="product-pricing", reviewed=today),
        doc("hist", "x", category="historical"),
    ]
    report = classify_documents(docs, cfg, None, today)
    rows = report.to_rows()
    assert [r["doc_id"] for r in rows] == ["reg", "price", "hist"]
    assert rows[0]["stale"] is True and rows[0]["age_days"] == 90
    assert set(rows[0]) >= {
        "label",
        "confidence",
        "method",
        "placement",
        "stale_reason",
    }
    summary = {s.label: s for s in report.summaries}
    assert (summary["regulatory"].count, summary["regulatory"].stale) == (1, 1)
    assert summary["historical"].placement == "fine-tune-candidate"
    assert summary["domain-concept"].count == 0
    md = report.to_markdown()
    assert "| regulatory | 1 | 1 | 0 | rag | 30 |" in md
    assert "## Stale documents (1)" in md and "c/reg.md" in md
    assert "90 days since last review > max_age_days 30" in md


def test_accuracy_overall_and_per_method(cfg, doc, today):
    docs = [
        doc("m", "x", category="historical"),
        doc("r", "Firms shall ensure compliance with clause 3 of the regulation."),
    ]
    report = classify_documents(docs, cfg, None, today)
    acc = report.accuracy(
        {"m": "historical", "r": "product-pricing", "gone": "historical"}
    )
    assert (acc.correct, acc.total, acc.accuracy) == (1, 2, 0.5)
    assert acc.by_method["metadata"].accuracy == 1.0
    assert acc.by_method["rules"].accuracy == 0.0
    assert acc.errors == (("r", "regulatory", "product-pricing"),)
    assert acc.missing == ("gone",)
    with pytest.raises(InputError, match="unknown freshness class"):
        report.accuracy({"m": "news"})


def test_dates_pass_through_to_age(cfg, doc):
    d = doc("p", "x", category="product-pricing", effective=date(2026, 2, 20))
    [c] = classify_documents([d], cfg, None, date(2026, 3, 1)).classifications
    assert (c.age_days, c.stale) == (9, True)
