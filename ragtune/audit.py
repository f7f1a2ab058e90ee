"""Append-only, hash-chained audit log (JSON lines).

Each record carries the SHA-256 of the previous record's canonical form, so editing,
removing or reordering any record breaks the chain at that point; ``verify`` says
where. Writers take an exclusive file lock so concurrent flows cannot interleave.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def _digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check: ``ok`` and, when not, the first bad line and why."""

    ok: bool
    records: int
    bad_line: int | None = None
    reason: str | None = None


class AuditLog:
    """One audit log file; ``append`` is the only way records are written."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _last_hash(self) -> str:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return GENESIS
        with self.path.open("rb") as fh:
            fh.seek(0, 2)
            pos = fh.tell()
            chunk = b""
            while pos > 0 and chunk.count(b"\n") < 2:
                step = min(4096, pos)
                pos -= step
                fh.seek(pos)
                chunk = fh.read(step) + chunk
        last = chunk.strip().splitlines()[-1]
        return json.loads(last)["hash"]

    def append(self, action: str, actor: str = "ragtune", **details: Any) -> dict:
        """Write one record (action, actor, details) chained to the previous one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                body = {
                    "ts": datetime.now(UTC).isoformat(),
                    "action": action,
                    "actor": actor,
                    "details": details,
                    "prev": self._last_hash(),
                }
                record = {**body, "hash": _digest(body)}
                fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return record

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def verify(self) -> VerifyResult:
        """Recompute the chain; the first mismatch names the line and the reason."""
        if not self.path.exists():
            return VerifyResult(ok=True, records=0)
        prev = GENESIS
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                body = {k: v for k, v in record.items() if k != "hash"}
                stored = record["hash"]
            except (json.JSONDecodeError, KeyError, TypeError):
                return VerifyResult(False, number - 1, number, "not a valid record")
            if body.get("prev") != prev:
                return VerifyResult(
                    False,
                    number - 1,
                    number,
                    "chain broken: a record before it was removed, reordered or edited",
                )
            if _digest(body) != stored:
                return VerifyResult(False, number - 1, number, "record was edited")
            prev = stored
        return VerifyResult(ok=True, records=len(lines))


def export_rows(
    records: list[dict[str, Any]],
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, str]]:
    """Flat rows for auditors (CSV), filtered by action prefix and time window."""
    rows = []
    for r in records:
        ts = datetime.fromisoformat(r["ts"])
        if action and not r["action"].startswith(action):
            continue
        if (since and ts < since) or (until and ts > until):
            continue
        rows.append(
            {
                "ts": r["ts"],
                "action": r["action"],
                "actor": r["actor"],
                "details": json.dumps(r["details"], sort_keys=True, default=str),
                "hash": r["hash"],
            }
        )
    return rows
