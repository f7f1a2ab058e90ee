"""Materialise a knowledge base as it was at a git revision.

Git-tracked folders come out of ``git archive``; DVC-tracked ones (a ``.dvc``
file or a ``dvc.yaml`` output at that revision) come through ``DVCFileSystem``,
which reads objects from the local cache and falls back to the default remote.
Each revision lands in its own folder under ``workdir`` (named by commit), so
resolving the same revision twice reuses it and nothing is ever overwritten.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from ragtune.errors import InputError
from ragtune.tasks.versioning import scm
from ragtune.tasks.versioning._dvc import quiet_dvc
from ragtune.tasks.versioning.hashing import data_hash
from ragtune.tasks.versioning.models import DataRevision, TrackedBy

logger = logging.getLogger(__name__)


def resolve_data(
    repo_root: Path, kb_rel: Path, rev: str | None, workdir: Path
) -> DataRevision:
    """Pin the knowledge base at ``rev`` (None: the working tree) and hash it.

    Args:
        repo_root: Root of the git (and usually DVC) repository.
        kb_rel: The knowledge-base folder, relative to ``repo_root``.
        rev: Any git revision (sha, tag, branch, ``HEAD~1``), or None.
        workdir: Where older revisions are written; the working tree is read in
            place and ``workdir`` is left untouched.

    Raises:
        InputError: unknown revision, ``kb_rel`` absent at that revision, or its
            DVC data in neither the cache nor the remote.
    """
    root = Path(repo_root).resolve()
    rel = _checked_relative(kb_rel)
    if rev is None:
        return _working_tree(root, rel)
    commit = scm.resolve_commit(root, rev)
    dvc_info = _dvc_info_at(root, commit, rel)
    if dvc_info is None and not scm.exists_at(root, commit, rel):
        raise InputError(f"{rel} does not exist at revision {rev!r} ({commit[:12]})")
    target = Path(workdir).resolve() / commit[:12] / Path(rel)
    tracked_by: TrackedBy = "git" if dvc_info is None else "dvc"
    staged = _materialise(root, commit, rel, target.parent, tracked_by)
    digest = _place(staged, target)
    recorded = (dvc_info or {}).get("md5") if (dvc_info or {}).get("isout") else None
    if recorded and recorded != digest:
        raise InputError(
            f"{rel} at {commit[:12]} hashes to {digest}, but DVC recorded {recorded}"
        )
    logger.info("resolved %s at %s (%s) -> %s", rel, rev, tracked_by, digest)
    return DataRevision(rev, target, digest, commit, tracked_by)


def pin_data(kb_path: Path, rev: str | None, workdir: Path) -> DataRevision:
    """Pin a knowledge-base folder given by path (absolute, or relative to the cwd).

    Inside a git repository it is resolved relative to that repository's top, so
    ``rev`` works; outside one only the working tree can be read, and asking for a
    revision there is an error rather than a silent read of today's files.
    """
    path = Path(kb_path).resolve()
    top = repository_of(kb_path, rev)
    if top is None:
        return DataRevision(None, path, data_hash(path), None, "untracked")
    return resolve_data(top, path.relative_to(top.resolve()), rev, workdir)


def repository_of(kb_path: Path, rev: str | None) -> Path | None:
    """The git work tree holding ``kb_path`` (None outside git), after checking
    that ``rev`` names a commit there; cheap, so callers run it before any work.

    Raises:
        InputError: the folder does not exist (and no revision was asked for),
            a revision was asked for outside git, or it names no commit.
    """
    path = Path(kb_path).resolve()
    if rev is None and not path.exists():
        raise InputError(f"knowledge base {kb_path} does not exist")
    anchor = path  # at an old revision the folder may be gone from the work tree
    while not anchor.is_dir():
        anchor = anchor.parent
    top = scm.git_toplevel(anchor)
    if top is None:
        if rev is not None:
            raise InputError(f"{kb_path} is not in a git repository: cannot use --rev")
        return None
    if rev is not None:
        scm.resolve_commit(top, rev)
    return top


def _checked_relative(kb_rel: Path) -> PurePosixPath:
    rel = PurePosixPath(Path(kb_rel).as_posix())
    if rel.is_absolute() or ".." in rel.parts or str(rel) in ("", "."):
        raise InputError(f"knowledge-base path {kb_rel} must be relative to the repo")
    return rel


def _working_tree(root: Path, rel: PurePosixPath) -> DataRevision:
    path = root / Path(rel)
    if not path.exists():
        raise InputError(f"{rel} does not exist in the working tree of {root}")
    tracked_by: TrackedBy = "untracked"
    if (root / ".dvc").is_dir() and _dvc_info_at(root, None, rel) is not None:
        tracked_by = "dvc"
    elif scm.git_toplevel(root) is not None and scm.is_tracked(root, rel):
        tracked_by = "git"
    return DataRevision(None, path, data_hash(path), scm.head_commit(root), tracked_by)


def _dvc_info_at(
    root: Path, commit: str | None, rel: PurePosixPath
) -> dict[str, Any] | None:
    """DVC's index entry for ``rel`` at ``commit``; None when DVC has no data there.

    An entry exists both for tracked outputs (``isout``) and for git folders that
    hold a tracked output further down, which must come through DVC as well.
    """
    from dvc.api import DVCFileSystem

    with quiet_dvc():
        fs = DVCFileSystem(str(root), rev=commit)
        try:
            info = fs.info(rel.as_posix())
        except FileNotFoundError:
            return None
        finally:
            fs.close()
    return info.get("dvc_info")


def _materialise(
    root: Path, commit: str, rel: PurePosixPath, parent: Path, tracked_by: TrackedBy
) -> Path:
    """Write ``rel`` at ``commit`` into a fresh temporary folder under ``parent``."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    try:
        if tracked_by == "git":
            return scm.extract_path(root, commit, rel, staging)
        return _dvc_get(root, commit, rel, staging / Path(rel).name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _dvc_get(root: Path, commit: str, rel: PurePosixPath, dest: Path) -> Path:
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException

    with quiet_dvc():
        fs = DVCFileSystem(str(root), rev=commit)
        try:
            fs.get(rel.as_posix(), str(dest), recursive=True)
        except (DvcException, FileNotFoundError) as exc:
            raise InputError(
                f"DVC data for {rel} at {commit[:12]} is in neither the local cache "
                f"nor the remote ({exc}); run `dvc fetch` where it was added"
            ) from None
        finally:
            fs.close()
    return dest


def _place(staged: Path, target: Path) -> str:
    """Move a staged copy to ``target`` and return its hash.

    If ``target`` already exists (the same revision resolved before) it is kept
    when its content is identical and reported when it is not; the staged copy
    is dropped either way, so no existing file is ever overwritten.
    """
    staging_root = next(p for p in staged.parents if p.name.startswith(".staging-"))
    try:
        digest = data_hash(staged)
        if target.exists():
            existing = data_hash(target)
            if existing != digest:
                raise InputError(
                    f"{target} exists with other content ({existing}, expected "
                    f"{digest}); move it away or use another workdir"
                )
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.rename(target)
        return digest
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
