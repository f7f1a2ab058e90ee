"""The output filter: PII and deny terms out of whole answers and of streams, with
the real detectors of tasks/privacy/pii.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ragtune.tasks.privacy import KINDS
from ragtune.tasks.serving.config import DEFAULT_PII_KINDS, ServingConfig
from ragtune.tasks.serving.output_filter import REMOVED, OutputFilter

CARD = "4111 1111 1111 1111"  # Visa test number, passes Luhn
IBAN = "GB82 WEST 1234 5698 7654 32"  # the ISO 13616 example, passes mod-97
EMAIL = "jane.doe@example.com"
ANSWER = (
    f"Pay with card {CARD} or transfer to {IBAN}; questions to {EMAIL}. "
    "Our Project Falcon launch is secret. Clause 14.3 applies from 2026-01-01 "
    "and the fee is EUR 1,250.00 a year."
)


@pytest.fixture(scope="module")
def out_filter() -> OutputFilter:
    return OutputFilter(["Project Falcon"], DEFAULT_PII_KINDS)


def test_whole_answer_loses_pii_and_deny_terms_but_keeps_facts(
    out_filter: OutputFilter,
) -> None:
    result = out_filter.apply(ANSWER)
    for secret in (CARD, IBAN, EMAIL, "Project Falcon"):
        assert secret not in result.text
    assert result.removed == {"card": 1, "iban": 1, "email": 1, "deny_term": 1}
    assert REMOVED in result.text and "[card]" in result.text
    # Numbers that are not personal data survive: clause, date, amount.
    for fact in ("Clause 14.3", "2026-01-01", "EUR 1,250.00"):
        assert fact in result.text


def test_deny_terms_match_whole_words_in_any_case(out_filter: OutputFilter) -> None:
    result = out_filter.apply("PROJECT FALCON and project falconry")
    assert result.text == f"{REMOVED} and project falconry"


def test_an_invalid_card_number_is_not_redacted(out_filter: OutputFilter) -> None:
    text = "Reference 4111 1111 1111 1112 fails the Luhn check."
    result = out_filter.apply(text)
    assert (result.text, result.removed) == (text, {})


def _stream(out_filter: OutputFilter, pieces: list[str], holdback: int = 64) -> str:
    rolling = out_filter.stream(holdback)
    return "".join(rolling.feed(p) for p in pieces) + rolling.finish()


def test_card_number_split_across_chunks_is_caught(out_filter: OutputFilter) -> None:
    pieces = ["Your card is 4111 11", "11 1111 ", "1111, thanks"]
    rolling = out_filter.stream(32)
    sent = [rolling.feed(p) for p in pieces] + [rolling.finish()]
    assert "".join(sent) == "Your card is [card], thanks"
    assert all("4111" not in s and "1111" not in s for s in sent)
    assert dict(rolling.removed) == {"card": 1}


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=40))
def test_stream_output_equals_whole_answer_filter_for_any_split(cuts) -> None:
    out_filter = OutputFilter(["Project Falcon"], DEFAULT_PII_KINDS)
    bounds = [0, *sorted(cuts), len(ANSWER)]
    pieces = [ANSWER[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert _stream(out_filter, pieces) == out_filter.apply(ANSWER).text


def test_one_character_pieces_hold_nothing_back_for_good(
    out_filter: OutputFilter,
) -> None:
    rolling = out_filter.stream(40)
    early = "".join(rolling.feed(c) for c in ANSWER)
    assert 0 < len(early) < len(ANSWER)  # text flows before the end of the stream
    assert early + rolling.finish() == out_filter.apply(ANSWER).text


def test_holdback_shorter_than_a_deny_term_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="longest deny term"):
        ServingConfig(deny_terms=["x" * 40], stream_holdback_chars=32)


def test_unknown_pii_kind_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="unknown PII kind"):
        ServingConfig(pii_kinds=["emails"])
    with pytest.raises(ValidationError, match="unknown PII kind.*names"):
        ServingConfig(query_log_pii_kinds=["names"])


def test_query_log_redacts_every_kind_by_default_answers_keep_names() -> None:
    cfg = ServingConfig()
    assert cfg.query_log_pii_kinds == list(KINDS)
    assert "name" in cfg.query_log_pii_kinds and "name" not in cfg.pii_kinds


# Kinds that need a cue ("born", "sort code") or a postcode after the street.
PERSONAL = (
    "Helena Marsh, born on 14 March 1985, lives at Flat 3, 12 High Street, Leeds "
    "LS1 4AB. Her sort code and account number: 12-34-56 12345678; NI AB 12 34 56 "
    "C. The policy is effective from 1 September 2026 under clause 7.3.2."
)


@settings(max_examples=80, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(PERSONAL)), max_size=40))
def test_stream_never_judges_a_value_without_its_cue(cuts) -> None:
    out_filter = OutputFilter([], list(KINDS))
    whole = out_filter.apply(PERSONAL).text
    assert whole == (
        "[name], born on [date_of_birth], lives at [address]. Her sort code and "
        "account number: [bank_account]; NI [national_id]. The policy is effective "
        "from 1 September 2026 under clause 7.3.2."
    )
    bounds = [0, *sorted(cuts), len(PERSONAL)]
    pieces = [PERSONAL[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert _stream(out_filter, pieces) == whole
