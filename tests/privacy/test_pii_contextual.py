"""Dates of birth, addresses and UK bank accounts: the kinds that a pattern alone
cannot tell from a deadline, a clause number or a reference, so each is found in
realistic sentences and missed in the look-alikes documents are full of."""

from __future__ import annotations

from datetime import date

import pytest

from ragtune.tasks.privacy import PIIMatch, redact, scan
from ragtune.tasks.privacy.checksums import birth_date_valid, postcode_valid


def found(text: str, kinds=None) -> list[tuple[str, str]]:
    return [(m.kind, m.text) for m in scan(text, kinds)]


@pytest.mark.parametrize(
    ("text", "birth_date"),
    [
        ("I was born on 14 March 1985 in Leeds.", "14 March 1985"),
        ("DOB: 14/03/1985", "14/03/1985"),
        ("D.O.B. 1985-03-14, member since 2010", "1985-03-14"),
        ("date of birth March 14, 1985 and postcode", "March 14, 1985"),
        ("Her birthday is the 3rd of June 1971.", "3rd of June 1971"),
        ("Helena Marsh (b. 3 June 1971) chaired", "3 June 1971"),
        ("dob 14-03-85", "14-03-85"),
        ("Date of Birth (dd/mm/yyyy): 29/02/1984", "29/02/1984"),
        ("born 12.11.1990", "12.11.1990"),
        ("birth date 03/14/1985 (US order)", "03/14/1985"),
    ],
)
def test_date_of_birth_after_a_birth_cue(text: str, birth_date: str) -> None:
    assert ("date_of_birth", birth_date) in found(text)


def test_a_cue_names_the_first_date_after_it_in_its_sentence() -> None:
    assert found("born 12 May 1984, joined 14 March 2010") == [
        ("date_of_birth", "12 May 1984")
    ]
    assert found("I was born in SW1A 1AA on 14 March 1985") == [
        ("address", "SW1A 1AA"),
        ("date_of_birth", "14 March 1985"),
    ]
    assert found("Her birthday party. 14 March 1985 was a Thursday.") == []


@pytest.mark.parametrize(
    "text",
    [
        "The rule is effective from 1 September 2026.",
        "Complaints received before 14/03/2025 follow the old deadline.",
        "Minutes of 2021-09-16; next meeting 30 March 2023.",
        "Customers born after 1 January 1960 qualify for the bond.",
        "Customers born between 1 January 1960 and 31 December 1969 qualify.",
        "born 31/02/1985 is not a date",  # no 31 February
        "born 29/02/1985 is not a date",  # 1985 is not a leap year
        "born 1 January 1850",  # before anyone alive was born
        "DOB 1 January 2999",  # in the future
        "born in 1985",  # a year alone is not a date of birth
        "The bank was born in 1898. It changed its name on 4 May 1954.",
    ],
)
def test_ordinary_dates_are_not_dates_of_birth(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("I live at 221B Baker Street.", "221B Baker Street"),
        ("send it to 14 Acacia Avenue please", "14 Acacia Avenue"),
        (
            "Flat 3, 12 High Street, Leeds LS1 4AB",
            "Flat 3, 12 High Street, Leeds LS1 4AB",
        ),
        (
            "my address is 221B Baker Street, London NW1 6XE.",
            "221B Baker Street, London NW1 6XE",
        ),
        ("moved to 12 St Mary's Road last year", "12 St Mary's Road"),
        ("at 7 The Crescent", "7 The Crescent"),
        ("postcode SW1A 1AA", "SW1A 1AA"),
        ("EC1A 1BB is the office", "EC1A 1BB"),
        ("Manchester M1 1AE", "M1 1AE"),
        ("my postcode is sw1a 1aa", "sw1a 1aa"),
        ("W1A0AX", "W1A0AX"),
    ],
)
def test_addresses_and_postcodes(text: str, address: str) -> None:
    assert found(text, ["address"]) == [("address", address)]


@pytest.mark.parametrize(
    "text",
    [
        "Article 12 of the Act applies; see clause 7.3.2.",
        "Complaints are answered within 12 weeks.",
        "The fee is £1,250 Green bonds excluded.",
        "Rule 12.2 and Section 5 Close Brothers",
        "Section 12 Park Lane rules apply; see Clause 3 Green Way",
        "Report KB-2024 0042 and document id DOC-7731-A",
        "2022   44         Eastmere High Street, Kilnworth",  # a count in a table
        "QV1 1AA and SW1A 1CI are not postcodes",  # letters never used there
        "Sw1a1aa is a code of something else",
        "the branch on Victoria Street and Harbour House, Port Calder",
    ],
)
def test_no_address_in_references_amounts_and_clauses(text: str) -> None:
    assert found(text, ["address"]) == []


