"""write_manifest: the DVC stage output is byte-identical for the same documents."""

from __future__ import annotations

import json
from pathlib import Path

from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.manifest import (
    MANIFEST_FIELDS,
    manifest_record,
    write_manifest,
)


def test_manifest_is_deterministic_and_complete(good_kb: Path, tmp_path: Path) -> None:
    docs = load_knowledge_base(good_kb, DataConfig()).documents
    first = write_manifest(docs, tmp_path / "a" / "manifest.json")
    second = write_manifest(tuple(reversed(docs)), tmp_path / "b" / "manifest.json")

    assert first.read_bytes() == second.read_bytes()
    payload = json.loads(first.read_text(encoding="utf-8"))
    assert payload["n_documents"] == 4
    records = {r["doc_id"]: r for r in payload["documents"]}
    assert [r["source_path"] for r in payload["documents"]] == sorted(
        d.source_path for d in docs
    )
    aml = records["aml-policy"]
    assert aml["format"] == "markdown"
    assert aml["category"] == "regulatory"
    assert (aml["effective_date"], aml["last_reviewed"]) == ("2025-01-01", "2025-12-04")
    assert aml["valid_until"] is None
    assert aml["n_chars"] == len(docs[0].text)
    assert aml["content_hash"] == docs[0].content_hash
    assert "text" not in aml  # DVC versions the sources; the manifest stays small


def test_manifest_fields_match_records(good_kb: Path) -> None:
    doc = load_knowledge_base(good_kb, DataConfig()).documents[0]
    assert tuple(manifest_record(doc)) == MANIFEST_FIELDS


def test_rewrite_leaves_no_partial_file(good_kb: Path, tmp_path: Path) -> None:
    docs = load_knowledge_base(good_kb, DataConfig()).documents
    path = write_manifest(docs, tmp_path / "manifest.json")
    write_manifest(docs[:1], path)

    assert json.loads(path.read_text(encoding="utf-8"))["n_documents"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb", "manifest.json"]
