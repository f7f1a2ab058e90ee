"""Person names without a language model: honorifics and a shipped given-name list.

No spaCy English pipeline is published on PyPI (``en_core_web_sm`` is only on
GitHub releases), and ragtune installs nothing at run time, so names are found by
two documented patterns instead:

1. an honorific followed by capitalised words ("Dr Amara Okafor", "Ms Varga");
2. a given name from ``data/first_names.txt`` followed by a capitalised surname
   ("Helena Marsh"), unless that word is a place or organisation word ("Victoria
   Street", "Harbour House").

Recall is lower than a trained NER model: a surname alone, or a given name missing
from the list, is not found. The list is plain text so teams can extend it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib import resources

HONORIFICS = (
    "Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lord|Lady|Rev|Herr|Frau|Mme|Mlle"
)
_WORD = r"(?:O'|Mc|Mac)?[A-Z][a-z]+(?:-[A-Z][a-z]+)*"
_HONORIFIC_NAME = re.compile(
    rf"\b(?:{HONORIFICS})\.?[ \t]+{_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]+)?{_WORD})?\b"
)
_CAPITALISED = re.compile(rf"\b{_WORD}\b")

# Words that follow a given name in addresses and organisation names, never surnames.
_NOT_SURNAMES = frozenset(
    "Street Road Avenue Lane Square Place Way Close Court Hill Park Bridge Quay House "
    "Hall Tower Centre Center Station Gardens Green Row Terrace Drive Crescent Bank "
    "Mutual Group Fund Trust Foundation Society Limited Ltd Plc Inc Hospital School "
    "College University Church Island Bay River Valley Day Award Prize Act Rule "
    "Account Accounts Card Loan Saver Bond Mortgage Insurance Policy Report".split()
)
_GAP = re.compile(r"[ \t]+(?:[A-Z]\.[ \t]+)?")


@cache
def given_names() -> frozenset[str]:
    """The shipped given-name list (comments and blank lines skipped)."""
    text = (
        resources.files("ragtune.tasks.privacy")
        .joinpath("data/first_names.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of person names, sorted; overlapping hits are merged into one.

    Merging keeps "Dr Amara Okafor" whole when both patterns hit, and "Anna Maria
    Lindqvist" whole when two given names follow each other.
    """
    spans = sorted(
        [(m.start(), m.end()) for m in _HONORIFIC_NAME.finditer(text)]
        + list(_given_name_spans(text))
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _given_name_spans(text: str) -> Iterator[tuple[int, int]]:
    names = given_names()
    words = list(_CAPITALISED.finditer(text))
    for first, last in zip(words, words[1:], strict=False):
        if first.group() not in names or last.group() in _NOT_SURNAMES:
            continue
        if _GAP.fullmatch(text, first.end(), last.start()):
            yield first.start(), last.end()
