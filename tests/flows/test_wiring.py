"""``record``: one fact, written to the audit log and then announced as an event."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ragtune import events
from ragtune.audit import AuditLog
from ragtune.flows import _wiring


@pytest.fixture()
def emitted(monkeypatch) -> list[dict[str, Any]]:  # noqa: ANN001
    sent: list[dict[str, Any]] = []

    def fake_emit(**kwargs: Any) -> object:
        sent.append(kwargs)
        return object()

    monkeypatch.setattr(_wiring, "emit_event", fake_emit)
    monkeypatch.setattr(_wiring, "get_run_logger", lambda: logging.getLogger(__name__))
    return sent


def test_audit_record_and_event_carry_one_payload(tmp_path: Path, emitted) -> None:  # noqa: ANN001
    audit = AuditLog(tmp_path / "audit.jsonl")
    payload = {"tag": "live-1", "version": 3, "data_hash": "abc"}
    _wiring.record(
        audit, "index.published", ("index", "chunks"), payload,
        audit_only={"metrics": {"recall@5": 0.9}},
    )  # fmt: skip
    [line] = (tmp_path / "audit.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["action"] == "index.published" and entry["actor"] == "ragtune"
    assert entry["details"] == {
        **payload, "event": events.INDEX_PUBLISHED, "metrics": {"recall@5": 0.9}
    }  # fmt: skip
    [event] = emitted
    assert event["event"] == events.INDEX_PUBLISHED
    assert event["resource"] == {"prefect.resource.id": "ragtune.index.chunks"}
    assert event["payload"] == payload  # the audit-only details stay in the log
    assert audit.verify().ok


def test_no_event_without_its_audit_record(tmp_path: Path, emitted) -> None:  # noqa: ANN001
    blocked = tmp_path / "audit.jsonl"
    blocked.mkdir()  # the log cannot be written
    with pytest.raises(OSError):
        _wiring.record(AuditLog(blocked), "drift.detected", ("drift", "x"), {})
    assert emitted == []


def test_an_action_that_is_no_event_is_refused(tmp_path: Path, emitted) -> None:  # noqa: ANN001
    audit = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(ValueError, match="ragtune.index.exploded is not a ragtune"):
        _wiring.record(audit, "index.exploded", ("index", "chunks"), {})
    assert emitted == [] and not (tmp_path / "audit.jsonl").exists()


def test_config_digest_tells_configurations_apart(repo_root: Path) -> None:
    from ragtune.app.settings import load_settings

    params = repo_root / "params.yaml"
    shipped = _wiring.config_digest(load_settings(params, env={}))
    assert shipped == _wiring.config_digest(load_settings(params, env={}))
    changed = load_settings(params, env={"RAGTUNE_INDEX__SMOKE_TOP_K": "4"})
    assert _wiring.config_digest(changed) != shipped


def test_large_payloads_reach_the_event_as_counts_and_the_audit_whole(
    tmp_path: Path,
    emitted,  # noqa: ANN001
) -> None:
    """Thousands of changed files once made a 1.6 MB event the server refused."""
    audit = AuditLog(tmp_path / "audit.jsonl")
    ids = [f"doc-{i:05d}" for i in range(5000)]
    files = [{"kb_rel": f"{i}.md", "diff": "x" * 400} for i in range(40)]
    payload = {"source": "regulator", "doc_ids": ids, "files": files, "score": 0.9}
    _wiring.record(audit, "source.changed", ("source", "regulator"), payload)
    [entry] = audit.records()
    assert entry["details"]["doc_ids"] == ids  # the evidence keeps everything
    [event] = emitted
    sent = event["payload"]
    assert len(json.dumps(sent)) <= _wiring.MAX_EVENT_BYTES
    assert sent["doc_ids"] == ids[: _wiring.MAX_EVENT_ITEMS]
    assert sent["doc_ids_count"] == 5000 and sent["score"] == 0.9
    assert sent["truncated"] == ["doc_ids"] and sent["audit_hash"] == entry["hash"]
    huge = {"files": [{"diff": "y" * 5000} for _ in range(30)], "source": "s"}
    _wiring.record(audit, "source.changed", ("source", "s"), huge)
    cut = emitted[-1]["payload"]
    assert "files" not in cut and cut["files_count"] == 30
    assert cut["truncated"] == ["files"] and cut["source"] == "s"
