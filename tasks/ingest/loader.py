"""Load a knowledge-base folder: Documents, plus a Rejection per unusable file.

One bad file never stops a load: it is recorded with reasons an operator can act
on, and the remaining files are read as usual. Files are visited in sorted path
order so two loads of the same tree give the same result in the same order.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ragtune.errors import InputError
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.formats import (
    FORMAT_BY_SUFFIX,
    Extracted,
    extract_html,
    extract_markdown,
    extract_pdf,
    extract_text,
)
from ragtune.tasks.ingest.metadata import is_sidecar, read_sidecar, to_doc_meta
from ragtune.tasks.ingest.models import Document, LoadResult, Rejection
from ragtune.tasks.ingest.problems import FileProblem
from ragtune.tasks.ingest.sniff import decode_utf8, describe_binary

log = logging.getLogger(__name__)

MB = 1024 * 1024
TEXT_EXTRACTORS = {
    "markdown": extract_markdown,
    "html": extract_html,
    "text": extract_text,
}
IGNORED_SUFFIXES = (".dvc",)


def load_knowledge_base(root: Path, cfg: DataConfig) -> LoadResult:
    """Read every source file under ``root``.

    Args:
        root: the knowledge-base folder (department folders below it).
        cfg: which suffixes are documents and how large a file may be.

    Returns:
        Documents and Rejections, both in sorted source-path order.

    Raises:
        InputError: ``root`` does not exist or is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise InputError(f"knowledge base {root} {what} (check data.kb_path)")
    documents: list[Document] = []
    rejected: list[Rejection] = []
    allowed = allowed_link_roots(root, cfg)
    for path in iter_source_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            check_link(path, allowed)
            documents.append(load_document(path, rel, cfg))
        except (FileProblem, OSError) as exc:
            reasons = _reasons(exc)
            log.warning("rejected %s: %s", rel, "; ".join(reasons))
            rejected.append(Rejection(source_path=rel, reasons=reasons))
    log.info("loaded %d documents, rejected %d files", len(documents), len(rejected))
    return LoadResult(documents=tuple(documents), rejected=tuple(rejected))


def _reasons(exc: Exception) -> tuple[str, ...]:
    if isinstance(exc, FileProblem):
        return exc.reasons
    return (f"cannot read the file: {exc.strerror or exc}",)


def iter_source_files(root: Path) -> list[Path]:
    """Candidate document files, sorted by relative path.

    Hidden files and folders (``.git``, ``.dvc``, ``.gitignore``), metadata
    sidecars and DVC pointer files are not documents and are skipped.
    """
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder, name)
            if name.startswith(".") or is_sidecar(path):
                continue
            if path.suffix.lower() in IGNORED_SUFFIXES:
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def allowed_link_roots(root: Path, cfg: DataConfig) -> tuple[Path, ...]:
    """The knowledge base itself and ``data.link_roots``, resolved."""
    extra = (p if p.is_absolute() else root / p for p in cfg.link_roots)
    return (root.resolve(), *(p.resolve() for p in extra))


def check_link(path: Path, allowed: tuple[Path, ...]) -> None:
    """Refuse a symbolic link whose target leaves the allowed folders.

    A link in the knowledge base to a password or key file elsewhere would
    otherwise be indexed and then served to anyone who can query.

    Raises:
        FileProblem: the link resolves outside every allowed folder.
    """
    if not path.is_symlink():
        return
    target = path.resolve()
    if not any(target.is_relative_to(folder) for folder in allowed):
        raise FileProblem(
            f"symbolic link to {target}, outside the knowledge base: not read "
            "(data.link_roots lists folders links may point into)"
        )


def read_source(path: Path) -> bytes:
    """The only place file contents are read, after the size check has passed."""
    return path.read_bytes()


def load_document(path: Path, rel: str, cfg: DataConfig) -> Document:
    """Turn one file into a Document.

    Raises:
        FileProblem: the file is too large, unsupported, binary, empty, not
            UTF-8, or its metadata or content cannot be read.
    """
    _check_size(path, cfg)
    fmt = _format_of(path, cfg)
    raw = read_source(path)
    if not raw.strip():
        raise FileProblem("file contains only whitespace" if raw else "file is empty")
    extracted = _extract(fmt, raw, path.suffix.lower())
    meta = to_doc_meta({**extracted.meta, **read_sidecar(path)})
    if not extracted.text:
        raise FileProblem(f"no text left after extracting the {fmt} content")
    return Document(
        doc_id=meta.id or default_doc_id(rel),
        source_path=rel,
        format=fmt,
        title=meta.title or extracted.title or _title_from_name(path),
        text=extracted.text,
        content_hash=hashlib.sha256(raw).hexdigest(),
        size_bytes=len(raw),
        category=meta.category,
        effective_date=meta.effective_date,
        last_reviewed=meta.last_reviewed,
        valid_until=meta.valid_until,
        amends=meta.amends,
        supersedes=meta.supersedes,
        clauses=meta.clauses,
        metadata={**meta.extra, **({"owner": meta.owner} if meta.owner else {})},
    )


def default_doc_id(rel: str) -> str:
    """``compliance/aml-policy.md`` -> ``compliance--aml-policy``."""
    return Path(rel).with_suffix("").as_posix().replace("/", "--")


def _check_size(path: Path, cfg: DataConfig) -> None:
    size = path.stat().st_size
    if size > cfg.max_file_mb * MB:
        raise FileProblem(
            f"file is {size / MB:.1f} MB, larger than data.max_file_mb "
            f"({cfg.max_file_mb:g} MB); split it or raise the limit"
        )


def _format_of(path: Path, cfg: DataConfig) -> str:
    suffix = path.suffix.lower()
    if suffix in cfg.extensions and suffix in FORMAT_BY_SUFFIX:
        return FORMAT_BY_SUFFIX[suffix]
    with path.open("rb") as handle:
        kind = describe_binary(handle.read(64))
    shown = f"'{suffix}'" if suffix else "(no extension)"
    content = f" ({kind})" if kind else ""
    supported = ", ".join(s for s in cfg.extensions if s in FORMAT_BY_SUFFIX)
    raise FileProblem(f"unsupported file type {shown}{content}; supported: {supported}")


def _extract(fmt: str, raw: bytes, suffix: str) -> Extracted:
    kind = describe_binary(raw)
    if fmt == "pdf":
        if not raw.startswith(b"%PDF-"):
            found = kind or "text"
            raise FileProblem(f"not a PDF: the content is {found}, not a %PDF- file")
        return extract_pdf(raw)
    if kind is not None:
        raise FileProblem(f"binary content ({kind}) in a {suffix} file")
    # One newline convention, so heading splits and offsets do not depend on the
    # editor that saved the file (content_hash still covers the raw bytes).
    text = decode_utf8(raw).replace("\r\n", "\n").replace("\r", "\n")
    return TEXT_EXTRACTORS[fmt](text)


def _title_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.name
