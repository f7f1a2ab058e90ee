"""Validation fixtures: Documents built directly, a tiny on-disk KB, a tmp project."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from ragtune.tasks.ingest.models import Document
from ragtune.tasks.validation.config import ValidationConfig

TODAY = date(2026, 11, 25)
CATEGORIES = ("domain-concept", "historical", "product-pricing", "regulatory")
TEXT = (
    "Customer due diligence applies to occasional transactions of EUR 7,500 or more, "
    "including linked operations within 30 days."
)


def make_doc(source_path: str, doc_id: str | None = None, **fields) -> Document:
    """A Document as the loader would produce it; override any field by keyword."""
    text = fields.pop("text", TEXT)
    values = {
        "doc_id": doc_id or Path(source_path).stem,
        "source_path": source_path,
        "format": "markdown",
        "title": f"Title of {source_path}",
        "text": text,
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "size_bytes": len(text.encode()),
        "category": "regulatory",
        "effective_date": date(2025, 1, 1),
        "last_reviewed": date(2026, 6, 1),
    }
    return Document(**(values | fields))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder; its gx/ context is created by the first validation."""
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def vcfg() -> ValidationConfig:
    """Defaults, minus Data Docs (rendering them costs time most tests do not need)."""
    return ValidationConfig(build_data_docs=False)


@pytest.fixture
def write_kb(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """write_kb({rel_path: content}) -> the knowledge-base folder."""

    def _write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "kb"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            path.write_bytes(data)
        return root

    return _write
