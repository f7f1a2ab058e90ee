"""Append-only, hash-chained audit log (JSON lines).

Each record carries the SHA-256 of the previous record's canonical form, so editing,
removing or reordering any record breaks the chain at that point; ``verify`` says
where. Writers take an exclusive file lock so concurrent flows cannot interleave,
and each append is fsynced before it returns.

A write cut short (a kill or a full disk mid-line) leaves a torn line. It must not
stop unrelated work: readers skip it with a warning, the next append starts on a
fresh line and chains to the last whole record, and ``verify`` fails naming the
line until ``repair`` moves it aside (``ragtune audit repair``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
TORN = "torn line (not a whole JSON record): `ragtune audit repair` moves it aside"

log = logging.getLogger(__name__)


def _parse(line: str | bytes) -> dict[str, Any] | None:
    """The record on ``line``, or None when the line is torn or not a record."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
        return None
    return record


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
        """Hash of the last whole record; a torn tail is skipped, not trusted."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return GENESIS
        with self.path.open("rb") as fh:
            fh.seek(0, 2)
            pos = fh.tell()
            tail = b""
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                fh.seek(pos)
                tail = fh.read(step) + tail
                lines = tail.splitlines()
                # the first line of a window may be cut: trust it only at the start
                for line in reversed(lines if pos == 0 else lines[1:]):
                    if (record := _parse(line)) is not None:
                        return record["hash"]
        return GENESIS

    def append(self, action: str, actor: str = "ragtune", **details: Any) -> dict:
        """Write one record (action, actor, details) chained to the previous one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as fh:
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
                line = json.dumps(record, sort_keys=True, default=str) + "\n"
                fh.seek(0, 2)
                if fh.tell() and not self._ends_with_newline(fh):
                    line = "\n" + line  # a torn tail stays on a line of its own
                fh.write(line.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return record

    @staticmethod
    def _ends_with_newline(fh: Any) -> bool:  # noqa: ANN401 - a binary file object
        fh.seek(-1, 2)
        last = fh.read(1) == b"\n"
        fh.seek(0, 2)
        return last

    def records(self) -> list[dict[str, Any]]:
        """Every whole record in order; torn lines are skipped with a warning."""
        if not self.path.exists():
            return []
        found = []
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = _parse(line)
            if record is None:
                log.warning("%s line %d: %s", self.path, number, TORN)
                continue
            found.append(record)
        return found

    def repair(self) -> list[int]:
        """Move torn lines to ``<log>.torn`` and rewrite the log without them.

        Returns the (1-based) line numbers moved, none when the log was whole. The
        records after a torn line were chained to the whole record before it, so
        the chain is intact again once the line is gone; ``verify`` confirms it.
        """
        if not self.path.exists():
            return []
        with self.path.open("r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                raw = fh.read()
                lines = raw.decode("utf-8", errors="replace").splitlines()
                torn = [
                    (n, line)
                    for n, line in enumerate(lines, start=1)
                    if line.strip() and _parse(line) is None
                ]
                if not torn:
                    return []
                aside = self.path.with_name(self.path.name + ".torn")
                with aside.open("a", encoding="utf-8") as out:
                    stamp = datetime.now(UTC).isoformat()
                    for n, line in torn:
                        out.write(json.dumps({"moved": stamp, "line": n, "text": line}))
                        out.write("\n")
                    out.flush()
                    os.fsync(out.fileno())
                cut = {n for n, _ in torn}
                kept = [
                    line
                    for n, line in enumerate(lines, start=1)
                    if line.strip() and n not in cut
                ]
                # rewritten in place, under the writers' lock (a rename would let a
                # writer waiting on the old file append to a file nobody reads);
                # the whole old log is kept beside it until the rewrite is durable
                backup = self.path.with_name(self.path.name + ".repair-backup")
                backup.write_bytes(raw)
                fh.seek(0)
                fh.truncate()
                fh.write("".join(f"{line}\n" for line in kept).encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
                backup.unlink()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        log.warning("%s: moved torn line(s) %s to %s", self.path, sorted(cut), aside)
        return sorted(cut)

    def verify(self) -> VerifyResult:
        """Recompute the chain; the first mismatch names the line and the reason."""
        if not self.path.exists():
            return VerifyResult(ok=True, records=0)
        prev = GENESIS
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            record = _parse(line)
            if record is None:
                return VerifyResult(False, number - 1, number, TORN)
            body = {k: v for k, v in record.items() if k != "hash"}
            stored = record["hash"]
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
