"""The document manifest: one JSON record per validated Document.

It is the output of the DVC ``validate`` stage, so it must be byte-for-byte the
same for the same documents: no timestamps, sorted keys, a fixed record order.
Texts are left out (DVC already versions the knowledge base); ``content_hash``
ties each record to the exact bytes it was extracted from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ragtune.atomic import write_atomic
from ragtune.tasks.ingest.models import Document

MANIFEST_VERSION = 1
# Column order of the manifest frame used by validation; tests keep it in step.
MANIFEST_FIELDS = (
    "doc_id", "source_path", "format", "title", "category", "effective_date",
    "last_reviewed", "valid_until", "amends", "content_hash", "size_bytes", "n_chars",
)  # fmt: skip


def manifest_record(doc: Document) -> dict[str, Any]:
    """The manifest fields of one Document (dates as ISO strings or null)."""
    return {
        "doc_id": doc.doc_id,
        "source_path": doc.source_path,
        "format": doc.format,
        "title": doc.title,
        "category": doc.category,
        "effective_date": _iso(doc.effective_date),
        "last_reviewed": _iso(doc.last_reviewed),
        "valid_until": _iso(doc.valid_until),
        "amends": doc.amends,
        "content_hash": doc.content_hash,
        "size_bytes": doc.size_bytes,
        "n_chars": len(doc.text),
    }


def write_manifest(documents: Iterable[Document], path: Path) -> Path:
    """Write the manifest of ``documents`` to ``path`` (parents created).

    Records are ordered by source path, then doc_id, whatever order the
    documents come in, so reruns do not produce spurious DVC changes.

    Returns:
        ``path``.
    """
    records = sorted(
        (manifest_record(d) for d in documents),
        key=lambda r: (r["source_path"], r["doc_id"]),
    )
    payload = {
        "manifest_version": MANIFEST_VERSION,
        "n_documents": len(records),
        "documents": records,
    }
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
    return write_atomic(path, text + "\n")  # readers never see half a manifest


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
