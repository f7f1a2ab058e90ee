"""What versioning hands to flows: pinned data revisions and init outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TrackedBy = Literal["git", "dvc", "untracked"]


@dataclass(frozen=True)
class DataRevision:
    """A knowledge base pinned to one version, ready to read from ``kb_path``.

    Attributes:
        rev: The revision asked for (None: the working tree).
        kb_path: Where the files of that revision are on disk now.
        data_hash: DVC hash of that content (``<md5>.dir`` for folders); the
            value every downstream record cites.
        git_commit: Full commit id of ``rev``; for the working tree, the commit it
            is based on (its content may differ). None outside git.
        tracked_by: Who versions the path at that revision.
    """

    rev: str | None
    kb_path: Path
    data_hash: str
    git_commit: str | None
    tracked_by: TrackedBy


@dataclass(frozen=True)
class InitResult:
    """What ``init_knowledge_base`` did; an empty ``actions`` means nothing changed.

    Attributes:
        root: The knowledge-base repository root.
        kb_path: The DVC-tracked folder of documents.
        kb_hash: Its DVC hash as recorded in ``kb.dvc``.
        remote_name: The default DVC remote.
        remote_url: Its URL as configured.
        actions: One line per change made, in order (empty on a re-run).
        pushed: Objects uploaded to the remote by this run.
        to_commit: Files to commit to git so the setup is shared.
    """

    root: Path
    kb_path: Path
    kb_hash: str
    remote_name: str
    remote_url: str
    actions: tuple[str, ...]
    pushed: int
    to_commit: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether the run changed anything on disk or on the remote."""
        return bool(self.actions) or self.pushed > 0

    def summary(self) -> str:
        """One line for an operator: what happened, or that nothing did."""
        if not self.changed:
            return f"{self.root}: already initialised; nothing changed"
        return f"{self.root}: {len(self.actions)} change(s), {self.pushed} pushed"
