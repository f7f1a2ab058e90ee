"""Find and redact personal data in free text: one API for datasets and serving.

Every detector is a pattern plus, where the identifier has one, its published
validity rule (Luhn for cards, ISO 13616 mod-97 for IBANs, HMRC and SSA allocation
rules for national ids), so that amounts, dates, clause numbers and references are
not reported. Identifiers with no self-contained check digit (UK sort codes and
account numbers) or that look like any other date (a date of birth) are reported
only after the words that say what they are ("sort code", "account number",
"born", "DOB"). Postcodes follow the Royal Mail format; street addresses need a
house number and a street word. Overlaps are resolved in favour of the more
specific kind: an e-mail wins over a name inside it, an IBAN over the digits inside
it, an address over the given name in "14 Sarah Close".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from ragtune.errors import InputError
from ragtune.tasks.privacy.checksums import (
    IBAN_LENGTHS,
    birth_date_valid,
    card_valid,
    iban_valid,
    nino_valid,
    postcode_valid,
    ssn_valid,
)
from ragtune.tasks.privacy.names import find_names

# Order is the tie-break when two detectors claim the same characters: the kinds
# with a check digit or a cue first (an NI number's "12 34 56" is not a sort code,
# nor "DOB 12-03-85" one), then phone numbers, addresses and names.
KINDS: tuple[str, ...] = (
    "email",
    "iban",
    "national_id",
    "date_of_birth",
    "bank_account",
    "card",
    "phone",
    "address",
    "name",
)
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d)")
# Any case ("ab 12 34 56 c" is typed too): the HMRC rules below judge the letters.
_NINO = re.compile(r"(?i)\b[A-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]\b")
_SSN = re.compile(r"(?<![\w.-])\d{3}([- ])\d{2}\1\d{4}(?![\w-]|[.,]\d)")
# +CC then groups; an optional "(0)" trunk prefix as written in the UK and Ireland.
_PHONE_INTL = re.compile(
    r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){1,6}"
    r"(?![\w]|[.,]\d)"
)
# North American: (212) 555-0123, 212-555-0123, 212.555.0123.
_PHONE_NANP = re.compile(
    r"(?<![\w.-])(?:\([2-9]\d{2}\)[ ]?|[2-9]\d{2}([-.]))\d{3}(?(1)\1|[-.])\d{4}"
    r"(?![\w]|[.,-]\d)"
)
# National numbers with a trunk 0: 020 7946 0958, 01632 960123, 07700-900123.
_PHONE_TRUNK = re.compile(
    r"(?<![\w.,/+-])0\d{1,4}(?:[ -]?\d{2,4}){1,3}(?![\w]|[.,/-]\d)"
)

# A cue names the first value after it, within reach and in the same sentence (a
# full stop ends one, the dot of "jane.doe" or "1.5" does not): "sort code and
# account number: 12-34-56 12345678", but not the date of "born 12 May 1984,
# joined 14 March 2010" that comes second.
_CUE_REACH = 40
_PAIR_REACH = 30
_SAME_SENTENCE = re.compile(r"(?:[^.;!?\n]|\.(?=\S))*")

# UK sort code NN-NN-NN or NN NN NN (NNNNNN only after a cue), not a piece of a
# longer run of digit groups such as a phone number.
_SORT_CODE = re.compile(
    r"(?<![\w.,/-])(?<!\d[ -])\d{2}(?P<sep>[- ]?)\d{2}(?P=sep)\d{2}"
    r"(?![\w]|[.,/-]\d)(?!(?P=sep)\d{1,4}(?!\d))"
)
_ACCOUNT_NUMBER = re.compile(r"(?<![\w.,/-])\d{8}(?![\w]|[.,/-]\d)")
_SORT_CODE_CUES = ((re.compile(r"(?i)\bsort[ -]?codes?\b"), _CUE_REACH),)
_ACCOUNT_CUES = (
    (
        re.compile(
            r"(?i)\b(?:account|acct|acc)\b\.?[ \t]*(?:number|num\b\.?|no\b\.?|#)"
            r"|\ba/c\b(?:[ \t]*no\b\.?)?"
        ),
        _CUE_REACH,
    ),
    # "account" alone names only the number right after it: "Account: 31926819".
    (re.compile(r"(?i)\baccount\b[ \t]*:?[ \t]*"), 0),
)
_JOINED = re.compile(r"[ \t,/]{0,3}")

# Dates: 14/03/1985 (or 03/14/1985), 1985-03-14, 14 March 1985, March 14th, 1985.
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|"
    "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_MONTH_STARTS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DATE_NUMERIC = re.compile(
    r"(?<![\w./-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)"
    r"(?P<y>\d{4}|\d{2})(?![\w]|[./-]\d)"
)
_DATE_ISO = re.compile(
    r"(?<![\w./-])(?P<y>\d{4})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?![\w]|[./-]\d)"
)
_DATE_WRITTEN = re.compile(
    rf"(?i)\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+(?P<m1>{_MONTHS})"
    rf"\.?,?|(?P<m2>{_MONTHS})\.?[ \t]+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?)"
    r"[ \t]+(?P<y>\d{4})\b"
)
_BIRTH_CUES = (
    (
        re.compile(
            r"(?i)\bborn\b|\bd\.?o\.?b\b\.?|\bdate[ \t]+of[ \t]+birth\b"
            r"|\bbirth[ \t]*date\b|\bbirthday\b"
        ),
        _CUE_REACH,
    ),
    # "b." (born) only right before its date: "Helena Marsh (b. 3 June 1971)".
    (re.compile(r"(?<![\w.])b\.[ \t]?"), 0),
)
# "born after 1 January 1960" states a rule's threshold, not someone's birthday.
_THRESHOLD = re.compile(
    r"(?i)\b(?:before|after|between|since|from|until|and|prior[ \t]+to)[ \t]+"
    r"(?:the[ \t]+)?$"
)

# A house number (and flat), capitalised words, a street word: "Flat 3, 12 High
# Street", "221B Baker Street". Not after a currency sign, clause dot or comma of an
# amount, so "£1,250 Green" or "7.3 Park Road" are not addresses; one space between
# the words, so a count in a table column ("44    Eastmere High Street") is not one.
_STREET_WORDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Crescent|Cres|Way|Place|Pl|"
    "Terrace|Gardens|Gdns|Court|Ct|Square|Sq|Grove|Mews|Row|Hill|Walk|Parade|Park|"
    "Rise|Green|Vale|View|Quay|Wharf|Yard|Boulevard|Embankment|Circus|Gate"
)
_STREET_ADDRESS = re.compile(
    r"(?<![\w.,/£$€-])(?:(?:Flat|Apartment|Apt|Unit|Suite)\.?[ \t]+\d{1,4}[A-Za-z]?,?"
    r"[ \t]+)?\d{1,4}[A-Za-z]?(?:-\d{1,4}[A-Za-z]?)?,?[ ]"
    r"(?:[A-Z][A-Za-z'’]*(?:-[A-Z][A-Za-z'’]*)*[ ]){1,3}?"
    rf"(?:{_STREET_WORDS})\b"
)
# "Section 12 Park Lane rules", "Clause 3 Green Way": a reference, not a house.
_REFERENCE_BEFORE = re.compile(
    r"(?i)\b(?:section|sections|clause|clauses|article|rule|schedule|part|chapter"
    r"|paragraph|para|regulation|reg|annex|appendix|table|figure|fig|step|item"
    r"|page|note|tier|level|stage|phase|version)\.?[ \t]+$"
)
_POSTCODE = re.compile(r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}\b")
# Between a street and its postcode: up to two place names ("London", "Marylebone,
# London"), so "221B Baker Street, London NW1 6XE" is one address.
_TOWN_REACH = 50
_TOWN_GAP = re.compile(
    r",?\s+(?:[A-Z][A-Za-z'’-]+(?:[ \t]+[A-Z][A-Za-z'’-]+){0,2},?\s+){0,2}"
)


@dataclass(frozen=True)
class PIIMatch:
    """One piece of personal data: its kind and where it sits (``text[start:end]``)."""

    kind: str
    start: int
    end: int
    text: str


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    """Take exactly the registered length, so a following word is not swallowed."""
    for m in _IBAN.finditer(text):
        expected = IBAN_LENGTHS.get(m.group()[:2])
        if expected is None:
            continue
        kept, end = 0, m.start()
        for index in range(m.start(), m.end()):
            if text[index] != " ":
                kept += 1
                end = index + 1
            if kept == expected:
                break
        if kept == expected and iban_valid(text[m.start() : end].replace(" ", "")):
            yield m.start(), end


def _cards(text: str) -> Iterator[tuple[int, int]]:
    """Try the whole run of digit groups, then shorter runs ending at a separator."""
    for m in _CARD.finditer(text):
        candidate = m.group()
        if " " in candidate and "-" in candidate:
            continue
        cuts = [i for i, c in enumerate(candidate) if c in " -"] + [len(candidate)]
        for cut in reversed(cuts):
            if card_valid(_digits(candidate[:cut])):
                yield m.start(), m.start() + cut
                break


def _national_ids(text: str) -> Iterator[tuple[int, int]]:
    for m in _NINO.finditer(text):
        if nino_valid(m.group().replace(" ", "")):
            yield m.start(), m.end()
    for m in _SSN.finditer(text):
        if ssn_valid(_digits(m.group())):
            yield m.start(), m.end()


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for m in _PHONE_INTL.finditer(text):
        if 8 <= len(_digits(m.group().replace("(0)", ""))) <= 15:
            yield m.start(), m.end()
    for m in _PHONE_NANP.finditer(text):
        yield m.start(), m.end()
    for m in _PHONE_TRUNK.finditer(text):
        if 10 <= len(_digits(m.group())) <= 11:
            yield m.start(), m.end()


def _next(
    text: str, end: int, candidates: list[tuple[int, int]], reach: int
) -> tuple[int, int] | None:
    """The first of the sorted ``candidates`` starting at or after ``end``, when it
    starts within ``reach`` characters and in the same sentence."""
    index = bisect_left(candidates, (end, end))
    if index == len(candidates):
        return None
    start = candidates[index][0]
    if start - end > reach or not _SAME_SENTENCE.fullmatch(text, end, start):
        return None
    return candidates[index]


def _named(
    text: str,
    cues: tuple[tuple[re.Pattern[str], int], ...],
    candidates: list[tuple[int, int]],
) -> set[tuple[int, int]]:
    """The candidates some cue names (see ``_next``)."""
    return {
        found
        for cue, reach in cues
        for m in cue.finditer(text)
        if (found := _next(text, m.end(), candidates, reach)) is not None
    }


def _bank_accounts(text: str) -> Iterator[tuple[int, int]]:
    """Sort codes and account numbers said to be one, or written as a pair.

    Neither has a check digit that works alone (Vocalink's modulus checks need
    its weight table per sort-code range, which changes and is not shipped), so
    six or eight digits alone are never reported: a sort code
    after "sort code", an account number after "account number", "acc no" or
    "a/c", and eight digits after a sort code (NN-NN-NN, or named). A code and
    number written together come back as one span.
    """
    codes = sorted(m.span() for m in _SORT_CODE.finditer(text))
    numbers = sorted(m.span() for m in _ACCOUNT_NUMBER.finditer(text))
    named_codes = _named(text, _SORT_CODE_CUES, codes)
    pairs = {
        (code, number)
        for code in codes
        if code in named_codes or not text[code[0] : code[1]].isdigit()
        if (number := _next(text, code[1], numbers, _PAIR_REACH)) is not None
    }
    spans = named_codes | _named(text, _ACCOUNT_CUES, numbers)
    spans |= {span for pair in pairs for span in pair}
    return _join(text, sorted(spans))


def _join(text: str, spans: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Spans separated by at most a comma, slash or spaces, as one span."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and _JOINED.fullmatch(text, merged[-1][1], start):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return iter(merged)


def _year(digits: str) -> int:
    """A two-digit year in the most recent century that does not lie ahead."""
    if len(digits) == 4:
        return int(digits)
    this_year = date.today().year
    year = 2000 + int(digits)
    return year if year <= this_year else year - 100


def _month(name: str) -> int:
    """1-12 for a month name or abbreviation ("Sept" included)."""
    return _MONTH_STARTS.index(name[:3].lower()) + 1


def _dates(text: str) -> dict[tuple[int, int], bool]:
    """Every date-shaped span, and whether it is a possible birth date (a real
    calendar date, day or month first, not in the future)."""
    shapes: dict[tuple[int, int], bool] = {}
    for m in _DATE_NUMERIC.finditer(text):
        year, a, b = _year(m["y"]), int(m["a"]), int(m["b"])
        shapes[m.span()] = birth_date_valid(year, b, a) or birth_date_valid(year, a, b)
    for m in _DATE_ISO.finditer(text):
        shapes[m.span()] = birth_date_valid(int(m["y"]), int(m["m"]), int(m["d"]))
    for m in _DATE_WRITTEN.finditer(text):
        day, month = (m["d1"], m["m1"]) if m["d1"] else (m["d2"], m["m2"])
        shapes[m.span()] = birth_date_valid(int(m["y"]), _month(month), int(day))
    return shapes


def _dates_of_birth(text: str) -> Iterator[tuple[int, int]]:
    """The date a birth cue ("born", "DOB", "date of birth", "birthday", "b.")
    names, when it is a valid past date. Any other date (an effective date, a
    deadline) is not personal data, and "born after 1 January 1960" is a rule,
    not a birthday."""
    shapes = _dates(text)
    for start, end in sorted(_named(text, _BIRTH_CUES, sorted(shapes))):
        threshold = _THRESHOLD.search(text, max(0, start - 30), start)
        if shapes[(start, end)] and threshold is None:
            yield start, end


def _addresses(text: str) -> Iterator[tuple[int, int]]:
    """Street addresses and UK postcodes; a street followed by its town and
    postcode is one address (the longer span wins in ``scan``)."""
    streets = [
        m.span()
        for m in _STREET_ADDRESS.finditer(text)
        if not _REFERENCE_BEFORE.search(text, max(0, m.start() - 16), m.start())
    ]
    codes = [m.span() for m in _POSTCODE.finditer(text) if _postcode(m.group())]
    yield from streets
    yield from codes
    for start, street_end in streets:
        for code_start, end in codes:
            if 0 <= code_start - street_end <= _TOWN_REACH and _TOWN_GAP.fullmatch(
                text, street_end, code_start
            ):
                yield start, end


def _postcode(candidate: str) -> bool:
    """Capitals as printed, or lower case with the space typed: "sw1a 1aa" yes,
    "Sw1a1aa" no (mixed case and run together is a code of something else)."""
    written = candidate.isupper() or (candidate.islower() and " " in candidate)
    return written and postcode_valid(candidate)


_DETECTORS = {
    "email": _emails,
    "iban": _ibans,
    "national_id": _national_ids,
    "date_of_birth": _dates_of_birth,
    "bank_account": _bank_accounts,
    "card": _cards,
    "phone": _phones,
    "address": _addresses,
    "name": find_names,
}

# What makes a later value personal data, per kind, and how far after it that value
# may start; _VALUE_CHARS is the longest value ("14th of September 1985",
# "12-34-56 / 12345678", a postcode).
_CUES: dict[str, tuple[tuple[re.Pattern[str], int], ...]] = {
    "date_of_birth": _BIRTH_CUES,
    "bank_account": (*_SORT_CODE_CUES, *_ACCOUNT_CUES, (_SORT_CODE, _PAIR_REACH)),
    "address": ((_STREET_ADDRESS, _TOWN_REACH),),
}
_VALUE_CHARS = 30


def cue_spans(text: str, kinds: Iterable[str] | None = None) -> list[tuple[int, int]]:
    """From each cue in ``text`` to as far as the value it names may end.

    A stream filter must not send a cue ("born", "sort code", a street before its
    postcode) ahead of the text after it: the value, seen without its cue, would
    no longer be reported. Spans run to the end of ``text`` at most.
    """
    return [
        (m.start(), min(len(text), m.end() + reach + _VALUE_CHARS))
        for kind in _check_kinds(kinds)
        for cue, reach in _CUES.get(kind, ())
        for m in cue.finditer(text)
    ]


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    chosen = tuple(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in _RANK]
    if unknown:
        raise InputError(
            f"unknown PII kind(s) {', '.join(map(repr, unknown))}; "
            f"known kinds: {', '.join(KINDS)}"
        )
    return chosen


def scan(text: str, kinds: Iterable[str] | None = None) -> list[PIIMatch]:
    """Personal data in ``text``, sorted by position and never overlapping.

    Args:
        text: Any free text (a document, an SFT field, a model answer).
        kinds: Detectors to run (default: all of ``KINDS``); an unknown kind is an
            ``InputError`` so a typo cannot silently switch a detector off.

    Returns:
        Matches in text order. Where detectors overlap, the earlier kind in
        ``KINDS`` wins, then the longer span.
    """
    candidates = [
        PIIMatch(kind, start, end, text[start:end])
        for kind in _check_kinds(kinds)
        for start, end in _DETECTORS[kind](text)
    ]
    candidates.sort(key=lambda m: (_RANK[m.kind], m.start - m.end, m.start))
    kept: list[PIIMatch] = []
    for match in candidates:
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)


def redact(
    text: str, kinds: Iterable[str] | None = None, placeholder: str = "[{kind}]"
) -> tuple[str, list[PIIMatch]]:
    """Replace each match with ``placeholder`` (``{kind}`` is filled in).

    Returns:
        The redacted text and the matches found in the original, so a report can
        say what was removed without keeping a second copy of the data.
    """
    matches = scan(text, kinds)
    parts: list[str] = []
    cursor = 0
    for match in matches:
        parts.append(text[cursor : match.start])
        parts.append(placeholder.format(kind=match.kind))
        cursor = match.end
    parts.append(text[cursor:])
    return "".join(parts), matches
