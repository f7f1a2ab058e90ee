"""Decision records: JSON + markdown, never overwritten, ``latest``, audit entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ragtune.audit import AuditLog
from ragtune.errors import InputError
from ragtune.tasks.decision import costing
from ragtune.tasks.decision.classify import classify_gap
from ragtune.tasks.decision.record import (
    audit_record,
    build_record,
    read_latest,
    write_record,
)
from ragtune.tasks.decision.rules import decide

INDEX = {"tag": "live-20260101T000000Z", "version": 7, "data_hash": "abc123.dir"}
EVAL = {"name": "eval", "split": "test", "queries": 7}
WHEN = datetime(2026, 5, 7, 10, 15, 30, tzinfo=UTC)


@pytest.fixture()
def decisions(kit):  # noqa: ANN001, ANN201
    miss = kit.make_gap(name="jargon", gap_type="vocabulary", labelled_examples=300)
    ok = kit.make_gap(name="rates", gap_type="current-facts")
    return [
        decide(
            miss,
            kit.make_evidence(miss, value=0.61),
            classify_gap(miss),
            kit.cfg,
            fine_tune_cost=costing.fine_tune_cost(miss, kit.cfg),
        ),
        decide(ok, kit.make_evidence(ok), classify_gap(ok), kit.cfg),
    ]


def record(decisions, kit, sha: str = "f" * 64, now=WHEN):  # noqa: ANN001, ANN201
    return build_record(
        decisions,
        gaps_file=Path("/kb/GAPS.yaml"),
        gaps_sha256=sha,
        index=INDEX,
        eval_set=EVAL,
        cfg=kit.cfg,
        organisation="Northwind Mutual",
        now=now,
    )


def test_record_pins_inputs_and_holds_every_decision(decisions, kit) -> None:
    rec = record(decisions, kit)
    assert rec["record_id"] == "20260507T101530Z-ffffffff"
    assert rec["gaps_sha256"] == "f" * 64 and rec["index"] == INDEX
    assert rec["counts"] == {"fine-tune": 1, "rag": 1}
    assert rec["thresholds"]["max_inference_usd_per_month"] == 1500.0
    jargon = rec["decisions"][0]
    assert jargon["recommendation"] == "fine-tune"
    assert jargon["fired"] == ["skill-gap", "accuracy-below-target"]
    assert jargon["evidence"]["value"] == 0.61
    assert jargon["evidence"]["best"]["label"] == "hybrid k=5"
    assert jargon["fine_tune_cost"]["examples_priced"] == 1000
    assert [g["kind"] for g in jargon["readiness"]] == ["too-few-examples"]
    json.dumps(rec)  # JSON-ready as it is


def test_written_versioned_and_latest_points_at_newest(
    decisions, kit, tmp_path: Path
) -> None:
    folder = tmp_path / "decisions"
    first = write_record(record(decisions, kit), folder)
    again = write_record(record(decisions, kit), folder)  # same second, same file
    assert first.record_id == "20260507T101530Z-ffffffff"
    assert again.record_id == "20260507T101530Z-ffffffff-2"
    assert first.json.read_text() != again.json.read_text()  # first kept intact
    assert json.loads(again.json.read_text())["record_id"] == again.record_id
    later = WHEN.replace(minute=16)
    newest = write_record(record(decisions, kit, sha="0123abcd" * 8, now=later), folder)
    assert newest.record_id == "20260507T101630Z-0123abcd"
    assert (folder / "latest").read_text().strip() == newest.record_id
    assert read_latest(folder)["record_id"] == newest.record_id
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            f"{r.record_id}.{ext}"
            for r in (first, again, newest)
            for ext in ("json", "md")
        ]
        + ["latest"]
    )


def test_markdown_shows_reasons_numbers_cost_and_readiness(
    decisions, kit, tmp_path: Path
) -> None:
    paths = write_record(record(decisions, kit), tmp_path)
    md = paths.markdown.read_text()
    assert "# Decision record 20260507T101530Z-ffffffff" in md
    assert "tag `live-20260101T000000Z`, version 7, data hash `abc123.dir`" in md
    assert (
        "| jargon | vocabulary | **fine-tune (not yet)** | skill-gap, "
        "accuracy-below-target |" in md
    )
    assert "| accuracy-below-target | yes | fine-tune | 0.610 | 0.800 |" in md
    assert "| RAG cost / month | $8.00 |" in md
    assert "**too-few-examples**: 300 labelled examples, at least 1,000" in md
    assert "Dataset readiness for a fine-tune (not-yet):" in md
    assert "## jargon: fine-tune (not yet)" in md
    assert "Fine-tune path (7B qlora, 1,000 examples)" in md
    assert "## rates: rag" in md


def test_audit_entry_chains_and_names_the_record(
    decisions, kit, tmp_path: Path
) -> None:
    rec = record(decisions, kit)
    paths = write_record(rec, tmp_path / "decisions")
    log = tmp_path / "audit.jsonl"
    entry = audit_record(rec, paths, AuditLog(log), actor="test")
    assert entry["action"] == "decision.recorded" and entry["actor"] == "test"
    details = entry["details"]
    assert details["record_id"] == paths.record_id
    assert details["recommendations"] == {"jargon": "fine-tune", "rates": "rag"}
    assert details["index_tag"] == INDEX["tag"] and details["gaps_sha256"] == "f" * 64
    assert AuditLog(log).verify().ok


def test_latest_before_any_record_is_explained(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no decision record yet"):
        read_latest(tmp_path)
