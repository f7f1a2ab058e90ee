"""The cheap label checks, case by case (no GX, no files)."""

from __future__ import annotations

import re

import pytest

from ragtune.tasks.dataset.config import DEFAULT_REFUSALS
from ragtune.tasks.dataset.label_quality import answer_body, is_truncated, problems_of
from ragtune.tasks.dataset.language import guess_language, language_mismatch
from ragtune.tasks.dataset.records import normalise

REFUSALS = [re.compile(p, re.IGNORECASE) for p in DEFAULT_REFUSALS]
SOURCE = "\nSource: Capital ratios explained [capital-ratios-explained]"


@pytest.mark.parametrize(
    ("response", "truncated"),
    [
        ("The leverage ratio is Tier 1 capital over exposures." + SOURCE, False),
        ("EUR 61.4 million in 2019." + SOURCE, False),
        ("Key points:\n- One.\n- Two." + SOURCE, False),
        ("The leverage ratio is Tier 1 capital divided by" + SOURCE, True),
        ("Members paid in between EUR 10 and" + SOURCE, True),
        ("It rose sharply, (see the table" + SOURCE, True),
        ("The board approved the closure of six branches in" + SOURCE, True),
        ("Conditions attached to the approval:" + SOURCE, True),
        ("The outage lasted seven hours and affected card payments" + SOURCE, True),
        ("Yes" + SOURCE, False),  # short and complete
    ],
)
def test_truncation(response: str, truncated: bool) -> None:
    assert is_truncated(response) is truncated


def test_answer_body_drops_only_the_source_line() -> None:
    assert answer_body("A.\nB." + SOURCE) == "A.\nB."


@pytest.mark.parametrize(
    ("instruction", "response", "expected"),
    [
        ("What is the APR?", "", ["empty"]),
        ("What is the APR?", SOURCE.strip(), ["empty"]),
        ("What is the APR?", "I'm sorry, but I cannot help with that.", ["refusal"]),
        ("What is the APR?", "As an AI language model, APR is a rate.", ["refusal"]),
        (
            "What does the leverage ratio measure for the bank?",
            "Le ratio de levier mesure le capital de base par rapport aux expositions.",
            ["language_mismatch"],
        ),
        ("What is the APR?", "The yearly cost of borrowing with fees.", []),
    ],
)
def test_problems_of(instruction: str, response: str, expected: list[str]) -> None:
    example = normalise({"instruction": instruction, "response": response}, "t.jsonl")
    assert problems_of(example, REFUSALS) == expected


def test_language_guess_stays_quiet_on_short_or_numeric_text() -> None:
    assert guess_language("EUR 61.4 million in 2019.") is None
    assert (
        guess_language("What was the base rate in June 2021 for the society?") == "en"
    )
    assert language_mismatch("CET1?", "Le capital de base.") is None
