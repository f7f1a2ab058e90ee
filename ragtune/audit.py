"""Append-only, hash-chained audit log (JSON lines), keyed and anchored.

Each record carries the hash of the previous record's canonical form, so editing,
removing or reordering any record breaks the chain at that point; ``verify`` says
where. Writers take an exclusive file lock so concurrent flows cannot interleave,
and each append is fsynced before it returns.

A plain hash chain can be recomputed by anyone who edits the file, and cutting its
last records leaves a shorter chain that still verifies. So, given a key (a secret
kept out of the log), each record's hash is an HMAC-SHA256 that only the key's
holder can recompute; and, given an anchor file (meant to live in a second place:
another volume, a mounted bucket), every append also records the log's head there
(record count + last hash, under the same HMAC). ``verify`` then also detects a
removed tail, an emptied or deleted log and a rewrite without the key. Records
written before the log was keyed stay readable as a plain-hash prefix; once one
keyed record exists, an unkeyed record after it is a forgery.

A write cut short (a kill or a full disk mid-line) leaves a torn line. It must not
stop unrelated work: readers skip it with a warning, the next append starts on a
fresh line and chains to the last whole record, and ``verify`` fails naming the
line until ``repair`` moves it aside (``ragtune audit repair``).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragtune.atomic import write_atomic

GENESIS = "0" * 64
TORN = "torn line (not a whole JSON record): `ragtune audit repair` moves it aside"
KEYED = "hmac-sha256"

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


def _digest(record: dict[str, Any], key: bytes | None = None) -> str:
    if key is None:
        return hashlib.sha256(_canonical(record)).hexdigest()
    return hmac.new(key, _canonical(record), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of a key: tells "another key" from "edited"."""
    return hashlib.sha256(b"ragtune-audit-key-id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain check: ``ok`` and, when not, the first bad line and why."""

    ok: bool
    records: int
    bad_line: int | None = None
    reason: str | None = None
    unkeyed: int = 0
    anchored: int | None = None


class ChainedLog:
    """The chain, keys and anchor of an audit log, whatever stores its records
    (a file: ``AuditLog``; a database table: ``ragtune.audit_postgres``)."""

    name: str
    key: bytes | None
    anchor: Path | None

    def _rows(self) -> list[dict[str, Any] | None]:
        """Every stored record in order; None for one that is not a whole record."""
        raise NotImplementedError

    def records(self) -> list[dict[str, Any]]:
        """Every whole record in order."""
        return [r for r in self._rows() if r is not None]

    def _new_record(
        self,
        last: dict[str, Any] | None,
        action: str,
        actor: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        """The record that follows ``last``, hashed (HMAC when keyed)."""
        body = {
            "ts": datetime.now(UTC).isoformat(),
            "action": action,
            "actor": actor,
            "details": details,
            "prev": GENESIS if last is None else last["hash"],
        }
        if self.key is not None:
            body |= {"alg": KEYED, "kid": key_id(self.key)}
        return {**body, "hash": _digest(body, self.key)}

    # -- anchors -------------------------------------------------------------------

    def _count_after(self, last: dict[str, Any] | None) -> int:
        """Whole records once the record after ``last`` is written: the anchor's
        count plus one when it still names ``last``, else counted from the file
        (the anchor lags after a kill between the two writes, or is new)."""
        anchor = self.read_anchor()
        if last is None:
            return 1
        if anchor and anchor.get("head") == last["hash"]:
            return int(anchor["records"]) + 1
        return len(self.records())

    def _anchor_mac(self, body: dict[str, Any]) -> str | None:
        return None if self.key is None else _digest(body, self.key)

    def _write_anchor(self, head: dict[str, Any], records: int) -> None:
        body = {
            "log": self.name,
            "records": records,
            "head": head["hash"],
            "ts": head["ts"],
        }
        anchor = {**body, "mac": self._anchor_mac(body)}
        write_atomic(self.anchor, json.dumps(anchor, sort_keys=True), durable=True)

    def read_anchor(self) -> dict[str, Any] | None:
        """The last anchored head (records, head hash, when), None when absent."""
        if self.anchor is None or not self.anchor.exists():
            return None
        try:
            anchor = json.loads(self.anchor.read_text("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {"unreadable": True}
        return anchor if isinstance(anchor, dict) else {"unreadable": True}

    # -- verification ----------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Check the chain, the keys and the anchor; the first failure names the
        line (or the anchor) and the reason."""
        chain = self._verify_chain()
        if not chain.ok:
            return chain
        return self._verify_anchor(chain)

    def _verify_chain(self) -> VerifyResult:
        """Recompute the chain; the first mismatch names the line and the reason."""
        prev, keyed, unkeyed = GENESIS, False, 0
        rows = self._rows()
        for number, record in enumerate(rows, start=1):
            if record is None:
                return VerifyResult(False, number - 1, number, TORN)
            body = {k: v for k, v in record.items() if k != "hash"}
            if body.get("prev") != prev:
                return VerifyResult(
                    False,
                    number - 1,
                    number,
                    "chain broken: a record before it was removed, reordered or edited",
                )
            problem = self._record_problem(body, record["hash"], keyed)
            if problem is not None:
                return VerifyResult(False, number - 1, number, problem)
            keyed = keyed or body.get("alg") == KEYED
            unkeyed += body.get("alg") != KEYED
            prev = record["hash"]
        return VerifyResult(ok=True, records=len(rows), unkeyed=unkeyed)

    def _record_problem(
        self, body: dict[str, Any], stored: str, after_keyed: bool
    ) -> str | None:
        """Why one record's hash cannot be trusted, None when it can."""
        if body.get("alg") != KEYED:
            if after_keyed:
                return (
                    "unkeyed record after keyed ones: inserted or rewritten "
                    "without the audit key"
                )
            return None if _digest(body) == stored else "record was edited"
        if self.key is None:
            return "keyed record: verifying it needs the audit key"
        if body.get("kid") != key_id(self.key):
            return (
                f"record was keyed with another key (key id {body.get('kid')}, "
                f"this project's is {key_id(self.key)})"
            )
        if _digest(body, self.key) != stored:
            return (
                "record was edited (its HMAC does not match; "
                "recomputed without the key)"
            )
        return None

    def _verify_anchor(self, chain: VerifyResult) -> VerifyResult:
        """Compare the anchored head with the log: a cut tail or a rewrite shows."""
        if self.anchor is None:
            return chain
        anchor = self.read_anchor()

        def broken(reason: str, line: int | None = None) -> VerifyResult:
            return VerifyResult(False, chain.records, line, reason, chain.unkeyed)

        if anchor is None:
            if chain.records == 0:
                return chain
            return broken(
                f"no anchor at {self.anchor} for a log of {chain.records} records: "
                "the anchor was deleted, or the log predates anchoring "
                "(`ragtune audit anchor` once you trust it)"
            )
        if anchor.get("unreadable") or not {"records", "head", "mac"} <= anchor.keys():
            return broken(f"anchor {self.anchor} is not an anchor record")
        body = {k: v for k, v in anchor.items() if k != "mac"}
        if self.key is not None and anchor["mac"] != self._anchor_mac(body):
            return broken(f"anchor {self.anchor} was edited or written without the key")
        count = int(anchor["records"])
        if chain.records < count:
            if chain.records == 0:
                return broken(
                    f"the log was emptied or deleted: its anchor ({anchor.get('ts')}) "
                    f"counts {count} records"
                )
            return broken(
                f"the last {count - chain.records} record(s) were removed: the "
                f"log holds {chain.records}, its anchor ({anchor.get('ts')}) "
                f"counts {count}",
                chain.records + 1,
            )
        head = self.records()[count - 1]["hash"]
        if head != anchor["head"]:
            return broken(
                f"record {count} is not the anchored head: the log was rewritten",
                count,
            )
        return VerifyResult(True, chain.records, unkeyed=chain.unkeyed, anchored=count)


class AuditLog(ChainedLog):
    """One audit log file; ``append`` is the only way records are written."""

    def __init__(
        self, path: Path, key: bytes | None = None, anchor: Path | None = None
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.key = key
        self.anchor = None if anchor is None else Path(anchor)

    def _last_record(self) -> dict[str, Any] | None:
        """The last whole record; a torn tail is skipped, not trusted."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
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
                        return record
        return None

    def append(self, action: str, actor: str = "ragtune", **details: Any) -> dict:
        """Write one record (action, actor, details) chained to the previous one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                last = self._last_record()
                record = self._new_record(last, action, actor, details)
                line = json.dumps(record, sort_keys=True, default=str) + "\n"
                fh.seek(0, 2)
                if fh.tell() and not self._ends_with_newline(fh):
                    line = "\n" + line  # a torn tail stays on a line of its own
                fh.write(line.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
                if self.anchor is not None:
                    self._write_anchor(record, self._count_after(last))
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return record

    @staticmethod
    def _ends_with_newline(fh: Any) -> bool:  # noqa: ANN401 - a binary file object
        fh.seek(-1, 2)
        last = fh.read(1) == b"\n"
        fh.seek(0, 2)
        return last

    def _rows(self) -> list[dict[str, Any] | None]:
        """Each line's record (blank lines skipped before verification counts
        them as torn); a torn line is None, with a warning."""
        if not self.path.exists():
            return []
        rows: list[dict[str, Any] | None] = []
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            record = _parse(line)
            if record is None:
                log.warning("%s line %d: %s", self.path, number, TORN)
            rows.append(record)
        return rows

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

    def reanchor(self) -> VerifyResult:
        """Anchor the current head of a log that verifies (one written before
        anchoring, or after the anchor's place moved); refuses a broken one."""
        if not self.path.exists():
            return VerifyResult(ok=True, records=0)
        with self.path.open("a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                result = self._verify_chain()
                if result.ok and self.anchor is not None and result.records:
                    last = self._last_record()
                    assert last is not None  # records > 0
                    self._write_anchor(last, result.records)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return result


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
