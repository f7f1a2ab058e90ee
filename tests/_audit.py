"""The project's audit log as ragtune itself opens it (keyed and anchored), so a
test's ``verify()`` checks what an operator's ``ragtune audit verify`` checks."""

from __future__ import annotations

from pathlib import Path

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings, load_settings
from ragtune.audit import AuditLog


def project_audit(project: Path | Settings) -> AuditLog:
    """The audit log of the project whose params.yaml is ``project``, or of settings."""
    settings = project if isinstance(project, Settings) else load_settings(project)
    return Catalog.from_settings(settings).audit()
