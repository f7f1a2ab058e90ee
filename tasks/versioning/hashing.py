"""DVC content hashes for knowledge-base folders, computed without ``dvc add``.

Every data set a decision uses is pinned by the hash DVC itself would record, so
the hash is computed with DVC's own builder (``dvc_data``) and the same
``.dvcignore`` rules, never re-implemented. File hashes are cached in DVC's
state database keyed by inode, mtime and size, so re-hashing an unchanged
folder only stats its files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ragtune.errors import InputError
from ragtune.tasks.versioning._dvc import find_dvc_root, quiet_dvc

if TYPE_CHECKING:
    from dvc.ignore import DvcIgnoreFilter
    from dvc_objects.fs import LocalFileSystem

logger = logging.getLogger(__name__)

HASH_NAME = "md5"
# One state database per user: it only caches hashes, so losing it costs time only.
_USER = str(os.getuid()) if hasattr(os, "getuid") else "user"
_STATE_DIR = Path(tempfile.gettempdir()) / f"ragtune-{_USER}" / "dvc-hash-state"


def data_hash(path: Path) -> str:
    """The DVC hash of a file or folder, as ``dvc add`` would write it.

    Folders hash to DVC's tree md5 with a ``.dir`` suffix, files to their md5.
    Inside a DVC repository the repository's ``.dvcignore`` files apply, exactly
    as they do for ``dvc add``. A path that the repository ignores as a whole
    (say, a copy under ``.ragtune/``) is hashed as a standalone folder, because
    ``dvc add`` would refuse it and the enclosing rules would hide every file.

    Args:
        path: A file or folder on the local disk.

    Returns:
        The hash string, e.g. ``"1f3a97...2cc.dir"``.

    Raises:
        InputError: ``path`` does not exist, or holds a ``.dvcignore`` (which DVC
            refuses inside tracked folders).
    """
    from dvc_data.hashfile.build import IgnoreInCollectedDirError, build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_data.hashfile.state import State
    from dvc_objects.fs import LocalFileSystem, MemoryFileSystem

    target = Path(path).resolve()
    if not target.exists():
        raise InputError(f"{target}: no such file or folder to hash")
    fs = LocalFileSystem()
    with quiet_dvc():
        ignore = _ignore_filter(fs, target)
        root = ignore.root_dir
        _STATE_DIR.mkdir(parents=True, exist_ok=True)
        state = State(str(root), str(_STATE_DIR), ignore=ignore)
        try:
            odb = HashFileDB(
                MemoryFileSystem(), "/ragtune-hash", state=state, hash_name=HASH_NAME
            )
            _, _, obj = build(
                odb, str(target), fs, HASH_NAME, ignore=ignore, dry_run=True
            )
        except IgnoreInCollectedDirError as exc:
            raise InputError(f"{target}: {exc}") from None
        finally:
            state.close()
    value = obj.hash_info.value
    assert value, "dvc_data always sets a value for a built object"
    logger.debug("hashed %s -> %s", target, value)
    return value


def _ignore_filter(fs: LocalFileSystem, target: Path) -> DvcIgnoreFilter:
    """The ``.dvcignore`` rules that ``dvc add target`` would apply."""
    from dvc.ignore import DvcIgnoreFilter

    standalone = target if target.is_dir() else target.parent
    root = find_dvc_root(target)
    if root is None:
        return DvcIgnoreFilter(fs, str(standalone))
    ignore = DvcIgnoreFilter(fs, str(root))
    inside = [p for p in (target, *target.parents) if p.is_relative_to(root)]
    inside = [p for p in inside if p != root]
    if any(ignore.is_ignored(fs, str(p)) for p in inside):
        return DvcIgnoreFilter(fs, str(standalone))
    return ignore


def recorded_hash(dvc_file: Path) -> str | None:
    """The hash a ``.dvc`` file records for its single output, if it has one.

    Returns None when the file is absent or records no md5 (e.g. an output that
    was declared but never added); a file that is not DVC YAML is an error.
    """
    if not dvc_file.is_file():
        return None
    try:
        raw = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{dvc_file} is not a valid .dvc file: {exc}") from None
    outs = raw.get("outs") if isinstance(raw, dict) else None
    if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict):
        raise InputError(f"{dvc_file}: expected exactly one entry under 'outs'")
    value = outs[0].get("md5")
    return str(value) if value else None
