"""The ``dvc.yaml`` pipeline: is it up to date, and bring it up to date.

Flows ask :func:`stage_status` before deciding to rerun a data stage and call
:func:`reproduce` to run it; ``dvc.lock`` then pins the hashes of every
dependency and output, which is what a decision record cites.

``dvc repro`` goes through the CLI in a subprocess: DVC's Python API resolves
stage paths against the process's working directory (its run-cache fails from
anywhere else), and stage commands write to the caller's stdout, which a
``--json`` command owns. The subprocess runs in the repo root with its output
captured into the log.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ragtune.errors import ConfigError
from ragtune.tasks.versioning._dvc import dvc_error, open_repo, require_dvc_root

logger = logging.getLogger(__name__)

PROJECT_FILE = "dvc.yaml"
# DVC 3 reports each stage it runs, or restores from its run-cache, this way.
_RAN = re.compile(r"^(?:Running stage|Stage) '([^']+)'(?::| is cached)", re.M)


def stage_status(repo_root: Path) -> dict[str, Any]:
    """``dvc status`` as data, for every stage and ``.dvc`` file in the repo.

    Returns:
        ``{"up_to_date": bool, "stages": {name: [change, ...]}}``. Names are as
        ``dvc status`` prints them from the repo root (``validate``,
        ``sub/dvc.yaml:stage``, ``kb.dvc``); each change is DVC's own mapping,
        e.g. ``{"changed deps": {"data/kb": "modified"}}`` or the string
        ``"changed command"``. ``stages`` is empty exactly when up to date.

    Raises:
        InputError: ``repo_root`` is not a DVC repository.
        ConfigError: ``dvc.yaml`` or a ``.dvc`` file cannot be read.
    """
    from dvc.exceptions import DvcException

    root = Path(repo_root).resolve()
    with open_repo(root) as repo:
        try:
            changes = repo.status()
            names = {s.addressing: _root_name(root, s) for s in repo.index.stages}
        except DvcException as exc:
            raise dvc_error("status", exc) from None
    stages = {names.get(k, k): list(v) for k, v in sorted(changes.items())}
    return {"up_to_date": not stages, "stages": stages}


def _root_name(root: Path, stage: Any) -> str:
    """A stage's address as seen from the repo root, whatever the process cwd."""
    rel = Path(stage.path).resolve().relative_to(root).as_posix()
    name = getattr(stage, "name", None)
    if not name:
        return rel
    return name if rel == PROJECT_FILE else f"{rel}:{name}"


def reproduce(
    repo_root: Path, targets: list[str] | None = None, force: bool = False
) -> list[str]:
    """Run the stages whose dependencies, params or command changed (``dvc repro``).

    Args:
        repo_root: The DVC repository root.
        targets: Stage names (``validate``) or ``path/dvc.yaml:stage`` addresses
            relative to the root; None runs the whole pipeline.
        force: Rerun even when nothing changed.

    Returns:
        Names of the stages that ran or were restored from DVC's run-cache;
        empty when everything was up to date.

    Raises:
        InputError: ``repo_root`` is not a DVC repository.
        ConfigError: a stage command failed or ``dvc.yaml`` is invalid; the
            message carries the end of DVC's output.
    """
    root = require_dvc_root(repo_root)
    cmd = [sys.executable, "-m", "dvc", "repro", *(["--force"] if force else [])]
    proc = subprocess.run(
        [*cmd, *(targets or [])],
        cwd=root,
        capture_output=True,
        text=True,
        env=_stage_env(),
        check=False,
    )
    output = proc.stdout + proc.stderr
    logger.debug("dvc repro output:\n%s", output)
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise ConfigError(f"dvc repro failed in {root}:\n{tail}")
    names = _RAN.findall(proc.stdout)
    logger.info("dvc repro ran %d stage(s): %s", len(names), ", ".join(names))
    return names


def _stage_env() -> dict[str, str]:
    """The caller's environment, with this interpreter's scripts first on PATH.

    Stage commands such as ``ragtune validate`` must resolve to the ragtune that
    is running now, even when its virtualenv was never activated.
    """
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": os.pathsep.join([scripts, path]) if path else scripts}
