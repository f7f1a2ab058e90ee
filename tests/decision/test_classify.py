"""Gap type: declared first, else documented keyword and pattern votes."""

from __future__ import annotations

import pytest

from ragtune.tasks.decision.classify import classify_gap


def test_declared_type_wins_over_the_words(kit) -> None:
    gap = kit.make_gap(
        gap_type="capability",
        description="Return the current rates as JSON in the house style.",
    )
    result = classify_gap(gap)
    assert (result.gap_type, result.source) == ("capability", "declared")
    assert result.reason == "declared in GAPS.yaml"


@pytest.mark.parametrize(
    ("description", "examples", "expected"),
    [
        (
            "Answers must always return JSON matching the claims schema, with no "
            "prose around it.",
            ["Give me the claim summary for case 88."],
            "style-format",
        ),
        (
            "Members use our jargon and acronyms; the model misreads the internal "
            "terminology.",
            ["What does LTV stand for?"],
            "vocabulary",
        ),
        (
            "Triage each incoming message and route it to the right team.",
            ["Which team should handle a stolen card?"],
            "capability",
        ),
        (
            "Members need today's savings rates; the rate sheet changes weekly.",
            ["What is the latest bonus on the Harbour Saver?"],
            "current-facts",
        ),
        (
            "Auditors look up what the board minutes and the annual report say, "
            "with the source cited.",
            ["According to the 2021 annual report, how many branches closed?"],
            "document-retrieval",
        ),
    ],
)
def test_rules_pick_the_type_with_a_reason(
    kit, description: str, examples: list[str], expected: str
) -> None:
    result = classify_gap(kit.make_gap(description=description, examples=examples))
    assert result.gap_type == expected
    assert result.source == "rules"
    assert result.votes[expected] == max(result.votes.values()) > 0
    assert "vote(s) from" in result.reason


def test_description_outweighs_one_example(kit) -> None:
    # description: vocabulary ("jargon", 2 votes); example: current ("today", 1)
    gap = kit.make_gap(description="Staff jargon.", examples=["Is it open today?"])
    result = classify_gap(gap)
    assert result.gap_type == "vocabulary"
    assert result.votes == {
        "current-facts": 1,
        "document-retrieval": 0,
        "style-format": 0,
        "vocabulary": 2,
        "capability": 0,
    }


def test_tie_goes_to_the_knowledge_type_by_precedence(kit) -> None:
    gap = kit.make_gap(description="The latest glossary.", examples=["Hello?"])
    result = classify_gap(gap)
    assert result.votes["current-facts"] == result.votes["vocabulary"] == 2
    assert result.gap_type == "current-facts"
    assert "tied with vocabulary, broken by precedence" in result.reason


def test_no_vote_falls_back_to_document_retrieval(kit) -> None:
    gap = kit.make_gap(description="Something is missing.", examples=["Hmm?"])
    result = classify_gap(gap)
    assert (result.gap_type, result.source) == ("document-retrieval", "default")
    assert "RAG-first default" in result.reason
