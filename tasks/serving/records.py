"""What the server writes down about each request.

Three records, each for its reader: the hash-chained audit log (who asked, which
sources, model and index versions, what the filter removed; the question only as
a hash), the query log (question text with every PII kind redacted, source
similarities, relevance, latency: what the drift monitor reads) and the feedback
log (satisfaction tracking).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragtune.audit import AuditLog
from ragtune.tasks.index.retrieval import RetrievedChunk
from ragtune.tasks.serving.auth import Caller
from ragtune.tasks.serving.output_filter import OutputFilter

log = logging.getLogger(__name__)

SERVED = "answer.served"
REJECTED = "answer.rejected"
RETRIEVED = "retrieval.served"


class JsonlLog:
    """An append-only JSON-lines file; appends are locked so writers never
    interleave."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.write(line)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s line %d is not JSON; skipped", self.path, number)


class RecentIds:
    """The last ``size`` request ids answered, a bounded set in front of the
    query-log scan that feedback validation would otherwise do every time."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: deque[str] = deque(maxlen=size)
        self._set: set[str] = set()
        self._lock = threading.Lock()

    def add(self, request_id: str) -> None:
        with self._lock:
            if len(self._ids) == self._ids.maxlen:
                self._set.discard(self._ids[0])
            self._ids.append(request_id)
            self._set.add(request_id)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._set


def question_hash(text: str) -> str:
    """SHA-256 of the question: lets an auditor match repeats without the text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Served:
    """One answered request, as the audit and query logs describe it."""

    request_id: str
    caller: str
    api_key_id: str | None
    question: str
    sources: list[RetrievedChunk]
    model: str
    adapter_version: str | None
    index_tag: str | None
    index_version: int
    filtered: dict[str, int]
    stream: bool
    latency_s: float
    tokens_in: int | None = None
    tokens_out: int | None = None
    completed: bool = True


class Recorder:
    """Writes served and rejected requests to the audit log and the query log."""

    def __init__(
        self,
        audit: AuditLog,
        query_log: JsonlLog,
        min_source_score: float,
        question_filter: OutputFilter,
    ) -> None:
        self.audit, self.query_log = audit, query_log
        self.min_source_score = min_source_score
        self.question_filter = question_filter
        self.recent = RecentIds()  # answers feedback may refer to

    def served(self, answer: Served) -> None:
        self.recent.add(answer.request_id)
        self.audit.append(
            SERVED,
            actor=answer.caller,
            request_id=answer.request_id,
            api_key_id=answer.api_key_id,
            question_sha256=question_hash(answer.question),
            sources=[s.doc_id for s in answer.sources],
            model=answer.model,
            adapter_version=answer.adapter_version,
            index_tag=answer.index_tag,
            index_version=answer.index_version,
            filtered=answer.filtered,
            stream=answer.stream,
            completed=answer.completed,
        )
        similarities = [round(s.similarity, 4) for s in answer.sources]
        self.query_log.append(
            {
                "ts": now_iso(),
                "request_id": answer.request_id,
                # Every PII kind out (serving.query_log_pii_kinds): the drift
                # monitor needs topics, not the name, birth date or card number a
                # customer put in a question.
                "query": self.question_filter.apply(answer.question).text,
                "top_scores": similarities,
                "relevant": any(x >= self.min_source_score for x in similarities),
                "min_source_score": self.min_source_score,
                "sources": [s.doc_id for s in answer.sources],
                "latency_ms": round(answer.latency_s * 1000, 1),
                "tokens_in": answer.tokens_in,
                "tokens_out": answer.tokens_out,
                "model": answer.model,
                "adapter_version": answer.adapter_version,
                "index_version": answer.index_version,
                "stream": answer.stream,
                "completed": answer.completed,
            }
        )

    def retrieved(
        self,
        request_id: str,
        caller: Caller,
        query: str,
        sources: list[RetrievedChunk],
        index_tag: str | None,
        index_version: int,
    ) -> None:
        """A ``/v1/retrieve`` answer: who read which documents (the query only as
        a hash, as for answers)."""
        self.audit.append(
            RETRIEVED,
            actor=caller.name,
            request_id=request_id,
            api_key_id=caller.api_key_id,
            question_sha256=question_hash(query),
            sources=[s.doc_id for s in sources],
            index_tag=index_tag,
            index_version=index_version,
        )

    def rejected(
        self,
        request_id: str,
        caller: str,
        status: int,
        reason: str,
        *,
        api_key_id: str | None = None,
        question: str | None = None,
    ) -> None:
        self.audit.append(
            REJECTED,
            actor=caller,
            request_id=request_id,
            api_key_id=api_key_id,
            status=status,
            reason=reason,
            question_sha256=None if question is None else question_hash(question),
        )
        log.info("request %s rejected (%d): %s", request_id, status, reason)
