"""Split extracted document text into headed sections and sentences.

The loaders keep markdown headings (``## ...``), plain-text files use ALL-CAPS
headings, and PDF text has short title lines between hard-wrapped paragraphs; one
splitter reads all three so template generation works on every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_CAPS_HEADING = re.compile(r"^[A-Z0-9][A-Z0-9 ,'()&:/-]{3,80}$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_TABLE_ROW = re.compile(r"^\|?[^|]+(\|[^|]*)+\|?$")
_NUMBER = re.compile(r"\d")
_CLOSERS = (".", "!", "?", '."', ".)", '?"')


def _is_table_row(line: str) -> bool:
    """A pipe row, or a short PDF row with figures in two or more cells.

    Wrapped PDF prose lines are long (about 90 characters) and end mid-sentence
    without a full stop too, so length tells them apart from table rows.
    """
    if _TABLE_ROW.match(line):
        return True
    numeric = sum(1 for token in line.split() if _NUMBER.search(token))
    return numeric >= 2 and len(line) < 75 and not line.endswith(".")


@dataclass(frozen=True)
class Section:
    """A heading and the prose under it (table rows and list items dropped)."""

    heading: str
    text: str

    def sentences(self) -> list[str]:
        """Whole sentences only: fragments left by tables and lists are dropped."""
        parts = (s.strip() for s in _SENTENCE_END.split(self.text))
        return [s for s in parts if s.endswith(_CLOSERS)]

    def summary(self, max_chars: int = 400) -> str:
        """Leading whole sentences up to ``max_chars`` (at least one sentence)."""
        kept: list[str] = []
        for sentence in self.sentences():
            if kept and len(" ".join([*kept, sentence])) > max_chars:
                break
            kept.append(sentence)
        return " ".join(kept)


def _heading_of(line: str, next_line: str) -> str | None:
    if m := _MD_HEADING.match(line):
        return m.group(1).strip()
    if _CAPS_HEADING.match(line) and any(c.isalpha() for c in line):
        return line.strip().capitalize()
    # PDF: a short line with no closing punctuation followed by a longer line.
    short_title = (
        len(line) <= 60
        and line[:1].isupper()
        and not line.endswith((".", ",", ":", ";"))
        and (len(next_line) > len(line) or _is_table_row(next_line))
        and not _NUMBER.search(line)
        and "|" not in line
    )
    return line.strip() if short_title and len(line.split()) <= 8 else None


def split_sections(text: str, title: str) -> list[Section]:
    """Sections in document order; text before the first heading goes under
    ``title``. Table rows and bullet lines are left out of the prose."""
    lines = [line.strip() for line in text.splitlines()]
    sections: list[Section] = []
    heading, body = title, []
    for index, line in enumerate(lines):
        if not line:
            body.append("")
            continue
        following = next((n for n in lines[index + 1 :] if n), "")
        found = _heading_of(line, following)
        if found is not None:
            sections.append(Section(heading, _prose(body)))
            heading, body = found, []
        elif not _is_table_row(line) and not line.startswith(("-", "*", "(")):
            body.append(line)
    sections.append(Section(heading, _prose(body)))
    return [s for s in sections if s.text]


def _prose(lines: list[str]) -> str:
    """Join hard-wrapped lines into paragraphs, paragraphs into one text."""
    paragraphs = " ".join(line if line else "\n" for line in lines).split("\n")
    return " ".join(" ".join(p.split()) for p in paragraphs if p.strip())
