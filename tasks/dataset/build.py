"""Build the SFT set: read, generate, de-duplicate, redact, split, write, hash.

The build is a pure function of its inputs (curated files, documents, template,
``dataset`` params): no clock, no unseeded randomness, sorted outputs. That makes
``dvc repro build_sft`` reproduce byte-identical files, so the dataset hash in
``manifest.json`` identifies the data a model was trained on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragtune.errors import InputError
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.dataset.dedup import find_duplicates
from ragtune.tasks.dataset.generate import generate_from_documents
from ragtune.tasks.dataset.records import (
    RecordRejection,
    SFTExample,
    read_jsonl,
    write_jsonl,
)
from ragtune.tasks.dataset.redaction import redact_examples, unbased_kinds
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)

TRAIN_FILE, EVAL_FILE = "train.jsonl", "eval.jsonl"
REMOVED_FILE, MANIFEST_FILE = "removed.jsonl", "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class BuildReport:
    """What the build wrote and what it left out, with counts and hashes."""

    out_dir: Path
    manifest: dict[str, Any]
    rejected: tuple[RecordRejection, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest["counts"]

    @property
    def dataset_hash(self) -> str:
        return self.manifest["dataset_hash"]

    def path(self, name: str) -> Path:
        return self.out_dir / name

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), **self.manifest}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def example_text(example: SFTExample) -> str:
    """What duplicates are judged on: every turn, in order."""
    return "\n".join(m.content for m in example.messages)


def read_curated(
    folder: Path, root: Path
) -> tuple[list[SFTExample], list[RecordRejection], dict[str, str]]:
    """All ``*.jsonl`` in ``folder`` (sorted), rejections, and each file's sha256."""
    if not folder.is_dir():
        raise InputError(
            f"curated SFT folder {folder} does not exist (dataset.curated_dir)"
        )
    examples: list[SFTExample] = []
    rejected: list[RecordRejection] = []
    hashes: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        name = (
            path.relative_to(root).as_posix()
            if path.is_relative_to(root)
            else str(path)
        )
        found, bad = read_jsonl(path, name)
        examples += found
        rejected += bad
        hashes[name] = sha256_file(path)
    return examples, rejected, hashes


def _drop_id_clashes(
    examples: list[SFTExample],
) -> tuple[list[SFTExample], list[dict[str, Any]]]:
    """Keep the first example per id; a reused id with other content is removed.

    A reused id with the same content is kept here and counted by the duplicate
    check instead, so every copy shows up in one place.
    """
    seen: dict[str, SFTExample] = {}
    kept, removed = [], []
    for example in examples:
        first = seen.setdefault(example.id, example)
        if first is example or first.messages == example.messages:
            kept.append(example)
        else:
            reason = f"id {example.id!r} already used in {first.source}"
            removed.append(_removed(example, reason))
    return kept, removed


def _removed(example: SFTExample, reason: str, **extra: Any) -> dict[str, Any]:
    return {"reason": reason, **extra, "example": example.model_dump(mode="json")}


def deduplicate(
    examples: list[SFTExample], threshold: float
) -> tuple[list[SFTExample], list[dict[str, Any]]]:
    """Drop exact and near-duplicates; earlier examples (curated first) win."""
    dups = find_duplicates([example_text(e) for e in examples], threshold)
    drop = {d.item: d for d in dups}
    removed = [
        _removed(
            examples[d.item],
            "exact duplicate" if d.exact else "near duplicate",
            of=examples[d.of].id,
            similarity=round(d.similarity, 4),
        )
        for d in dups
    ]
    return [e for i, e in enumerate(examples) if i not in drop], removed


