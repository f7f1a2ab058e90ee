"""Format watch: has a required output format changed since the champion trained?

A model fine-tuned to answer in a JSON schema or prompt template must be
retrained when that file changes. The baseline holds the files' hashes when the
champion was trained; a change is reported once, and the baseline then moves on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ragtune.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormatCheck:
    """Changed, added and removed format files against the baseline."""

    changed: tuple[str, ...]
    hashes: dict[str, str]
    first_run: bool

    @property
    def any_changed(self) -> bool:
        return bool(self.changed)


def file_hashes(root: Path, files: list[Path]) -> dict[str, str]:
    """SHA-256 of each format file, keyed by its path as configured."""
    hashes = {}
    for rel in files:
        path = rel if rel.is_absolute() else root / rel
        if not path.is_file():
            raise InputError(f"operations.format_files: {path} does not exist")
        hashes[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def check_formats(root: Path, files: list[Path], baseline: Path) -> FormatCheck:
    """Compare the files with the baseline; no baseline yet is not a change."""
    current = file_hashes(root, files)
    if not baseline.is_file():
        return FormatCheck((), current, first_run=True)
    before = json.loads(baseline.read_text("utf-8"))
    changed = sorted(
        k for k in set(current) | set(before) if current.get(k) != before.get(k)
    )
    return FormatCheck(tuple(changed), current, first_run=False)


def save_baseline(baseline: Path, hashes: dict[str, str]) -> None:
    """Record the hashes (atomically), so one change is acted on once."""
    baseline.parent.mkdir(parents=True, exist_ok=True)
    tmp = baseline.with_suffix(".tmp")
    tmp.write_text(json.dumps(hashes, indent=2, sort_keys=True), "utf-8")
    tmp.replace(baseline)
    log.info("format baseline %s: %d file(s)", baseline, len(hashes))
