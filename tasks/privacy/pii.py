"""Find and redact personal data in free text: one API for datasets and serving.

Every detector is a pattern plus, where the identifier has one, its published
validity rule (Luhn for cards, ISO 13616 mod-97 for IBANs, HMRC and SSA allocation
rules for national ids), so that amounts, dates, clause numbers and references are
not reported. Overlaps are resolved in favour of the more specific kind: an e-mail
wins over a name inside it, an IBAN over the digits inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ragtune.errors import InputError
from ragtune.tasks.privacy.checksums import (
    IBAN_LENGTHS,
    card_valid,
    iban_valid,
    nino_valid,
    ssn_valid,
)
from ragtune.tasks.privacy.names import find_names

# Order is the tie-break when two detectors claim the same characters.
KINDS: tuple[str, ...] = ("email", "iban", "card", "national_id", "phone", "name")
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d)")
_NINO = re.compile(r"\b[A-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]\b")
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


_DETECTORS = {
    "email": _emails,
    "iban": _ibans,
    "card": _cards,
    "national_id": _national_ids,
    "phone": _phones,
    "name": find_names,
}


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