@pytest.mark.parametrize(
    ("text", "accounts"),
    [
        (
            "sort code 12-34-56 account number 12345678",
            ["12-34-56", "12345678"],
        ),
        (
            "my sort code is 123456 and account number: 87654321",
            ["123456", "87654321"],
        ),
        ("sort code and account number: 12-34-56 12345678", ["12-34-56 12345678"]),
        ("pay 20-00-00 / 55779911 today", ["20-00-00 / 55779911"]),
        ("Sort Code 40 47 84, Acc No. 70872490", ["40 47 84", "70872490"]),
        ("acc no. 12345678", ["12345678"]),
        ("a/c 12345678 please", ["12345678"]),
        ("Account: 31926819", ["31926819"]),
        ("the account number is 12345678.", ["12345678"]),
    ],
)
def test_bank_accounts_with_a_cue_or_as_a_pair(text: str, accounts: list[str]) -> None:
    assert found(text) == [("bank_account", a) for a in accounts]


@pytest.mark.parametrize(
    "text",
    [
        "ref 12345678 and order 87654321",  # eight digits without a cue
        "code 20-00-00 alone is not an account",  # a sort code shape, no account
        "call 12 34 56 78 today",
        "126,500 members and 12345678 in 2024",
        "Rule 12.2, clause 7.3.2 and amount £1,250.00",
        "account opened in 2024 with 250000 points",
    ],
)
def test_no_bank_account_without_a_cue(text: str) -> None:
    assert found(text, ["bank_account"]) == []


def test_redacting_a_question_with_every_new_kind() -> None:
    text = (
        "I'm Helena Marsh, born 14/03/1985, of 12 High Street, Leeds LS1 4AB; "
        "sort code 12-34-56, account number 12345678, NI AB 12 34 56 C."
    )
    redacted, matches = redact(text)
    assert redacted == (
        "I'm [name], born [date_of_birth], of [address]; "
        "sort code [bank_account], account number [bank_account], NI [national_id]."
    )
    assert matches[:3] == [
        PIIMatch("name", 4, 16, "Helena Marsh"),
        PIIMatch("date_of_birth", 23, 33, "14/03/1985"),
        PIIMatch("address", 38, 67, "12 High Street, Leeds LS1 4AB"),
    ]


def test_an_address_wins_over_the_given_name_inside_it() -> None:
    assert found("Write to 14 Sarah Close") == [("address", "14 Sarah Close")]


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("SW1A 1AA", True),  # AA9A
        ("EC1A1BB", True),
        ("W1A 0AX", True),  # A9A
        ("M1 1AE", True),  # A9
        ("B33 8TH", True),  # A99
        ("CR2 6XH", True),  # AA9
        ("DN55 1PT", True),  # AA99
        ("GIR 0AA", True),  # the Girobank exception
        ("QA1 1AA", False),  # Q never first
        ("AI1 1AA", False),  # I never second
        ("W1I 1AA", False),  # I never the letter of A9A
        ("EC1C 1AA", False),  # C never the letter of AA9A
        ("SW1A 1AC", False),  # C never in the inward code
        ("SW1A 1A", False),
        ("123 4AB", False),
    ],
)
def test_postcode_format(code: str, valid: bool) -> None:
    assert postcode_valid(code) is valid


def test_birth_date_is_a_past_calendar_date() -> None:
    today = date(2026, 12, 6)
    assert birth_date_valid(1984, 2, 29, today)
    assert not birth_date_valid(1985, 2, 29, today)
    assert not birth_date_valid(1985, 4, 31, today)
    assert not birth_date_valid(1899, 12, 31, today)
    assert birth_date_valid(2026, 12, 6, today)
    assert not birth_date_valid(2026, 12, 7, today)


def test_cued_kinds_win_over_a_sort_code_shape_inside_them() -> None:
    assert found("account number 12345678, NI AB 12 34 56 C") == [
        ("bank_account", "12345678"),
        ("national_id", "AB 12 34 56 C"),
    ]
    assert found("DOB 12-03-85, account number 12345678") == [
        ("date_of_birth", "12-03-85"),
        ("bank_account", "12345678"),
    ]
