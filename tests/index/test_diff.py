"""The pure refresh plan: document diff, chunk plan, manifest validation."""

from __future__ import annotations

import dataclasses

import pytest

from ragtune.errors import InputError
from ragtune.tasks.index.diff import (
    diff_documents,
    fingerprint,
    plan_chunks,
    validate_manifest,
)


def test_document_diff_sorts_ids_by_fate() -> None:
    old = {"a": "1", "b": "2", "c": "3"}
    new = {"a": "1", "b": "9", "d": "4"}
    diff = diff_documents(old, new)
    assert (diff.added, diff.changed, diff.removed, diff.unchanged) == (
        ["d"],
        ["b"],
        ["c"],
        ["a"],
    )


def test_document_diff_scope_protects_documents_outside_it() -> None:
    old = {"reg/a": "1", "reg/b": "2", "price/c": "3"}
    diff = diff_documents(old, {"reg/a": "1"}, scope={"reg/a", "reg/b"})
    assert diff.removed == ["reg/b"]  # price/c is not this refresh's business


def test_chunk_plan_embeds_new_restamps_moved_and_finds_stale(kit) -> None:
    chunks, _ = kit.manifest(kit.CORPUS)
    stored = {c.chunk_id: fingerprint(c) for c in chunks}
    moved = dataclasses.replace(chunks[0], section="Renamed heading")
    new = dataclasses.replace(
        chunks[1], chunk_id="x#new", text="new", content_hash="h-new"
    )
    stale_id = chunks[2].chunk_id
    incoming = [moved, new, *chunks[3:]]
    plan = plan_chunks(incoming, stored)
    assert [c.chunk_id for c in plan.embed] == ["x#new"]
    assert [c.chunk_id for c in plan.restamp] == [moved.chunk_id]
    assert plan.stale == sorted([chunks[1].chunk_id, stale_id])
    assert plan.unchanged == len(chunks) - 3


def test_chunk_plan_only_deletes_within_deletable_documents(kit) -> None:
    chunks, _ = kit.manifest(kit.CORPUS)
    stored = {c.chunk_id: fingerprint(c) for c in chunks}
    plan = plan_chunks([], stored, deletable={"pricing/motor.md"})
    assert plan.stale == sorted(
        c.chunk_id for c in chunks if c.doc_id == "pricing/motor.md"
    )


def test_same_key_with_other_text_is_re_embedded(kit) -> None:
    chunks, _ = kit.manifest(kit.CORPUS)
    stored = {c.chunk_id: fingerprint(c) for c in chunks}
    clash = dataclasses.replace(chunks[0], text="other", content_hash="h-other")
    assert plan_chunks([clash], stored).embed == [clash]


def test_manifest_problems_are_named(kit) -> None:
    chunks, docs = kit.manifest(kit.CORPUS)
    bad_hash = dataclasses.replace(chunks[1], content_hash="0" * 64)
    with pytest.raises(InputError) as err:
        validate_manifest([chunks[0], chunks[0], bad_hash], {})
    message = str(err.value)
    assert "duplicate chunk ids" in message
    assert "documents not listed" in message
    assert "content_hash is not sha256(text)" in message
    validate_manifest(chunks, docs)  # the real manifest is fine
