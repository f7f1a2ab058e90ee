"""Opening DVC repositories quietly, with DVC's errors turned into ragtune's.

DVC configures its own loggers to write progress and hints to stdout when it is
imported; a library call must not do that (``ragtune ... --json`` owns stdout),
so every call into DVC goes through :func:`quiet_dvc`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.errors import ConfigError, InputError

if TYPE_CHECKING:
    from dvc.repo import Repo

logger = logging.getLogger(__name__)

_DVC_LOGGERS = ("dvc", "dvc_data", "dvc_objects")


@contextmanager
def quiet_dvc(level: int = logging.WARNING) -> Iterator[None]:
    """Raise DVC's loggers to ``level`` for the duration of the block.

    DVC prints hints such as "To track the changes with git, run: ..." at INFO on
    stdout; warnings and errors still reach stderr.
    """
    loggers = [logging.getLogger(name) for name in _DVC_LOGGERS]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(level, lg.level))
    try:
        yield
    finally:
        for lg, old in zip(loggers, before, strict=True):
            lg.setLevel(old)


def find_dvc_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` that holds a ``.dvc`` directory."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def require_dvc_root(repo_root: Path) -> Path:
    """``repo_root`` resolved, after checking that it is a DVC repository root.

    Raises:
        InputError: there is no ``.dvc`` folder in ``repo_root``.
    """
    root = Path(repo_root).resolve()
    if not (root / ".dvc").is_dir():
        raise InputError(f"{root} is not a DVC repository (no .dvc folder); run init")
    return root


@contextmanager
def open_repo(repo_root: Path) -> Iterator[Repo]:
    """Open the DVC repository rooted exactly at ``repo_root``.

    Raises:
        InputError: ``repo_root`` is not the root of a DVC repository.
    """
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    root = require_dvc_root(repo_root)
    with quiet_dvc():
        try:
            repo = Repo(str(root), uninitialized=False)
        except NotDvcRepoError as exc:
            raise InputError(f"{root} is not a DVC repository: {exc}") from None
        with repo:
            yield repo


def dvc_error(action: str, exc: Exception) -> ConfigError:
    """An operator-facing error for a failed DVC operation (remote, cache, stage)."""
    return ConfigError(f"dvc {action} failed: {exc}")
