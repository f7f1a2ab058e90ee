"""Chunking: headings, size limits, overlap, stable keys and determinism."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragtune.tasks.index.chunking import chunk_document, split_section, split_sections
from ragtune.tasks.index.config import ChunkingConfig

CFG = ChunkingConfig(size=120, overlap=30)


def _chunks(kit, text: str, cfg: ChunkingConfig = CFG, doc_id: str = "d.md"):
    return chunk_document(kit.make_document(doc_id, text), "regulatory", cfg, "kb-1")


def test_headings_split_sections_and_name_them(kit) -> None:
    text = "Preamble text.\n\n# Scope\n\nWho is covered.\n\n## Fees\n\nFees are 5 EUR."
    chunks = _chunks(kit, text)
    assert [(c.section, c.text) for c in chunks] == [
        ("", "Preamble text."),
        ("Scope", "# Scope\n\nWho is covered."),
        ("Fees", "## Fees\n\nFees are 5 EUR."),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2]


def test_empty_heading_joins_the_next_section_and_fences_are_not_headings() -> None:
    text = (
        "# Policy\n## Scope\nCovered.\n```\n# comment in code\n```\n#### Minor\nMore."
    )
    sections = split_sections(text)
    # "# Policy" has no body of its own; "#### Minor" is below the split depth;
    # the "#" line inside the code fence is code.
    assert [s.title for s in sections] == ["Scope"]
    assert sections[0].text.startswith("# Policy\n## Scope")


def test_by_heading_off_keeps_one_section() -> None:
    assert len(split_sections("# A\n\nx\n\n# B\n\ny", by_heading=False)) == 1


def test_long_text_is_cut_at_sentences_with_sentence_overlap() -> None:
    sentences = [f"Rule {i} applies to every policy sold." for i in range(12)]
    cfg = ChunkingConfig(size=120, overlap=45)  # one ~39-char sentence fits
    pieces = split_section(" ".join(sentences), cfg)
    assert len(pieces) > 1
    assert all(len(p) <= cfg.size for p in pieces)
    for before, after in zip(pieces, pieces[1:], strict=False):
        shared = after.split(". ")[0] + "."
        # the next chunk opens with the last whole sentence of the one before
        assert shared.startswith("Rule ") and len(shared) <= cfg.overlap
        assert before.endswith(shared)


def test_overlap_falls_back_to_words_when_a_sentence_is_too_long() -> None:
    sentences = [f"Rule {i} applies to every policy sold." for i in range(12)]
    pieces = split_section(" ".join(sentences), CFG)  # overlap 30 < sentence
    for before, after in zip(pieces, pieces[1:], strict=False):
        head = after.split(". ")[0] + "."
        assert before.endswith(" " + head) and len(head) <= CFG.overlap


def test_a_word_longer_than_the_chunk_is_cut_hard() -> None:
    pieces = split_section("x" * 300, ChunkingConfig(size=100, overlap=0))
    assert pieces == ["x" * 100] * 3


def test_chunk_ids_hash_the_text_and_number_repeats(kit) -> None:
    text = "# Fees\n\nFees are 5 EUR.\n\n# Fees\n\nFees are 5 EUR."
    first, second = _chunks(kit, text)
    digest = hashlib.sha256(first.text.encode()).hexdigest()
    assert first.content_hash == digest
    assert first.chunk_id == f"d.md#{digest[:16]}"
    assert second.chunk_id == f"d.md#{digest[:16]}~1"


def test_edit_in_one_section_keeps_the_other_sections_keys(kit) -> None:
    base = "# A\n\n" + "Alpha text. " * 20 + "\n\n# B\n\nBeta text.\n\n# C\n\nGamma."
    edited = base.replace("Beta text.", "Beta text, amended in 2025.")
    before = {c.section: c.chunk_id for c in _chunks(kit, base)}
    after_chunks = _chunks(kit, edited)
    after = {c.section: c.chunk_id for c in after_chunks}
    assert before["A"] == after["A"] and before["C"] == after["C"]
    assert before["B"] != after["B"]


def test_metadata_comes_from_the_document_and_arguments(kit) -> None:
    [chunk] = _chunks(kit, "Only line.", doc_id="pricing/motor.md")
    assert (chunk.doc_id, chunk.source_path, chunk.title) == (
        "pricing/motor.md",
        "pricing/motor.md",
        "motor.md",
    )
    assert (chunk.category, chunk.data_hash) == ("regulatory", "kb-1")


def test_blank_document_has_no_chunks(kit) -> None:
    assert _chunks(kit, "  \n\n ") == []


_WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
_SENTENCE = st.lists(_WORDS, min_size=1, max_size=15).map(lambda w: " ".join(w) + ".")
_PARAGRAPH = st.lists(_SENTENCE, min_size=1, max_size=6).map(" ".join)
_SECTION = st.tuples(st.sampled_from(["", "# ", "## ", "### "]), _WORDS, _PARAGRAPH)


@settings(max_examples=60, deadline=None)
@given(
    sections=st.lists(_SECTION, min_size=1, max_size=5),
    size=st.integers(60, 300),
    overlap=st.integers(0, 50),
)
def test_chunking_properties(kit, sections, size, overlap) -> None:
    text = "\n\n".join(
        f"{mark}{title}\n\n{body}" if mark else body for mark, title, body in sections
    )
    cfg = ChunkingConfig(size=size, overlap=overlap)
    chunks = _chunks(kit, text, cfg)
    assert all(0 < len(c.text) <= size for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    # nothing is lost: every word of the document is in some chunk
    chunk_words = {w for c in chunks for w in c.text.split()}
    assert set(text.split()) <= chunk_words
    # deterministic
    assert _chunks(kit, text, cfg) == chunks


@pytest.mark.parametrize("overlap", [0, 25])
def test_paragraphs_are_packed_whole_when_they_fit(overlap) -> None:
    paragraphs = [f"Paragraph {i} is short." for i in range(6)]
    cfg = ChunkingConfig(size=70, overlap=overlap)
    pieces = split_section("\n\n".join(paragraphs), cfg)
    for paragraph in paragraphs:
        assert any(paragraph in piece for piece in pieces)
