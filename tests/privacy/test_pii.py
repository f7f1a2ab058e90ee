"""scan() and redact(): what is found, what is not, and what redaction leaves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtune.errors import InputError
from ragtune.tasks.privacy import KINDS, PIIMatch, redact, scan


def found(text: str, kinds=None) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in scan(text, kinds)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "write to jane.doe+kb@example.co.uk.",
            [("email", "jane.doe+kb@example.co.uk")],
        ),
        ("card 4111 1111 1111 1111 today", [("card", "4111 1111 1111 1111")]),
        ("amex 3782 822463 10005", [("card", "3782 822463 10005")]),
        ("mc 5500-0000-0000-0004.", [("card", "5500-0000-0000-0004")]),
        (
            "pay GB82 WEST 1234 5698 7654 32 now",
            [("iban", "GB82 WEST 1234 5698 7654 32")],
        ),
        ("DE89370400440532013000", [("iban", "DE89370400440532013000")]),
        ("NI number AB 12 34 56 C", [("national_id", "AB 12 34 56 C")]),
        ("SSN 123-45-6789", [("national_id", "123-45-6789")]),
        ("ring +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
        ("ring +353 (0)1 234 5678", [("phone", "+353 (0)1 234 5678")]),
        ("ring (212) 555-0123", [("phone", "(212) 555-0123")]),
        ("ring 020 7946 0958 or", [("phone", "020 7946 0958")]),
        ("ring 07700 900123", [("phone", "07700 900123")]),
        ("Dr Amara Okafor chaired", [("name", "Dr Amara Okafor")]),
        ("signed by Helena Marsh, Chief Executive", [("name", "Helena Marsh")]),
        ("ask Ms Varga", [("name", "Ms Varga")]),
        ("NI number ab 12 34 56 c", [("national_id", "ab 12 34 56 c")]),
        ("my NI is JG103759A.", [("national_id", "JG103759A")]),
        ("ni no jg 10 37 59 a please", [("national_id", "jg 10 37 59 a")]),
    ],
)
def test_detects_each_kind(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 (Luhn fails)",
        "pay GB82 WEST 1234 5698 7654 33 (mod 97 fails)",
        "NI number QQ 12 34 56 C is the HMRC specimen",
        "SSN 666-12-3456 is never issued",
        "EUR 1,234,567.89 on 2024-01-15 under clause 1.2.3 at 15.8%",
        "Minute 2021/47: 0.5% cashback for 20,000 members; ref 1234567812345670",
        "the branch on Victoria Street and Harbour House, Port Calder",
        "Will Writing service; Grace period of 14 days",
        "year ended 31 December 2019, 968,400 members, +2.5% growth",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert scan(text) == []


def test_matches_are_sorted_and_do_not_overlap() -> None:
    text = (
        "IBAN GB82 WEST 1234 5698 7654 32, mail helena.marsh@example.com, Helena Marsh"
    )
    matches = scan(text)
    assert [m.kind for m in matches] == ["iban", "email", "name"]
    assert all(a.end <= b.start for a, b in zip(matches, matches[1:], strict=False))
    assert all(text[m.start : m.end] == m.text for m in matches)


def test_kinds_filter_and_unknown_kind() -> None:
    text = "Helena Marsh, helena@example.com"
    assert found(text, ["email"]) == [("email", "helena@example.com")]
    with pytest.raises(InputError, match="unknown PII kind.*'passport'"):
        scan(text, ["email", "passport"])


def test_redact_replaces_every_match_and_reports_it() -> None:
    text = "Dr Amara Okafor: +44 20 7946 0958, card 4111-1111-1111-1111."
    redacted, matches = redact(text)
    assert redacted == "[name]: [phone], card [card]."
    assert matches == [
        PIIMatch("name", 0, 15, "Dr Amara Okafor"),
        PIIMatch("phone", 17, 33, "+44 20 7946 0958"),
        PIIMatch("card", 40, 59, "4111-1111-1111-1111"),
    ]


def test_redact_custom_placeholder_and_clean_text() -> None:
    assert redact("mail a@b.io", placeholder="<{kind}>")[0] == "mail <email>"
    assert redact("nothing personal here") == ("nothing personal here", [])
    assert set(KINDS) == {
        "email",
        "phone",
        "iban",
        "card",
        "national_id",
        "name",
        "bank_account",
        "date_of_birth",
        "address",
    }


def test_card_followed_by_another_number_is_still_found() -> None:
    # The greedy digit run takes "... 1111 20"; the detector backs off to the
    # longest run of whole groups that passes Luhn.
    assert found("4111 1111 1111 1111 20 units") == [("card", "4111 1111 1111 1111")]


@given(st.text(alphabet="0123456789 -+()@.abcXYZ DrMsHelena", max_size=80))
@settings(max_examples=150, deadline=None)
def test_scan_invariants_on_arbitrary_text(text: str) -> None:
    matches = scan(text)
    assert all(a.end <= b.start for a, b in zip(matches, matches[1:], strict=False))
    assert all(text[m.start : m.end] == m.text for m in matches)
    redacted, _ = redact(text, placeholder="#")
    # Nothing detectable survives redaction (the placeholder itself is inert).
    assert scan(redacted) == []
