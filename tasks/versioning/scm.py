"""The few git operations versioning needs, through the git CLI.

The git command line is git's stable interface; DVC's own scm layer is an
implementation detail, so revisions and archives are read with ``git`` itself.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from ragtune.errors import InputError

logger = logging.getLogger(__name__)

_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


class GitError(InputError):
    """A git command failed; the message carries git's own explanation."""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``git -C repo args...`` and capture its output as text.

    Raises:
        GitError: git is missing, or the command failed and ``check`` is True.
    """
    cmd = ["git", "-C", str(repo), *args]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip()
        raise GitError(f"git {' '.join(args)} failed in {repo}: {detail}")
    return proc


def git_toplevel(path: Path) -> Path | None:
    """The root of the git work tree holding ``path``, or None outside git."""
    proc = git(path, "rev-parse", "--show-toplevel", check=False)
    return Path(proc.stdout.strip()).resolve() if proc.returncode == 0 else None


def resolve_commit(repo: Path, rev: str) -> str:
    """The full commit id that ``rev`` names (branch, tag, sha, ``HEAD~1``...).

    Raises:
        InputError: ``repo`` is not in git, or ``rev`` names no commit there.
    """
    if git_toplevel(repo) is None:
        raise InputError(f"revision {rev!r} asked for, but {repo} is not a git repo")
    if rev.startswith("-"):
        raise InputError(f"revision {rev!r} is not a valid git revision")
    spec = f"{rev}^{{commit}}"
    proc = git(repo, "rev-parse", "--verify", "--quiet", spec, check=False)
    if proc.returncode != 0:
        raise InputError(f"unknown git revision {rev!r} in {repo}")
    return proc.stdout.strip()


def head_commit(repo: Path) -> str | None:
    """The commit checked out in ``repo``; None outside git or before a commit."""
    proc = git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def is_tracked(repo: Path, rel: PurePosixPath) -> bool:
    """Whether git's index holds ``rel`` (a file) or any file below it."""
    proc = git(repo, "ls-files", "-z", "--", rel.as_posix(), check=False)
    return proc.returncode == 0 and bool(proc.stdout.strip("\0"))


def exists_at(repo: Path, commit: str, rel: PurePosixPath) -> bool:
    """Whether ``rel`` (relative to ``repo``) is in the tree of ``commit``."""
    proc = git(repo, "cat-file", "-e", f"{commit}:./{rel.as_posix()}", check=False)
    return proc.returncode == 0


def extract_path(repo: Path, commit: str, rel: PurePosixPath, dest: Path) -> Path:
    """Write ``rel`` as it was at ``commit`` below ``dest``; return its new path.

    ``git archive`` is run from the work-tree root, so the entries keep their
    path from that root; the returned path accounts for that prefix.
    """
    top = git_toplevel(repo)
    assert top is not None, "resolve_commit checks the repo first"
    full = PurePosixPath(Path(repo).resolve().relative_to(top).as_posix()) / rel
    tar_path = dest / ".ragtune-archive.tar"
    with tar_path.open("wb") as out:
        proc = subprocess.run(
            ["git", "-C", str(top), "archive", "--format=tar", commit, "--", str(full)],
            stdout=out,
            stderr=subprocess.PIPE,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    if proc.returncode != 0:
        tar_path.unlink()
        detail = proc.stderr.decode(errors="replace").strip()
        raise GitError(f"git archive of {full} at {commit[:12]} failed: {detail}")
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="data")
    tar_path.unlink()
    return dest / full
