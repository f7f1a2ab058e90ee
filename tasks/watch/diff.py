"""What changed between two versions of a document, in terms a compliance officer
reads: lines added and removed, sections (Markdown headings) touched, numbers and
dates changed, amendment and effective-date language.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import PurePosixPath

from ragtune.tasks.ingest.formats import extract_html, extract_pdf
from ragtune.tasks.ingest.problems import FileProblem
from ragtune.tasks.watch.models import DiffSummary

MONTHS = (
    "january february march april may june july august september october "
    "november december"
).split()
_MONTH = "|".join(MONTHS)
DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)? (?P<mn>{_MONTH}),? (?P<y>\d{{4}})\b", re.I
    ),
    re.compile(
        rf"\b(?P<mn>{_MONTH}) (?P<d>\d{{1,2}})(?:st|nd|rd|th)?,? (?P<y>\d{{4}})\b", re.I
    ),
)
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s?%)?")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
PREVIEW_LINES = 6
PREVIEW_CHARS = 160


def document_text(rel: str, raw: bytes) -> str:
    """The text a diff is taken over: PDFs and HTML through the ingest
    extractors (so the diff is over what gets indexed), other files as UTF-8."""
    suffix = PurePosixPath(rel).suffix.lower()
    try:
        if suffix == ".pdf":
            return extract_pdf(raw).text
        if suffix in (".html", ".htm"):
            return extract_html(raw.decode("utf-8", errors="replace")).text
    except FileProblem:
        return ""  # unreadable: the diff shows the whole file as replaced
    return raw.decode("utf-8", errors="replace")


def find_dates(text: str) -> list[date]:
    """Every calendar date written as ISO, '1 July 2026' or 'July 1, 2026', in
    the order they appear."""
    found: list[tuple[int, date]] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            groups = m.groupdict()
            month = int(groups["m"]) if groups.get("m") else None
            if month is None:
                month = MONTHS.index(m["mn"].lower()) + 1
            try:
                found.append((m.start(), date(int(m["y"]), month, int(m["d"]))))
            except ValueError:
                continue
    return [d for _, d in sorted(found, key=lambda item: item[0])]


def _without_dates(text: str) -> str:
    for pattern in DATE_PATTERNS:
        text = pattern.sub(" ", text)
    return text


def _numbers(lines: Sequence[str]) -> Counter[str]:
    return Counter(
        n.replace(" ", "")
        for line in lines
        for n in NUMBER.findall(_without_dates(line))
    )


def _term_counts(lines: Sequence[str], terms: Sequence[str]) -> Counter[str]:
    text = "\n".join(lines).lower()
    return Counter(
        {
            t: len(re.findall(rf"(?<!\w){re.escape(t.lower())}(?!\w)", text))
            for t in terms
        }
    )


def _sym_diff(a: Counter, b: Counter) -> int:
    return sum(((a - b) + (b - a)).values())


def effective_date(text: str, effective_terms: Sequence[str]) -> date | None:
    """The first date written within 60 characters after an effective-date
    phrase (or the ``effective_date:`` front-matter key), in text order."""
    if not effective_terms:
        return None
    phrases = "|".join(
        re.escape(t) for t in sorted(effective_terms, key=len, reverse=True)
    )
    for m in re.finditer(rf"(?<!\w)(?:{phrases})(?!\w)", text, re.I):
        dates = find_dates(text[m.end() : m.end() + 60])
        if dates:
            return dates[0]
    return None


def sections_touched(
    old: list[str], new: list[str], opcodes: list[tuple[str, int, int, int, int]]
) -> tuple[str, ...]:
    """Sections holding a changed line (the heading above it, and headings that
    are themselves added or removed), in order of first appearance."""
    touched: dict[str, None] = {}
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        for lines, start, stop in ((new, j1, j2), (old, i1, i2)):
            if stop > start:
                touched[_heading_at(lines, start)] = None
                for line in lines[start:stop]:
                    if m := HEADING.match(line):
                        touched[m.group(2)] = None
    return tuple(touched)


def _heading_at(lines: list[str], index: int) -> str:
    for line in reversed(lines[: index + 1]):
        m = HEADING.match(line)
        if m:
            return m.group(2)
    return "(before the first heading)"


def summarize_diff(
    old_text: str,
    new_text: str,
    amendment_terms: Sequence[str],
    effective_terms: Sequence[str],
) -> DiffSummary:
    """Compare two versions line by line (blank lines ignored in the counts)."""
    old, new = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    opcodes = matcher.get_opcodes()
    removed = [
        old[i] for t, i1, i2, _, _ in opcodes if t != "equal" for i in range(i1, i2)
    ]
    added = [
        new[j] for t, _, _, j1, j2 in opcodes if t != "equal" for j in range(j1, j2)
    ]
    removed = [line for line in removed if line.strip()]
    added = [line for line in added if line.strip()]
    term_old = _term_counts(removed, amendment_terms)
    term_new = _term_counts(added, amendment_terms)
    changed_terms = sorted(t for t in amendment_terms if term_old[t] != term_new[t])
    return DiffSummary(
        lines_added=len(added),
        lines_removed=len(removed),
        sections_touched=sections_touched(old, new, opcodes),
        numbers_changed=_sym_diff(_numbers(removed), _numbers(added)),
        dates_changed=_sym_diff(
            Counter(find_dates("\n".join(removed))),
            Counter(find_dates("\n".join(added))),
        ),
        amendment_terms=tuple(changed_terms),
        amendment_changes=sum(abs(term_new[t] - term_old[t]) for t in changed_terms),
        effective_language=_effective_changed(removed, added, effective_terms),
        effective_date=effective_date(new_text, effective_terms),
        preview=_preview(removed, added),
    )


def _effective_changed(
    removed: list[str], added: list[str], effective_terms: Sequence[str]
) -> bool:
    """An added line dates when something takes effect (an effective-date
    phrase and a date), and either the phrase or the date was not there before:
    "effective controls" is no date, a typo beside an unchanged date no change."""
    old_dates = set(find_dates("\n".join(removed)))
    term_old = _term_counts(removed, effective_terms)
    for line in added:
        terms = _term_counts([line], effective_terms)
        dates = set(find_dates(line))
        if not any(terms.values()) or not dates:
            continue
        if any(terms[t] > term_old[t] for t in terms) or dates - old_dates:
            return True
    return False


def _preview(removed: list[str], added: list[str]) -> tuple[str, ...]:
    lines = [f"- {x.strip()}" for x in removed[: PREVIEW_LINES // 2]]
    lines += [f"+ {x.strip()}" for x in added[: PREVIEW_LINES - len(lines)]]
    return tuple(line[:PREVIEW_CHARS] for line in lines)
