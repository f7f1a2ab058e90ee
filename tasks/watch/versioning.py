"""Pin the knowledge base after the watcher changed it: ``dvc add`` + push when
the folder is DVC-tracked, otherwise the DVC hash it would get (recorded in the
audit log and the events, so the version used downstream is still named)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ragtune.tasks.versioning import data_hash, track_and_push

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataVersion:
    """The knowledge base's content hash and how it is kept."""

    data_hash: str
    tracked_by: str  # "dvc": added and pushed; "hash": computed only
    dvc_file: str | None = None


def _dvc_root(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def version_data(kb_root: Path, remote_name: str) -> DataVersion:
    """Record the knowledge base's new content.

    Raises:
        InputError / ConfigError: from ``track_and_push`` when the folder is
            tracked but cannot be added or the remote cannot take the push.
    """
    kb = Path(kb_root).resolve()
    dvc_file = kb.with_name(kb.name + ".dvc")
    root = _dvc_root(kb)
    if root is not None and dvc_file.is_file():
        digest = track_and_push(root, kb.relative_to(root), remote_name)
        log.info("knowledge base re-tracked with DVC: %s", digest)
        return DataVersion(digest, "dvc", str(dvc_file))
    digest = data_hash(kb)
    log.info("knowledge base not DVC-tracked; its DVC hash is %s", digest)
    return DataVersion(digest, "hash")
