"""Reading the server's query and feedback logs into typed records.

The logs are written by another process (``ragtune serve``) and may hold a torn
last line or records from an older format; such lines are skipped and counted,
never fatal, because a monitor that stops on one bad line watches nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ragtune.tasks.monitoring.models import FeedbackRecord, QueryRecord

log = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True)
class LogRead:
    """Records parsed from one log, and how many lines were skipped and why."""

    path: str
    records: tuple[Any, ...]
    skipped: int = 0
    problems: tuple[str, ...] = ()


def parse_ts(value: Any) -> datetime:
    """An ISO timestamp; one without a zone is taken as UTC (what serve writes)."""
    if not isinstance(value, str):
        raise ValueError(f"timestamp {value!r} is not a string")
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def query_record(raw: dict[str, Any]) -> QueryRecord:
    """One query-log line; ``relevant`` is recomputed from the scores if absent."""
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValueError("no query text")
    scores = [float(s) for s in raw.get("top_scores") or []]
    relevant = raw.get("relevant")
    if not isinstance(relevant, bool):
        floor = raw.get("min_source_score")
        if floor is None:
            raise ValueError("neither 'relevant' nor 'min_source_score'")
        relevant = any(s >= float(floor) for s in scores)
    return QueryRecord(
        ts=parse_ts(raw.get("ts")),
        request_id=str(raw.get("request_id", "")),
        query=query,
        relevant=relevant,
        top_score=max(scores) if scores else None,
    )


def feedback_record(raw: dict[str, Any]) -> FeedbackRecord:
    """One feedback line on the 0-1 satisfaction scale the server uses."""
    thumbs, score = raw.get("thumbs"), raw.get("score")
    value = raw.get("satisfaction")
    if value is None:
        if thumbs in ("up", "down"):
            value = 1.0 if thumbs == "up" else 0.0
        elif isinstance(score, int) and 1 <= score <= 5:
            value = (score - 1) / 4
        else:
            raise ValueError("no satisfaction, thumbs or score")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"satisfaction {value} is outside 0-1")
    return FeedbackRecord(
        ts=parse_ts(raw.get("ts")),
        request_id=str(raw.get("request_id", "")),
        satisfaction=value,
        thumbs=thumbs if isinstance(thumbs, str) else None,
        score=score if isinstance(score, int) else None,
    )


def read_log(path: Path, parse: Callable[[dict[str, Any]], R]) -> LogRead:
    """Every parseable record of a JSONL file; a missing file is an empty log."""
    records: list[R] = []
    problems: list[str] = []
    for number, line in _lines(Path(path)):
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            records.append(parse(raw))
        except (ValueError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        log.warning("%s: skipped %d line(s), e.g. %s", path, len(problems), problems[0])
    return LogRead(str(path), tuple(records), len(problems), tuple(problems[:20]))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line