def split(
    examples: Sequence[SFTExample], eval_share: float, seed: int
) -> tuple[list[SFTExample], list[SFTExample]]:
    """Seeded split by group, so paraphrases of one fact never straddle splits."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    sizes = Counter(e.group for e in examples)
    target = round(eval_share * len(examples)) if len(examples) > 1 else 0
    held: set[str] = set()
    taken = 0
    for group in groups:
        if taken >= target:
            break
        if taken + sizes[group] >= len(examples):
            continue  # never hold out everything
        held.add(group)
        taken += sizes[group]
    train = sorted((e for e in examples if e.group not in held), key=lambda e: e.id)
    held_out = sorted((e for e in examples if e.group in held), key=lambda e: e.id)
    return train, held_out


def _write_removed(
    path: Path, rejected: Sequence[RecordRejection], removed: list
) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in rejected:
            row = {
                "reason": "rejected: " + "; ".join(r.reasons),
                "source": r.source,
                "line": r.line,
                "raw": r.raw.rstrip("\n"),
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        for row in removed:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


@dataclass
class _Tally:
    """What went into the build and what was taken out, for the manifest."""

    curated: int = 0
    generated: int = 0
    rejected: int = 0
    removed: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    template_sha256: str | None = None
    redactions: dict[str, int] = field(default_factory=dict)

    def count(self, reason: str) -> int:
        return sum(r["reason"].startswith(reason) for r in self.removed)


def _collect(
    cfg: DatasetConfig,
    root: Path,
    documents: Sequence[Document],
    classes: Mapping[str, str | None] | None,
) -> tuple[list[SFTExample], list[RecordRejection], _Tally]:
    """Curated examples first (they win ties in dedup), then template ones."""
    folder = _resolve(root, cfg.curated_dir)
    curated, rejected, inputs = read_curated(folder, root)
    tally = _Tally(curated=len(curated), rejected=len(rejected), inputs=inputs)
    generated: list[SFTExample] = []
    if cfg.generation.enabled:
        template = _resolve(root, cfg.generation.template)
        result = generate_from_documents(
            documents, classes or {}, cfg.generation, template, cfg.seed
        )
        generated = list(result.examples)
        tally.generated, tally.template_sha256 = len(generated), result.template_sha256
    if not curated and not generated and not rejected:
        raise InputError(
            f"no SFT examples: {folder} holds no *.jsonl records and generation "
            "is off (dataset.generation.enabled)"
        )
    return curated + generated, rejected, tally


def _resolve(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def build_sft(
    cfg: DatasetConfig,
    root: Path,
    documents: Sequence[Document] = (),
    classes: Mapping[str, str | None] | None = None,
) -> BuildReport:
    """Build ``train.jsonl``, ``eval.jsonl``, ``removed.jsonl`` and ``manifest.json``.

    Args:
        cfg: The ``dataset`` section.
        root: Folder that relative paths in ``cfg`` resolve against.
        documents: Knowledge-base documents (only used when generation is on).
        classes: Freshness class per doc_id (from ``generate.document_classes``).

    Returns:
        The report; nothing is gated here (see ``gates.run_gates``).

    Raises:
        InputError: the curated folder is missing, or there is nothing to build.
    """
    examples, rejected, tally = _collect(cfg, root, documents, classes)
    kept, tally.removed = _drop_id_clashes(examples)
    kept, dup_rows = deduplicate(kept, cfg.near_dup_threshold)
    tally.removed += dup_rows
    if cfg.redact:
        kept, tally.redactions = redact_examples(kept, unbased_kinds(cfg.legal_basis))
    train, held_out = split(kept, cfg.eval_share, cfg.seed)
    out = _resolve(root, cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / TRAIN_FILE, train)
    write_jsonl(out / EVAL_FILE, held_out)
    _write_removed(out / REMOVED_FILE, rejected, tally.removed)
    manifest = _manifest(cfg, out, train, held_out, tally)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out / MANIFEST_FILE).write_text(text, encoding="utf-8")
    log.info(
        "built SFT set %s: %d train, %d eval",
        manifest["dataset_hash"][:12],
        len(train),
        len(held_out),
    )
    return BuildReport(out, manifest, tuple(rejected))


def _manifest(
    cfg: DatasetConfig,
    out: Path,
    train: Sequence[SFTExample],
    held_out: Sequence[SFTExample],
    tally: _Tally,
) -> dict[str, Any]:
    """Counts, inputs and file hashes; no timestamps, so reruns are identical."""
    files = {
        name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
        for name in (TRAIN_FILE, EVAL_FILE, REMOVED_FILE)
    }
    files[TRAIN_FILE]["examples"] = len(train)
    files[EVAL_FILE]["examples"] = len(held_out)
    both = files[TRAIN_FILE]["sha256"] + files[EVAL_FILE]["sha256"]
    sources = Counter(e.source for e in [*train, *held_out])
    return {
        "version": MANIFEST_VERSION,
        "dataset_hash": hashlib.sha256(both.encode()).hexdigest(),
        "seed": cfg.seed,
        "eval_share": cfg.eval_share,
        "near_dup_threshold": cfg.near_dup_threshold,
        "counts": {
            "curated": tally.curated,
            "generated": tally.generated,
            "rejected": tally.rejected,
            "id_clashes": tally.count("id "),
            "exact_duplicates": tally.count("exact duplicate"),
            "near_duplicates": tally.count("near duplicate"),
            "train": len(train),
            "eval": len(held_out),
        },
        "sources": dict(sorted(sources.items())),
        "inputs": {"curated": tally.inputs, "template_sha256": tally.template_sha256},
        "redactions": tally.redactions,
        "files": files,
    }
