"""DVC remotes and ``dvc add`` + ``dvc push`` for a user's knowledge base.

A remote is a local folder by default or an ``s3://``, ``gs://`` or
``azure://`` URL. Only the URL goes into ``.dvc/config``; credentials are read
by DVC from the environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS,
AZURE_STORAGE_*) at push time and never written to the repository.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.versioning._dvc import dvc_error, open_repo
from ragtune.tasks.versioning.config import URL_SCHEME, check_remote_url
from ragtune.tasks.versioning.hashing import data_hash, recorded_hash

logger = logging.getLogger(__name__)


def remote_location(url: str, base: Path) -> str:
    """Normalise a remote URL: cloud URLs unchanged, local paths made absolute.

    Relative local paths resolve against ``base`` (the knowledge-base root), the
    same rule params.yaml uses for its paths.

    Raises:
        InputError: an empty URL or a scheme DVC cannot use here.
    """
    try:
        check_remote_url(url)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if URL_SCHEME.match(url) is None:
        return str((base / Path(url).expanduser()).resolve())
    return url.rstrip("/")


def configure_remote(repo_root: Path, name: str, url: str) -> list[str]:
    """Make ``name`` -> ``url`` the default remote in ``.dvc/config``.

    Local folders are written relative to ``.dvc/`` so the repository can move.

    Returns:
        One line per change made; empty when the remote was already set up.

    Raises:
        ConfigError: a remote called ``name`` already points somewhere else
            (changing it silently could strand pushed data).
    """
    from dvc.config_schema import RelPath

    location = remote_location(url, Path(repo_root).resolve())
    local = URL_SCHEME.match(location) is None
    actions: list[str] = []
    with open_repo(repo_root) as repo:
        current = repo.config["remote"].get(name, {}).get("url")
        if current is not None and _norm(current, local) != _norm(location, local):
            raise ConfigError(
                f"DVC remote {name!r} already points to {current}, not {location}; "
                f"pick another remote name or change it with `dvc remote modify`"
            )
        default = repo.config["core"].get("remote")
        if current is not None and default == name:
            return actions
        with repo.config.edit("repo") as conf:
            if current is None:
                conf["remote"][name] = {"url": RelPath(location) if local else location}
                actions.append(f"added DVC remote {name!r} -> {location}")
            if default != name:
                conf["core"]["remote"] = name
                actions.append(f"made {name!r} the default DVC remote")
    return actions


def _norm(url: str, local: bool) -> str:
    return os.path.normpath(url) if local else url.rstrip("/")


def add_tracked(repo_root: Path, kb_rel: Path) -> tuple[str, bool]:
    """``dvc add`` the folder unless ``<folder>.dvc`` already records its content.

    Returns:
        The recorded hash and whether ``dvc add`` had to run.

    Raises:
        InputError: the folder is missing, or git tracks it (it must be
            ``git rm -r --cached`` first so that DVC can own it).
    """
    from dvc.exceptions import DvcException

    root = Path(repo_root).resolve()
    kb = root / kb_rel
    if not kb.exists():
        raise InputError(f"{kb} does not exist; nothing to track")
    dvc_file = kb.with_name(kb.name + ".dvc")
    digest = data_hash(kb)
    if recorded_hash(dvc_file) == digest:
        return digest, False
    with open_repo(root) as repo:
        try:
            repo.add(str(kb))
        except DvcException as exc:
            raise InputError(f"dvc add {kb_rel} failed: {exc}") from None
    recorded = recorded_hash(dvc_file)
    assert recorded is not None, "dvc add always records a hash"
    if recorded != digest:
        logger.warning("%s changed while it was added: %s", kb_rel, recorded)
    logger.info("dvc add %s -> %s", kb_rel, recorded)
    return recorded, True


def push(repo_root: Path, targets: list[Path], remote_name: str) -> int:
    """Upload the cache objects behind ``targets`` to the remote.

    Returns:
        The number of objects uploaded (0 when the remote already had them).

    Raises:
        ConfigError: the remote is not configured, unreachable, lacks its DVC
            plugin (e.g. ``dvc-s3``) or rejects the credentials.
    """
    from dvc.exceptions import DvcException

    with open_repo(repo_root) as repo:
        if remote_name not in repo.config["remote"]:
            raise ConfigError(
                f"DVC remote {remote_name!r} is not configured in {repo.root_dir}; "
                f"run `ragtune init` or `dvc remote add {remote_name} URL`"
            )
        try:
            pushed = repo.push(
                targets=[str(Path(t).resolve()) for t in targets], remote=remote_name
            )
        except DvcException as exc:
            raise dvc_error(f"push to {remote_name!r}", exc) from None
    logger.info("pushed %d object(s) to %s", pushed, remote_name)
    return int(pushed)


def track_and_push(repo_root: Path, kb_rel: Path, remote_name: str) -> str:
    """Record the knowledge base's current content in DVC and push it.

    Re-adds only when the content changed since ``<kb>.dvc`` was written, so a
    call on unchanged data touches nothing and uploads nothing.

    Returns:
        The DVC hash now recorded in ``<kb>.dvc``; commit that file to pin it.
    """
    root = Path(repo_root).resolve()
    digest, _ = add_tracked(root, kb_rel)
    kb = root / kb_rel
    push(root, [kb.with_name(kb.name + ".dvc")], remote_name)
    return digest
