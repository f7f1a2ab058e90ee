"""Default freshness classes and rule vocabulary for a bank or insurer.

Regulatory text changes monthly or faster, product and pricing weekly; historical
records and domain concepts are stable. The keywords are phrases that are common in
one class and rare in the others; ambiguous words ("policy", "customer") are left
out on purpose because they vote for every class.
"""

from __future__ import annotations

from ragtune.tasks.freshness.config import ClassPolicy

REGULATORY_KEYWORDS = (
    "shall",
    "must",
    "must not",
    "clause",
    "regulation",
    "regulations",
    "regulatory",
    "regulator",
    "supervisory",
    "effective",
    "amendment",
    "amended",
    "APCA",
    "rulebook",
    "compliance",
    "directive",
    "obligation",
    "obligations",
    "requirement",
    "requirements",
    "in force",
    "pursuant to",
    "guideline",
    "guidelines",
    "circular",
    "breach",
    "firms",
    "payment service provider",
    "business days",
    "out of scope",
    "AML",
    "GDPR",
    "Solvency II",
    "Basel",
    "PSD2",
    "DORA",
)
REGULATORY_TITLES = (
    "rules",
    "policy",
    "procedure",
    "amendment",
    "requirements",
    "regulation",
    "circular",
    "disclosure",
)
REGULATORY_PATTERNS = (
    r"\b(section|article|clause|rule|part) \d+(\.\d+)*\b",
    r"^\W*\d+\.\d+\.\d+\b",  # numbered provisions such as 16.2.1
)
REGULATORY_PATHS = (r"(^|/)(regulat\w*|compliance|legal|rules?)(/|$)",)

PRICING_KEYWORDS = (
    "% AER",
    "AER",
    "APR",
    "EAR",
    "tariff",
    "premium",
    "premiums",
    "fee",
    "fees",
    "price",
    "eligibility",
    "eligible",
    "discount",
    "cashback",
    "per month",
    "monthly fee",
    "annual fee",
    "minimum deposit",
    "minimum balance",
    "bonus",
    "introductory",
    "promotional",
    "aged",
    "terms",
)
PRICING_TITLES = (
    "rates",
    "terms",
    "tariff",
    "premiums",
    "pricing",
    "price list",
    "offer",
    "charges",
    "fee schedule",
    "eligibility",
    "summary",
    "notice",
)
PRICING_PATTERNS = (
    r"\d% (AER|APR|EAR|gross)\b",
    r"\((variable|fixed)\)",
    r"\bEUR [\d,.]+ (a|per) (month|year|day|trip|claim|withdrawal|transaction)\b",
)
PRICING_PATHS = (r"(^|/)(products?|pricing|prices|tariffs?|rates)(/|$)",)

HISTORICAL_KEYWORDS = (
    "annual report",
    "post-mortem",
    "postmortem",
    "incident",
    "board minutes",
    "minutes",
    "retrospective",
    "lessons learned",
    "history",
    "historical",
    "founded",
    "merger",
    "acquired",
    "archived",
    "root cause",
    "timeline",
    "outage",
    "decided",
    "launched",
    "year ended",
    "the year",
    "Chair",
    "Chief Executive",
    "the board",
    "approved",
    "was",
    "were",
    "had",
    "grew",
    "fell",
    "closed",
)
HISTORICAL_TITLES = (
    "annual report",
    "minutes",
    "incident",
    "history",
    "withdrawal",
    "review",
    "launch",
    "erratum",
    "addendum",
    "post-mortem",
)
HISTORICAL_PATTERNS = (
    r"\bin (19|20)\d\d\b",
    r"\b(FY|fiscal year )(19|20)?\d\d\b",
)
HISTORICAL_PATHS = (r"(^|/)(history|historical|archive|incidents?|reports?)(/|$)",)

CONCEPT_KEYWORDS = (
    "what is",
    "what are",
    "explained",
    "for example",
    "worked example",
    "means",
    "definition",
    "defined as",
    "refers to",
    "in other words",
    "is called",
    "known as",
    "glossary",
    "concept",
    "how it works",
    "works",
    "is a",
    "is the",
    "such as",
    "usually",
    "normally",
    "often",
    "typically",
    "difference between",
    "why",
)
CONCEPT_TITLES = (
    "explained",
    "what",
    "how",
    "works",
    "vs",
    "basics",
    "concepts",
    "mechanics",
    "guide",
    "introduction",
)
CONCEPT_PATTERNS = (r"^\W*what (is|are) ",)
CONCEPT_PATHS = (r"(^|/)(concepts?|glossary|guides?|learn|explainers?)(/|$)",)


def default_classes() -> dict[str, ClassPolicy]:
    """The four classes of the decision framework, with their rule vocabulary."""
    return {
        "regulatory": ClassPolicy(
            max_age_days=30,
            volatile=True,
            keywords=REGULATORY_KEYWORDS,
            title_keywords=REGULATORY_TITLES,
            patterns=REGULATORY_PATTERNS,
            path_patterns=REGULATORY_PATHS,
        ),
        "product-pricing": ClassPolicy(
            max_age_days=7,
            volatile=True,
            keywords=PRICING_KEYWORDS,
            title_keywords=PRICING_TITLES,
            patterns=PRICING_PATTERNS,
            path_patterns=PRICING_PATHS,
        ),
        "historical": ClassPolicy(
            max_age_days=None,
            volatile=False,
            keywords=HISTORICAL_KEYWORDS,
            title_keywords=HISTORICAL_TITLES,
            patterns=HISTORICAL_PATTERNS,
            path_patterns=HISTORICAL_PATHS,
        ),
        "domain-concept": ClassPolicy(
            max_age_days=None,
            volatile=False,
            keywords=CONCEPT_KEYWORDS,
            title_keywords=CONCEPT_TITLES,
            patterns=CONCEPT_PATTERNS,
            path_patterns=CONCEPT_PATHS,
        ),
    }
