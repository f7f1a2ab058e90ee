"""What a refresh has to do: pure comparisons of the incoming manifest with the
index's current rows. No I/O here, so every case is a plain unit test."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ragtune.errors import InputError
from ragtune.tasks.index.schema import Chunk

# Columns that, with the text (via content_hash), decide whether a stored row is
# still right. data_hash is left out on purpose: it records the knowledge-base
# version a chunk was last written from, and including it would rewrite every row
# on every refresh.
FINGERPRINT_COLUMNS = (
    "doc_id",
    "ordinal",
    "content_hash",
    "source_path",
    "title",
    "section",
    "category",
    "effective_date",
    "valid_until",
    "clause",
    "superseded_by",
    "amended_by",
)


def fingerprint(chunk: Chunk) -> tuple:
    """The tuple ``tables.read_fingerprints`` gives for a row written from ``chunk``."""
    return tuple(getattr(chunk, name) for name in FINGERPRINT_COLUMNS)


@dataclass(frozen=True)
class DocumentDiff:
    """Document ids by what happened to them since the index was last written."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]


@dataclass(frozen=True)
class ChunkPlan:
    """Row work for one refresh.

    ``embed``: chunks with no row of the same key and text (need a vector).
    ``restamp``: chunks whose text is stored but whose metadata moved (ordinal,
    section, category, ...): rewritten with their stored vector, never re-embedded.
    ``stale``: stored chunk ids of in-scope documents that the manifest no longer has.
    ``unchanged``: chunks already stored exactly as given (not touched at all).
    """

    embed: list[Chunk]
    restamp: list[Chunk]
    stale: list[str]
    unchanged: int


def diff_documents(
    old: Mapping[str, str],
    new: Mapping[str, str],
    scope: Collection[str] | None = None,
) -> DocumentDiff:
    """Compare ``doc_id -> content_hash`` maps.

    Args:
        old: What the index holds.
        new: The documents being refreshed.
        scope: Doc ids this refresh speaks for; documents outside it that are
            missing from ``new`` are left alone. None: ``new`` is the whole corpus.

    Returns:
        Sorted id lists.
    """
    in_scope = set(old) if scope is None else set(scope) & set(old)
    return DocumentDiff(
        added=sorted(d for d in new if d not in old),
        changed=sorted(d for d in new if d in old and old[d] != new[d]),
        removed=sorted(in_scope - set(new)),
        unchanged=sorted(d for d in new if d in old and old[d] == new[d]),
    )


def plan_chunks(
    chunks: Sequence[Chunk],
    stored: Mapping[str, tuple],
    *,
    deletable: Collection[str] | None = None,
) -> ChunkPlan:
    """Sort incoming chunks into embed / restamp / unchanged, and find stale rows.

    Args:
        chunks: The full manifest for the documents being refreshed.
        stored: ``chunk_id -> fingerprint`` of the rows in the table.
        deletable: Doc ids whose stored chunks may be deleted; None means all.

    Returns:
        The plan. A stored row whose doc id is outside ``deletable`` is never stale.
    """
    hash_at = FINGERPRINT_COLUMNS.index("content_hash")
    doc_at = FINGERPRINT_COLUMNS.index("doc_id")
    embed, restamp, unchanged = [], [], 0
    for chunk in chunks:
        row = stored.get(chunk.chunk_id)
        if row is None or row[hash_at] != chunk.content_hash:
            embed.append(chunk)
        elif row != fingerprint(chunk):
            restamp.append(chunk)
        else:
            unchanged += 1
    keep = {c.chunk_id for c in chunks}
    allowed = None if deletable is None else set(deletable)
    stale = sorted(
        cid
        for cid, row in stored.items()
        if cid not in keep and (allowed is None or row[doc_at] in allowed)
    )
    return ChunkPlan(embed=embed, restamp=restamp, stale=stale, unchanged=unchanged)


def validate_manifest(chunks: Sequence[Chunk], documents: Mapping[str, str]) -> None:
    """Refuse a manifest that would corrupt the index, naming every problem.

    Raises:
        InputError: duplicate chunk ids, chunks of documents not in ``documents``,
            or a ``content_hash`` that is not the sha256 of the chunk text.
    """
    problems: list[str] = []
    dupes = sorted(k for k, n in Counter(c.chunk_id for c in chunks).items() if n > 1)
    if dupes:
        problems.append(f"duplicate chunk ids: {', '.join(dupes[:5])}")
    orphans = sorted({c.doc_id for c in chunks if c.doc_id not in documents})
    if orphans:
        problems.append(f"chunks of documents not listed: {', '.join(orphans[:5])}")
    bad = [
        c.chunk_id
        for c in chunks
        if hashlib.sha256(c.text.encode("utf-8")).hexdigest() != c.content_hash
    ]
    if bad:
        problems.append(f"content_hash is not sha256(text) for: {', '.join(bad[:5])}")
    if problems:
        raise InputError("refusing to refresh the index: " + "; ".join(problems))
