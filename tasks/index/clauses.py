"""Clause markers: where a numbered rule starts in a document's text.

Regulations and policies are amended clause by clause ("clause 2.3 now reads"),
so the index keeps each clause in chunks of its own and records its number: an
amendment that names a clause can then close exactly that clause's chunks and
leave the rest of the document in force.

A marker is a clause number at the start of a line or sentence, as the sample
formats write them: ``**Clause 2.3 Final response.**``, ``**16.2.2** The
maximum...``, ``7.3.2 The representative APR...``, ``Rule 12.2: Early contact``.
A bare number needs two levels (``3.1``) and a capital letter or ``**`` after it,
so amounts (``1.5 million``) and list items (``1. Scope``) are not clauses; with a
keyword (Clause, Article, Section, Rule) one level is enough, and so it is for a
numbered title line in capitals (``3. TEMPORARY HIGH BALANCES``), the way plain
text notices number their sections.
"""

from __future__ import annotations

import re

_NUMBER = r"\d+(?:\.\d+)*(?:\([a-z0-9]{1,3}\))?"
_KEYWORD = r"(?:Clause|Article|Art\.|Section|Rule|Regulation|§)"
_MARKER = re.compile(
    rf"""^[ \t>]*(?:\#{{1,6}}[ \t]+)?(?:\*\*|__)?[ \t]*
    (?:
        {_KEYWORD}[ \t]+(?P<kw>{_NUMBER})(?=[.:)*]|[ \t]+[A-Z(*]|[ \t]*$)
      | (?P<bare>\d+(?:\.\d+)+(?:\([a-z0-9]{{1,3}}\))?)
        (?:\.|:)?(?:\*\*|__)?[ \t]+(?=[A-Z(*])
      | (?P<caps>\d{{1,3}})\.[ \t]+(?=[A-Z][A-Z0-9 ,'&/()-]*(?:\n|$))
    )""",
    re.VERBOSE,
)
# A marker that starts a line, or a sentence inside a line, inside a paragraph:
# the paragraph is split there so that the clause starts a chunk of its own.
_INNER_START = re.compile(r"(?:(?<=[.!?;])[ \t]+|\n)(?=\S)")


def clause_at(text: str) -> str:
    """The clause number ``text`` starts with ("" if it starts with none)."""
    match = _MARKER.match(text)
    if match is None:
        return ""
    return match.group("kw") or match.group("bare") or match.group("caps")


def split_at_clauses(paragraph: str) -> list[str]:
    """``paragraph`` cut before every clause marker that starts a line or a
    sentence inside it; the pieces keep their text exactly (joined by the
    whitespace that was cut, they give the paragraph back)."""
    pieces: list[str] = []
    start = 0
    for match in _INNER_START.finditer(paragraph):
        cut = match.end()
        if cut > start and clause_at(paragraph[cut:]):
            piece = paragraph[start : match.start()].strip()
            if piece:
                pieces.append(piece)
            start = cut
    rest = paragraph[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def clauses_in(text: str) -> set[str]:
    """Every clause number some line or sentence of ``text`` starts with."""
    found = set()
    for paragraph in re.split(r"\n[ \t]*\n+", text):
        for piece in split_at_clauses(paragraph.strip()):
            number = clause_at(piece)
            if number:
                found.add(number)
    return found


def parent_clause(number: str) -> str | None:
    """``3.1(b)`` -> ``3.1``; ``16.2.2`` -> ``16.2``; ``3`` -> None."""
    if number.endswith(")") and "(" in number:
        return number[: number.rindex("(")]
    if "." in number:
        return number.rsplit(".", 1)[0]
    return None
