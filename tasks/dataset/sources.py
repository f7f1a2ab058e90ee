"""Readers for what the gates compare the dataset with: the retrieval eval
queries (BEIR ``queries.jsonl``) and the serving query log (JSON lines)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ragtune.errors import InputError
from ragtune.tasks.dataset.coverage import LoggedQuery

log = logging.getLogger(__name__)


def _rows(path: Path, what: str) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{what} {path} line {number}: not JSON ({exc.msg})"
            ) from None
        if isinstance(row, dict):
            rows.append(row)
    return rows


def read_eval_queries(path: Path | None) -> tuple[str, ...]:
    """Query texts of a BEIR ``queries.jsonl`` (``text`` field); none if absent."""
    if path is None or not path.is_file():
        log.info("no retrieval eval queries at %s; leakage check skips them", path)
        return ()
    return tuple(str(r["text"]) for r in _rows(path, "eval queries") if r.get("text"))


def read_query_log(path: Path | None, limit: int = 20000) -> tuple[LoggedQuery, ...]:
    """The latest ``limit`` served questions (``query`` and ``sources`` fields)."""
    if path is None or not path.is_file():
        return ()
    rows = [r for r in _rows(path, "query log") if r.get("query")][-limit:]
    return tuple(
        LoggedQuery(str(r["query"]), tuple(str(s) for s in r.get("sources") or ()))
        for r in rows
    )
