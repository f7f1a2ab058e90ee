"""Synthetic served traffic for drift tests: two query themes built from
templates (seeded), and writers for the query and feedback logs that
``ragtune serve`` produces."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from tests._prefect import read_events  # noqa: F401

# Savings products vs card fraud: both are banking, so the shift is the kind a
# real assistant sees (a fraud wave), not two unrelated languages.
SAVINGS = {
    "templates": [
        "What is the interest rate on the {p}?",
        "How do I open a {p}?",
        "Can I withdraw early from my {p}?",
        "Is there a minimum deposit for the {p}?",
        "How is interest paid on the {p}{s}?",
        "What is the AER of the {p}{s}?",
        "Can I add money to my {p} every month{s}?",
        "Does the {p} have a bonus rate{s}?",
    ],
    "p": [
        "fixed-rate savings bond",
        "easy access saver",
        "cash ISA",
        "regular saver account",
        "children's savings account",
        "90-day notice account",
        "member loyalty saver",
    ],
}
FRAUD = {
    "templates": [
        "My card was used for {p} without my permission, what should I do?",
        "How do I report {p}?",
        "Will I get refunded after {p}{s}?",
        "How long does a claim for {p} take?",
        "Who do I call about {p}{s}?",
        "Can you block my card after {p}?",
        "Is {p} covered by the fraud reimbursement policy{s}?",
        "What evidence do I need to dispute {p}{s}?",
    ],
    "p": [
        "an unauthorised online purchase",
        "a phishing text message scam",
        "a stolen debit card",
        "an authorised push payment scam",
        "a cloned contactless card",
        "an account takeover",
        "a fake bank phone call",
    ],
}
SUFFIXES = ["", " please", " this year", " as a member"]


def queries(theme: dict, n: int, seed: int) -> list[str]:
    """``n`` distinct questions of one theme, a seeded sample of its combinations."""
    combos = list(itertools.product(theme["templates"], theme["p"], SUFFIXES))
    texts = sorted({t.format(p=p, s=s) for t, p, s in combos})
    return random.Random(seed).sample(texts, n)


def write_queries(
    path: Path,
    texts: list[str],
    start: datetime,
    step: timedelta,
    relevant: list[bool] | None = None,
) -> None:
    """Append query-log records the way the server writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            ok = True if relevant is None else relevant[i]
            record = {
                "ts": (start + i * step).isoformat(),
                "request_id": f"req-{start:%H%M}-{i}",
                "query": text,
                "top_scores": [0.62 if ok else 0.12],
                "relevant": ok,
                "min_source_score": 0.35,
                "latency_ms": 40.0,
            }
            fh.write(json.dumps(record) + "\n")


def write_feedback(
    path: Path, ratings: list[dict], start: datetime, step: timedelta
) -> None:
    """Append feedback records (``thumbs`` or ``score``) as the server does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for i, rating in enumerate(ratings):
            if "thumbs" in rating:
                value = 1.0 if rating["thumbs"] == "up" else 0.0
            else:
                value = (rating["score"] - 1) / 4
            record = {
                "request_id": f"fb-{i}",
                "ts": (start + i * step).isoformat(),
                "satisfaction": value,
                **rating,
            }
            fh.write(json.dumps(record) + "\n")
