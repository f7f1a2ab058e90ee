"""Cut a document into retrievable chunks whose keys survive edits elsewhere.

Sections (Markdown ``#``..``###`` headings; the loader turns HTML headings into
these) are chunked independently, so an edit only re-keys chunks of the section it
touches; inside a section, so is every numbered clause (``clauses.py``), so that
each chunk holds at most one clause and records its number. Inside a block,
paragraphs are packed greedily up to ``size`` characters; a paragraph longer than
that is split into sentences, and a sentence longer than that into word runs.
Neighbouring chunks of one block share up to ``overlap`` characters of whole
sentences, so a fact cut at a boundary is still retrievable.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from ragtune.tasks.index.clauses import clause_at, split_at_clauses
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.validity import NONE, DocValidity
from ragtune.tasks.ingest.models import Document

_HEADING = re.compile(r"^(#{1,3})[ \t]+(\S.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PARAGRAPH_SEP = "\n\n"
_SENTENCE_SEP = " "


@dataclass(frozen=True)
class Section:
    """A heading (empty for text before the first heading) and the text under it."""

    title: str
    text: str


@dataclass(frozen=True)
class _Unit:
    """A piece no longer than the chunk size; ``sep`` joins it to the piece before."""

    text: str
    sep: str


def chunk_document(
    doc: Document,
    category: str,
    cfg: ChunkingConfig,
    data_hash: str,
    validity: DocValidity = NONE,
) -> list[Chunk]:
    """Chunks of one document, in reading order, with stable content-derived keys.

    Args:
        doc: The extracted document.
        category: Its freshness class, stored on every chunk for filtering.
        cfg: Size, overlap and whether to split at headings and clauses.
        data_hash: DVC hash of the knowledge base the document came from.
        validity: What later documents closed or amended in this one
            (``validity.derive_validity``); decides each chunk's last day in force.

    Returns:
        The chunks; empty when the document has no text. ``chunk_id`` is
        ``doc_id#sha256(text)[:16]`` with ``~n`` added to the n-th repeat of a text.
    """
    pieces: list[tuple[str, str, str]] = []
    for section in split_sections(doc.text, by_heading=cfg.by_heading):
        blocks = split_clauses(section.text) if cfg.by_clause else [("", section.text)]
        for clause, text in blocks:
            pieces += [(section.title, clause, t) for t in split_section(text, cfg)]
    seen: Counter[str] = Counter()
    chunks = []
    for ordinal, (title, clause, text) in enumerate(pieces):
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        repeat = seen[digest]
        seen[digest] += 1
        suffix = f"~{repeat}" if repeat else ""
        until, superseded_by, amended_by = validity.for_chunk(clause, doc.valid_until)
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{digest[:16]}{suffix}",
                doc_id=doc.doc_id,
                ordinal=ordinal,
                text=text,
                content_hash=digest,
                source_path=doc.source_path,
                title=doc.title,
                section=title,
                category=category,
                effective_date=doc.effective_date,
                valid_until=until,
                data_hash=data_hash,
                clause=clause,
                superseded_by=superseded_by,
                amended_by=amended_by,
            )
        )
    return chunks


def split_clauses(text: str) -> list[tuple[str, str]]:
    """A section's text cut before every clause marker: ``(clause, text)`` blocks.

    Text before the first marker is a block of clause ""; a block of nothing but
    titles (heading lines, or a short line such as ``Rule 12.2: Early contact``
    with no sentence in it) is carried into the block after it, which keeps its
    own clause number: a title alone is no chunk. Without markers the section
    comes back whole.
    """
    blocks: list[tuple[str, list[str]]] = []
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        for piece in split_at_clauses(paragraph.strip()):
            number = clause_at(piece)
            titles_only = blocks and all(_is_title(p) for p in blocks[-1][1])
            if blocks and not number:
                blocks[-1][1].append(piece)
            elif titles_only:
                blocks[-1] = (number, [*blocks[-1][1], piece])
            else:
                blocks.append((number, [piece]))
    if len(blocks) <= 1:
        return [(blocks[0][0] if blocks else "", text)] if text.strip() else []
    return [(number, _PARAGRAPH_SEP.join(parts)) for number, parts in blocks]


def _is_title(piece: str) -> bool:
    """A heading, or one short line that holds no sentence."""
    lines = piece.splitlines()
    if all(_HEADING.match(line) for line in lines):
        return True
    return (
        len(lines) == 1
        and len(piece) <= 100
        and not piece.rstrip().endswith((".", "!", "?", ";"))
    )


def split_sections(text: str, *, by_heading: bool = True) -> list[Section]:
    """Split at ``#``..``###`` heading lines outside fenced code blocks.

    The heading line stays at the top of its section's text, so it is embedded with
    the words it introduces. A heading with nothing under it (``# Policy`` directly
    followed by ``## Scope``) is carried into the next section instead of becoming a
    chunk of its own.
    """
    if not by_heading:
        return [Section("", text.strip())] if text.strip() else []
    sections: list[Section] = []
    title, lines, in_fence = "", [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and _has_body(lines):
            sections.append(Section(title, "\n".join(lines).strip()))
            lines = []
        if match:
            title = match.group(2).strip()
        lines.append(line)
    if "\n".join(lines).strip():
        sections.append(Section(title, "\n".join(lines).strip()))
    return sections


def _has_body(lines: list[str]) -> bool:
    """True when ``lines`` hold text other than headings and blank lines."""
    return any(line.strip() and not _HEADING.match(line) for line in lines)


def split_section(text: str, cfg: ChunkingConfig) -> list[str]:
    """Pack one section's text into chunks of at most ``cfg.size`` characters."""
    units = _units(text, cfg.size)
    chunks: list[str] = []
    current: list[_Unit] = []
    for unit in units:
        if current and _length(current + [unit]) > cfg.size:
            chunks.append(_join(current))
            current = _overlap(current, cfg.overlap)
            if current and _length(current + [unit]) > cfg.size:
                current = []
        current.append(_Unit(unit.text, unit.sep if current else ""))
    if current:
        chunks.append(_join(current))
    return chunks


def _units(text: str, size: int) -> list[_Unit]:
    """Paragraphs, or the sentences and word runs of paragraphs that are too long."""
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        pieces = [paragraph] if len(paragraph) <= size else _sentences(paragraph, size)
        units.append(_Unit(pieces[0], _PARAGRAPH_SEP))
        units += [_Unit(p, _SENTENCE_SEP) for p in pieces[1:]]
    return units


def _sentences(paragraph: str, size: int) -> list[str]:
    """Sentences of a paragraph; a sentence over ``size`` becomes word runs."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if len(sentence) <= size:
            out.append(sentence)
        else:
            out += _word_runs(sentence, size)
    return out


def _word_runs(sentence: str, size: int) -> list[str]:
    """Greedy runs of whole words; a single word over ``size`` is cut hard."""
    runs: list[str] = []
    current = ""
    for word in sentence.split():
        while len(word) > size:
            if current:
                runs.append(current)
                current = ""
            runs.append(word[:size])
            word = word[size:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= size:
            current = candidate
        else:
            runs.append(current)
            current = word
    if current:
        runs.append(current)
    return runs


def _overlap(units: list[_Unit], overlap: int) -> list[_Unit]:
    """The trailing sentences of a finished chunk that fit in ``overlap`` chars.

    Falls back to the last ``overlap`` characters cut at a word boundary when the
    final sentence alone is longer than that.
    """
    if overlap <= 0:
        return []
    sentences = [s for u in units for s in _SENTENCE_END.split(u.text) if s]
    tail: list[str] = []
    for sentence in reversed(sentences):
        if len(" ".join([sentence, *tail])) > overlap:
            break
        tail.insert(0, sentence)
    if not tail:
        words = sentences[-1][-overlap:].split(" ", 1) if sentences else []
        tail = [words[-1]] if len(words) == 2 and words[-1] else []
    return [_Unit(" ".join(tail), "")] if tail else []


def _length(units: list[_Unit]) -> int:
    return len(_join(units))


def _join(units: list[_Unit]) -> str:
    return "".join((u.sep if i else "") + u.text for i, u in enumerate(units))
