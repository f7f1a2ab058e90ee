"""Versioned decision records: JSON and markdown, a ``latest`` pointer, an audit entry.

A record is written once under ``<state_dir>/decisions/`` as
``<UTC timestamp>-<first 8 hex of the gaps file's sha256>.json`` and ``.md`` and
never overwritten (a second record in the same second gets a ``-2`` suffix). It
pins what the decision used: the gaps file's hash, the live index tag, version
and data hash, the eval set and every threshold. ``latest`` is a one-line text
file naming the newest record, replaced atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragtune.atomic import write_atomic
from ragtune.audit import AuditLog
from ragtune.errors import InputError
from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.models import Decision
from ragtune.tasks.decision.render import render_markdown

log = logging.getLogger(__name__)

LATEST = "latest"
AUDIT_ACTION = "decision.recorded"


@dataclass(frozen=True)
class RecordPaths:
    """Where one record was written."""

    record_id: str
    json: Path
    markdown: Path


def build_record(
    decisions: Sequence[Decision],
    *,
    gaps_file: Path,
    gaps_sha256: str,
    index: dict[str, Any] | None,
    eval_set: dict[str, Any],
    cfg: DecisionConfig,
    organisation: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The record as JSON-ready data (the markdown is rendered from it).

    Args:
        decisions: One per gap, in the gaps file's order.
        gaps_file: The GAPS.yaml used.
        gaps_sha256: Its hash (``gaps.file_sha256``).
        index: ``tag``, ``version`` and ``data_hash`` of the index measured.
        eval_set: ``name``, ``split`` and ``queries`` of the eval set.
        cfg: The thresholds applied, recorded in full.
        organisation: From the gaps file.
        now: Creation time (UTC); defaults to now.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.recommendation] = counts.get(d.recommendation, 0) + 1
    return {
        "record_id": f"{now:%Y%m%dT%H%M%SZ}-{gaps_sha256[:8]}",
        "created_at": now.isoformat(),
        "organisation": organisation,
        "gaps_file": str(gaps_file),
        "gaps_sha256": gaps_sha256,
        "index": index,
        "eval_set": eval_set,
        "thresholds": cfg.model_dump(mode="json"),
        "counts": counts,
        "decisions": [d.to_dict() for d in decisions],
    }


def write_record(record: dict[str, Any], folder: Path) -> RecordPaths:
    """Write ``record`` as JSON and markdown, then point ``latest`` at it.

    Never overwrites: an existing id gets a numeric suffix, and the record's
    ``record_id`` is updated to the name actually used.
    """
    folder.mkdir(parents=True, exist_ok=True)
    base, record_id, n = record["record_id"], record["record_id"], 1
    while (folder / f"{record_id}.json").exists():
        n += 1
        record_id = f"{base}-{n}"
    record = {**record, "record_id": record_id}
    json_path = folder / f"{record_id}.json"
    md_path = folder / f"{record_id}.md"
    _write_new(json_path, json.dumps(record, indent=2, sort_keys=True, default=str))
    _write_new(md_path, render_markdown(json.loads(json_path.read_text("utf-8"))))
    write_atomic(folder / LATEST, record_id + "\n")
    log.info("decision record %s written to %s", record_id, folder)
    return RecordPaths(record_id, json_path, md_path)


def read_latest(folder: Path) -> dict[str, Any]:
    """The record ``latest`` points at.

    Raises:
        InputError: no record yet, or the pointer names a missing file.
    """
    pointer = folder / LATEST
    if not pointer.is_file():
        raise InputError(f"{folder}: no decision record yet (run `ragtune decide`)")
    record_id = pointer.read_text("utf-8").strip()
    path = folder / f"{record_id}.json"
    if not path.is_file():
        raise InputError(f"{pointer} names {record_id}, but {path} is missing")
    return json.loads(path.read_text("utf-8"))


def audit_record(
    record: dict[str, Any], paths: RecordPaths, log: AuditLog, actor: str = "ragtune"
) -> dict[str, Any]:
    """Append the decision to the hash-chained audit log (ids, hashes, outcomes)."""
    index = record.get("index") or {}
    return log.append(
        AUDIT_ACTION,
        actor=actor,
        record_id=paths.record_id,
        record_json=str(paths.json),
        gaps_sha256=record["gaps_sha256"],
        index_tag=index.get("tag"),
        data_hash=index.get("data_hash"),
        recommendations={d["gap"]: d["recommendation"] for d in record["decisions"]},
        outcomes={d["gap"]: d.get("outcome") for d in record["decisions"]},
    )


def _write_new(path: Path, text: str) -> None:
    with path.open("x", encoding="utf-8") as fh:  # "x": fail rather than overwrite
        fh.write(text)
