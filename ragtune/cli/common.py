"""Steps several commands share: loading and validating the knowledge base."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only when used
    from ragtune.tasks.validation.models import ValidationReport


def reports_dir(settings: Settings) -> Path:
    """Where reports of CLI runs are written (under the state folder)."""
    return Catalog.from_settings(settings).reports_dir


def load_and_validate(
    settings: Settings, kb_path: Path | None = None, today: date | None = None
) -> ValidationReport:
    """Load the knowledge base and run the Great Expectations document checks."""
    from ragtune.tasks.ingest.loader import load_knowledge_base
    from ragtune.tasks.validation.documents import validate_documents

    kb = kb_path or settings.path(settings.data.kb_path)
    loaded = load_knowledge_base(kb, settings.data)
    return validate_documents(
        loaded.documents,
        loaded.rejected,
        settings.validation,
        allowed_categories=settings.freshness.classes,
        today=today or date.today(),
        project_root=settings.root,
    )
