"""Validity rules that turn "looks like a number" into "is a real identifier".

Pattern matching alone flags every 16-digit reference as a card number; the
published check-digit and allocation rules below cut those false positives to the
few numbers that happen to satisfy them (1 in 10 for Luhn, 1 in 97 for IBAN).
"""

from __future__ import annotations

from datetime import date

# ISO 13616 IBAN lengths per country, from the SWIFT IBAN registry. A country that is
# not listed is not detected: guessing its length would let any code-like string in.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# Issuer identification number prefixes of the card schemes (ISO/IEC 7812): Visa 4,
# Mastercard 51-55 and 2221-2720, Amex 34/37, Diners 30/36/38/39, Discover and
# UnionPay 6, JCB 35, Maestro 50/56-58. Numbers starting 1, 7, 8, 9 or 0 are not
# payment cards, so a Luhn-valid account reference starting with them is ignored.
CARD_PREFIXES = ("2", "3", "4", "5", "6")

# HMRC National Insurance number rules (NIM39110): letters never used in the first
# or second position, and prefixes that are not allocated.
_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}

# UK postcode format (Royal Mail; UK Government Data Standards Catalogue, BS 7666):
# letters barred from each position of the outward code and from the inward unit.
_POSTCODE_BAD_FIRST = set("QVX")
_POSTCODE_BAD_SECOND = set("IJZ")
_POSTCODE_THIRD = set("ABCDEFGHJKPSTUW")  # the letter of A9A outward codes
_POSTCODE_FOURTH = set("ABEHMNPRVWXY")  # the letter of AA9A outward codes
_POSTCODE_BAD_UNIT = set("CIKMOV")
_POSTCODE_SPECIAL = {"GIR0AA"}  # Girobank, the one code outside the format

# Nobody alive was born before this year; a later year than today's is not a birth.
EARLIEST_BIRTH_YEAR = 1900

# Social Security numbers the SSA voided after they were printed in advertising.
_SSN_VOIDED = {"078051120", "219099999"}


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 check digit: double every second digit from the right."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_valid(digits: str) -> bool:
    """A payment card number: 13-19 digits, a scheme prefix and the Luhn digit."""
    return (
        13 <= len(digits) <= 19
        and digits.startswith(CARD_PREFIXES)
        and luhn_valid(digits)
    )


def iban_valid(compact: str) -> bool:
    """ISO 13616: registered country length and ISO 7064 mod-97 remainder of 1."""
    compact = compact.upper()
    if len(compact) < 5 or not compact.isalnum():
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def nino_valid(compact: str) -> bool:
    """UK National Insurance number: two letters, six digits, suffix A-D."""
    compact = compact.upper()
    if len(compact) != 9 or not compact[2:8].isdigit() or compact[8] not in "ABCD":
        return False
    first, second = compact[0], compact[1]
    return (
        first.isalpha()
        and second.isalpha()
        and first not in _NINO_BAD_FIRST
        and second not in _NINO_BAD_SECOND
        and compact[:2] not in _NINO_BAD_PREFIXES
    )


def ssn_valid(digits: str) -> bool:
    """US Social Security number allocation rules (SSA, since 2011 randomisation).

    Area 000, 666 and 900-999 are never issued; group 00 and serial 0000 neither.
    """
    if len(digits) != 9 or not digits.isdigit() or digits in _SSN_VOIDED:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in {"000", "666"}
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


def postcode_valid(compact: str) -> bool:
    """A UK postcode in the Royal Mail format: outward code A9, A99, A9A, AA9, AA99
    or AA9A, then the inward code 9AA, with the letters each position never uses.

    The format is checked, not the Postcode Address File: a well-formed code that
    was never allocated is still reported (it cannot be told from a real one).
    """
    compact = compact.upper().replace(" ", "")
    if compact in _POSTCODE_SPECIAL:
        return True
    if not 5 <= len(compact) <= 7:
        return False
    outward, inward = compact[:-3], compact[-3:]
    if not (inward[0].isdigit() and inward[1:].isalpha()):
        return False
    if set(inward[1:]) & _POSTCODE_BAD_UNIT:
        return False
    return _outward_valid(outward)


def _outward_valid(outward: str) -> bool:
    if not outward[0].isalpha() or outward[0] in _POSTCODE_BAD_FIRST:
        return False
    rest = outward[1:]
    if rest[:1].isalpha():  # AA9, AA99, AA9A
        if rest[0] in _POSTCODE_BAD_SECOND:
            return False
        rest = rest[1:]
        fourth = _POSTCODE_FOURTH
    else:  # A9, A99, A9A
        fourth = _POSTCODE_THIRD
    if rest.isdigit():
        return 1 <= len(rest) <= 2
    return len(rest) == 2 and rest[0].isdigit() and rest[1] in fourth


def birth_date_valid(
    year: int, month: int, day: int, today: date | None = None
) -> bool:
    """A real calendar date (no 31 April, 29 February only in leap years) between
    ``EARLIEST_BIRTH_YEAR`` and ``today``: a birth date cannot lie in the future."""
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return EARLIEST_BIRTH_YEAR <= year and born <= (today or date.today())
