"""Start a new knowledge base: layout, git, DVC, remote, params.yaml, first push.

Every step checks before it acts, so a second run on the same folder reports
that nothing changed; the params.yaml check runs before anything is written, so
a refusal leaves the folder as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.tasks.versioning import scm
from ragtune.tasks.versioning._dvc import quiet_dvc
from ragtune.tasks.versioning.config import DvcConfig
from ragtune.tasks.versioning.models import InitResult
from ragtune.tasks.versioning.params_file import (
    plan_params,
    wanted_sections,
    write_params,
)
from ragtune.tasks.versioning.remote import (
    add_tracked,
    configure_remote,
    push,
    remote_location,
)

logger = logging.getLogger(__name__)

KB_DIR = "kb"
EVAL_DIR = "eval"
DEPARTMENTS = ("compliance", "products", "reports", "guides")
STATE_DIR = ".ragtune"
KEEP_FILE = ".gitkeep"
# BEIR layout: queries.jsonl plus qrels/<split>.tsv; the corpus is the knowledge base.
EVAL_SKELETON = {
    "queries.jsonl": "",
    "qrels/test.tsv": "query-id\tcorpus-id\tscore\n",
}
_SHARED_FILES = (".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore")


def init_knowledge_base(
    path: Path, remote_url: str, remote_name: str = "storage", *, push_data: bool = True
) -> InitResult:
    """Create or complete a DVC-versioned knowledge base at ``path``.

    Args:
        path: The knowledge-base repository root (created if missing).
        remote_url: Local folder (relative paths resolve against ``path``) or an
            ``s3://``, ``gs://``, ``azure://`` URL; credentials come from the
            environment as DVC reads them.
        remote_name: Name of the DVC remote, made the default.
        push_data: Upload ``kb/`` to the remote; off only where the remote cannot
            be reached yet (credentials still to come).

    Returns:
        What was done; ``InitResult.changed`` is False on an idempotent re-run.

    Raises:
        InputError: ``path`` is a file, the remote URL is unusable, or git
            already tracks ``kb/``.
        ConfigError: params.yaml or the DVC remote disagree with this setup.
    """
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is a file; a knowledge base needs a folder")
    _check_remote_settings(remote_name, remote_url)
    location = remote_location(remote_url, root)
    wanted = wanted_sections(KB_DIR, EVAL_DIR, remote_name, remote_url)
    params_text = plan_params(root / "params.yaml", wanted)
    actions = _create_layout(root)
    actions += _init_repos(root)
    actions += _ensure_ignored(root, _ignored_entries(root, location))
    actions += configure_remote(root, remote_name, remote_url)
    kb_hash, added = add_tracked(root, Path(KB_DIR))
    if added:
        actions.append(f"dvc add {KB_DIR} -> {kb_hash}")
    if params_text is not None:
        write_params(root / "params.yaml", params_text)
        actions.append("wrote data: and dvc: sections to params.yaml")
    pushed = push(root, [root / f"{KB_DIR}.dvc"], remote_name) if push_data else 0
    result = InitResult(
        root=root,
        kb_path=root / KB_DIR,
        kb_hash=kb_hash,
        remote_name=remote_name,
        remote_url=location,
        actions=tuple(actions),
        pushed=pushed,
        to_commit=_uncommitted(root),
    )
    logger.info(result.summary())
    return result


def _check_remote_settings(name: str, url: str) -> None:
    """Validate with the same rules params.yaml's ``dvc:`` section will apply."""
    try:
        DvcConfig(remote_name=name, remote_url=url)
    except ValidationError as exc:
        reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        message = f"cannot use DVC remote {name!r} -> {url!r}: {reasons}"
        raise InputError(message) from None


def _create_layout(root: Path) -> list[str]:
    """Department folders (kept by an empty ``.gitkeep``) and the eval skeleton."""
    files = {f"{KB_DIR}/{d}/{KEEP_FILE}": "" for d in DEPARTMENTS}
    files |= {f"{EVAL_DIR}/{name}": text for name, text in EVAL_SKELETON.items()}
    actions: list[str] = []
    for rel, text in files.items():
        target = root / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        actions.append(f"created {rel}")
    return actions


def _init_repos(root: Path) -> list[str]:
    """``git init`` outside any work tree; ``dvc init`` (``--subdir`` if nested)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    actions: list[str] = []
    top = scm.git_toplevel(root)
    if top is None:
        scm.git(root, "init", "--quiet")
        actions.append("git init")
        top = root
    if not (root / ".dvc").is_dir():
        with quiet_dvc():
            try:
                Repo.init(str(root), subdir=top != root).close()
            except DvcException as exc:
                raise InputError(f"dvc init in {root} failed: {exc}") from None
        actions.append("dvc init" + (" --subdir" if top != root else ""))
    return actions


def _ignored_entries(root: Path, location: str) -> list[str]:
    """Runtime state, plus a local remote kept inside the repository."""
    entries = [f"/{STATE_DIR}/"]
    remote = Path(location)
    if remote.is_absolute() and remote.is_relative_to(root):
        rel = remote.relative_to(root).as_posix()
        if not rel.startswith(f"{STATE_DIR}/"):
            entries.append(f"/{rel}/")
    return entries


def _ensure_ignored(root: Path, entries: list[str]) -> list[str]:
    """Keep state and remote folders out of both git and DVC's workspace walk."""
    actions: list[str] = []
    for name in (".gitignore", ".dvcignore"):
        path = root / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        lines = set(text.splitlines())
        new = [e for e in entries if e not in lines]
        if not new:
            continue
        sep = "" if not text or text.endswith("\n") else "\n"
        path.write_text(text + sep + "\n".join(new) + "\n", encoding="utf-8")
        actions.append(f"{name}: ignore {', '.join(new)}")
    return actions


def _uncommitted(root: Path) -> tuple[str, ...]:
    """The setup files git does not have yet, relative to ``root``, to commit."""
    paths = [*_SHARED_FILES, f"{KB_DIR}.dvc", "params.yaml", EVAL_DIR]
    proc = scm.git(root, "status", "--porcelain", "-uall", "--", *paths, check=False)
    top = scm.git_toplevel(root) or root
    prefix = "" if top == root else root.relative_to(top).as_posix() + "/"
    # Porcelain paths are relative to the work-tree root, not to ``-C``.
    names = {line[3:].removeprefix(prefix) for line in proc.stdout.splitlines()}
    return tuple(sorted(n for n in names if n))
