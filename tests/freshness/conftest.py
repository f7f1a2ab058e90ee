"""Local fixtures: a Document factory and the default freshness config."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import pytest

from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.ingest.models import Document

TODAY = date(2026, 3, 1)


def make_doc(
    doc_id: str,
    text: str,
    *,
    title: str = "",
    path: str | None = None,
    category: str | None = None,
    effective: date | None = None,
    reviewed: date | None = None,
    valid_until: date | None = None,
) -> Document:
    """A Document as the loader would produce it, with only what a test needs."""
    return Document(
        doc_id=doc_id,
        source_path=path or f"misc/{doc_id}.md",
        format="markdown",
        title=title or doc_id.replace("-", " "),
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        size_bytes=len(text.encode()),
        category=category,
        effective_date=effective,
        last_reviewed=reviewed,
        valid_until=valid_until,
    )


@pytest.fixture
def doc() -> Callable[..., Document]:
    return make_doc


@pytest.fixture(scope="session")
def cfg() -> FreshnessConfig:
    return FreshnessConfig()


@pytest.fixture(scope="session")
def today() -> date:
    return TODAY
