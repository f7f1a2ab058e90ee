"""Check-digit and allocation rules, with published valid and invalid numbers."""

from __future__ import annotations

import pytest

from ragtune.tasks.privacy.checksums import (
    card_valid,
    iban_valid,
    luhn_valid,
    nino_valid,
    ssn_valid,
)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),  # Visa test number
        ("4111111111111112", False),  # last digit changed: Luhn fails
        ("5500000000000004", True),  # Mastercard test number
        ("378282246310005", True),  # Amex test number (15 digits)
        ("6011111111111117", True),  # Discover
        ("4222222222222", True),  # 13-digit Visa
        ("79927398713", False),  # Luhn-valid but 11 digits and prefix 7
        ("1234567812345670", False),  # Luhn-valid, prefix 1 is not a card scheme
    ],
)
def test_card_rules(number: str, valid: bool) -> None:
    assert card_valid(number) is valid


def test_luhn_reference_value() -> None:
    # The worked example of the Luhn algorithm in ISO/IEC 7812-1.
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82WEST12345698765432", True),  # ECBS example
        ("DE89370400440532013000", True),
        ("IE29AIBK93115212345678", True),
        ("NL91ABNA0417164300", True),
        ("GB82WEST12345698765433", False),  # one digit changed: mod 97 fails
        ("GB82WEST1234569876543", False),  # 21 characters, GB needs 22
        ("XX82WEST12345698765432", False),  # not a registered country
    ],
)
def test_iban_mod97_and_length(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("nino", "valid"),
    [
        ("AB123456C", True),
        ("QQ123456C", False),  # Q is never a first letter
        ("AO123456A", False),  # O is never a second letter
        ("GB123456A", False),  # prefix not allocated
        ("AB123456E", False),  # suffix must be A-D
    ],
)
def test_nino_rules(nino: str, valid: bool) -> None:
    assert nino_valid(nino) is valid


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("123456789", True),
        ("000123456", False),  # area 000
        ("666123456", False),  # area 666
        ("912345678", False),  # area 9xx
        ("123001234", False),  # group 00
        ("123450000", False),  # serial 0000
        ("078051120", False),  # voided after appearing in an advert
    ],
)
def test_ssn_rules(ssn: str, valid: bool) -> None:
    assert ssn_valid(ssn) is valid
