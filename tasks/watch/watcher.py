"""One watch pass: compare every source with what was seen last, describe each
change, then (separately) write the new versions into the knowledge base.

``scan`` only reads; ``apply_changes`` writes, keeping every replaced version in
the archive by content hash, so nothing a source overwrites is lost even when the
knowledge base is not under DVC.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ragtune.atomic import write_atomic
from ragtune.errors import InputError
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import default_doc_id, load_document
from ragtune.tasks.ingest.problems import FileProblem
from ragtune.tasks.watch.config import WatchConfig, WatchSource
from ragtune.tasks.watch.diff import document_text, summarize_diff
from ragtune.tasks.watch.models import FileChange, Snapshot, SourceChange, SourceError
from ragtune.tasks.watch.significance import significance
from ragtune.tasks.watch.sources import read_source
from ragtune.tasks.watch.state import SourceState, WatchState

log = logging.getLogger(__name__)
SIDECAR = ".meta.yaml"


@dataclass(frozen=True)
class WatchPass:
    """A pass's changes per source, the sources that failed, and the state to
    save once the changes are applied and announced."""

    changes: tuple[SourceChange, ...]
    errors: tuple[SourceError, ...]
    unchanged: tuple[str, ...]
    next_state: WatchState


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kb_rel(source: WatchSource, cfg: WatchConfig, rel: str) -> str:
    """Where a source file lands, relative to the knowledge-base root."""
    base = PurePosixPath(cfg.area) / source.target()
    return (base if source.kind == "http" else base / rel).as_posix()


def archived(archive: Path, digest: str | None) -> bytes | None:
    """A version kept in the archive by its sha256, if it is there."""
    if digest is None:
        return None
    path = Path(archive) / digest[:2] / digest
    return path.read_bytes() if path.is_file() else None


def scan(
    sources: Sequence[WatchSource],
    cfg: WatchConfig,
    kb_root: Path,
    state: WatchState,
    archive: Path,
    now: str,
) -> WatchPass:
    """Read every source and describe what changed since ``state``.

    A source that cannot be read is reported in ``errors`` and keeps its state;
    the others go on. A file seen for the first time that the knowledge base
    already holds byte for byte is a baseline, not a change.
    """
    changes, errors, unchanged = [], [], []
    next_state = state
    for source in sources:
        previous = state.get(source.name)
        try:
            snapshot = read_source(source, previous, cfg.http_timeout_s)
        except InputError as exc:
            log.warning("watch source %s: %s", source.name, exc)
            errors.append(SourceError(source.name, str(exc)))
            continue
        files = _changed_files(source, cfg, kb_root, previous, snapshot, archive)
        if files:
            changes.append(
                SourceChange(source.name, tuple(files), tuple(source.doc_ids))
            )
        else:
            unchanged.append(source.name)
        next_state = next_state.with_source(
            source.name, _next_source_state(previous, snapshot, now)
        )
    return WatchPass(tuple(changes), tuple(errors), tuple(unchanged), next_state)


def _next_source_state(
    previous: SourceState | None, snapshot: Snapshot, now: str
) -> SourceState:
    if snapshot.not_modified:
        files = dict(previous.files) if previous else {}
    else:
        files = {rel: sha256(content) for rel, content in snapshot.files.items()}
    return SourceState(
        files=files,
        etag=snapshot.etag,
        last_modified=snapshot.last_modified,
        commit=snapshot.commit,
        checked_at=now,
    )


def _changed_files(
    source: WatchSource,
    cfg: WatchConfig,
    kb_root: Path,
    previous: SourceState | None,
    snapshot: Snapshot,
    archive: Path,
) -> list[FileChange]:
    if snapshot.not_modified:
        return []
    known = previous.files if previous else {}
    out = []
    for rel, content in sorted(snapshot.files.items()):
        digest = sha256(content)
        if known.get(rel) == digest:
            continue
        target = kb_root / kb_rel(source, cfg, rel)
        current = target.read_bytes() if target.is_file() else None
        current_sha = sha256(current) if current is not None else None
        if rel not in known and current_sha == digest:
            continue  # first sight, and the KB already holds exactly this
        base = current if current_sha not in (None, digest) else None
        base = base if base is not None else archived(archive, known.get(rel))
        out.append(_describe(source, cfg, rel, target, kb_root, base, content))
    for rel in sorted(set(known) - set(snapshot.files)):
        target = kb_root / kb_rel(source, cfg, rel)
        base = (
            target.read_bytes() if target.is_file() else archived(archive, known[rel])
        )
        out.append(_describe(source, cfg, rel, target, kb_root, base, None))
    return out


def _describe(
    source: WatchSource,
    cfg: WatchConfig,
    rel: str,
    target: Path,
    kb_root: Path,
    old: bytes | None,
    new: bytes | None,
) -> FileChange:
    diff = summarize_diff(
        document_text(rel, old or b""),
        document_text(rel, new or b""),
        cfg.amendment_terms,
        cfg.effective_terms,
    )
    status = "removed" if new is None else "added" if old is None else "modified"
    return FileChange(
        source=source.name,
        source_rel=rel,
        kb_rel=target.relative_to(kb_root).as_posix(),
        status=status,
        old_sha256=sha256(old) if old is not None else None,
        new_sha256=sha256(new) if new is not None else None,
        diff=diff,
        significance=significance(diff, cfg),
        content=new or b"",
    )


def apply_changes(
    changes: Sequence[SourceChange], kb_root: Path, archive: Path, data: DataConfig
) -> tuple[SourceChange, ...]:
    """Write new versions into the knowledge base and name the documents.

    The version each write replaces goes to the archive first. A file gone from
    its source stays in the knowledge base (removing knowledge is a decision for
    a person, not a watcher); its change is still reported.
    """
    out = []
    for change in changes:
        files = []
        for item in change.files:
            target = kb_root / item.kb_rel
            if item.status != "removed":
                if target.is_file():
                    _archive(archive, target.read_bytes())
                write_atomic(target, item.content)
            files.append(_with_document(item, kb_root, data))
        doc_ids = change.doc_ids or tuple(
            dict.fromkeys(f.doc_id for f in files if f.doc_id)
        )
        out.append(replace(change, files=tuple(files), doc_ids=doc_ids))
    return tuple(out)


def _with_document(item: FileChange, kb_root: Path, data: DataConfig) -> FileChange:
    """The document id and effective date, read the way the loader reads them
    (front matter, sidecar, HTML meta), falling back to the path-based id."""
    rel = item.kb_rel.removesuffix(SIDECAR)
    path = kb_root / rel
    found = item.diff.effective_date if item.diff.effective_language else None
    try:
        doc = load_document(path, rel, data)
    except (FileProblem, OSError):
        return replace(item, doc_id=default_doc_id(rel), effective_date=found)
    return replace(
        item,
        doc_id=doc.doc_id,
        effective_date=found or doc.effective_date or item.diff.effective_date,
    )


def _archive(archive: Path, content: bytes) -> Path:
    digest = sha256(content)
    path = Path(archive) / digest[:2] / digest
    if not path.exists():
        write_atomic(path, content)
    return path
