"""Reading a watched source: a local folder, a branch of a git repository, or an
HTTP URL asked conditionally (ETag / If-Modified-Since), so an unchanged page
costs a 304 and no download.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import subprocess
from pathlib import Path, PurePosixPath

import httpx

from ragtune.errors import InputError
from ragtune.tasks.versioning.scm import GitError, git
from ragtune.tasks.watch.config import WatchSource
from ragtune.tasks.watch.models import Snapshot
from ragtune.tasks.watch.state import SourceState

log = logging.getLogger(__name__)


def _included(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def read_folder(source: WatchSource) -> Snapshot:
    """Every included file below the folder (hidden files and folders skipped).

    Raises:
        InputError: the folder does not exist.
    """
    root = Path(source.path or "")
    if not root.is_dir():
        raise InputError(f"watch source {source.name}: folder {root} does not exist")
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if _included(path.name, source.include):
            files[rel.as_posix()] = path.read_bytes()
    return Snapshot(files=files)


def read_git(source: WatchSource, previous: SourceState | None) -> Snapshot:
    """The included files of ``branch`` (below ``subdir``) as committed.

    The committed branch, not the work tree, is what is watched: a half-edited
    file in a checkout is not a published change. A branch still at the commit
    seen last time is reported as not modified without reading any file.

    Raises:
        InputError: not a git repository, or the branch does not exist.
    """
    repo = Path(source.path or "")
    if not repo.is_dir():
        raise InputError(f"watch source {source.name}: repository {repo} not found")
    proc = git(
        repo,
        "rev-parse",
        "--verify",
        "--quiet",
        f"{source.branch}^{{commit}}",
        check=False,
    )
    if proc.returncode != 0:
        raise InputError(
            f"watch source {source.name}: no branch {source.branch!r} in git "
            f"repository {repo}"
        )
    commit = proc.stdout.strip()
    if previous is not None and previous.commit == commit:
        return Snapshot(not_modified=True, commit=commit)
    prefix = PurePosixPath(source.subdir) if source.subdir else None
    listing = git(
        repo,
        "ls-tree",
        "-r",
        "-z",
        "--name-only",
        commit,
        "--",
        prefix.as_posix() if prefix else ".",
    )
    files: dict[str, bytes] = {}
    for name in filter(None, listing.stdout.split("\0")):
        path = PurePosixPath(name)
        rel = path.relative_to(prefix) if prefix else path
        if _included(path.name, source.include):
            files[rel.as_posix()] = _blob(repo, commit, name)
    return Snapshot(files=files, commit=commit)


def _blob(repo: Path, commit: str, name: str) -> bytes:
    # scm.git captures text; file contents (PDFs) need the raw bytes.
    proc = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "blob", f"{commit}:{name}"],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"git cat-file {commit}:{name} failed: {proc.stderr!r}")
    return proc.stdout


def read_http(
    source: WatchSource,
    previous: SourceState | None,
    timeout_s: float,
    client: httpx.Client | None = None,
) -> Snapshot:
    """GET the URL, conditionally when an ETag or Last-Modified is known.

    Raises:
        InputError: the request failed or the server answered neither 200 nor 304.
    """
    headers = {}
    if previous is not None and previous.files:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    own = client is None
    http = client or httpx.Client(timeout=timeout_s, follow_redirects=True)
    try:
        response = http.get(source.url or "", headers=headers)
    except httpx.HTTPError as exc:
        raise InputError(f"watch source {source.name}: {source.url}: {exc}") from None
    finally:
        if own:
            http.close()
    if response.status_code == 304:
        return Snapshot(
            not_modified=True,
            etag=previous.etag if previous else None,
            last_modified=previous.last_modified if previous else None,
        )
    if response.status_code != 200:
        raise InputError(
            f"watch source {source.name}: {source.url} answered "
            f"{response.status_code} {response.reason_phrase}"
        )
    return Snapshot(
        files={PurePosixPath(source.target()).name: response.content},
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def read_source(
    source: WatchSource, previous: SourceState | None, timeout_s: float
) -> Snapshot:
    """What the source holds now, by kind."""
    if source.kind == "folder":
        return read_folder(source)
    if source.kind == "git":
        return read_git(source, previous)
    return read_http(source, previous, timeout_s)
