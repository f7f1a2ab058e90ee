"""Champion tenures from the promotion log and which versions a rollback may
restore, case by case; plus the log's hash chain. No MLflow needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ragtune.errors import GateFailed
from ragtune.tasks.registry.models import PromotionRecord, TransitionPlan
from ragtune.tasks.registry.promotion_log import (
    PromotionLog,
    rollback_targets,
    tenures,
)
from ragtune.tasks.registry.rollback import refusal

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _record(to: int, tag: str, days_ago: int, kind: str = "promote") -> PromotionRecord:
    return PromotionRecord(
        kind=kind, model_name="m", from_version=None, to_version=to,
        from_index_tag=None, index_tag=tag, actor="a", reason="r",
        at=NOW - timedelta(days=days_ago), adapter_uri="", logged_at="", hash="",
    )  # fmt: skip


def test_no_history_means_nothing_to_roll_back_to() -> None:
    assert tenures([]) == [] and rollback_targets([], NOW, 90) == {}
    assert refusal(1, [], NOW, 90) == (
        "cannot roll back: version 1 was never promoted; eligible: none"
    )


def test_each_move_ends_the_previous_tenure() -> None:
    spans = tenures([_record(1, "a", 50), _record(2, "b", 20), _record(1, "a2", 5)])
    assert [(s.version, s.index_tag) for s in spans] == [(1, "a"), (2, "b"), (1, "a2")]
    assert spans[0].end == spans[1].start and spans[1].end == spans[2].start
    assert spans[2].end is None


def test_a_version_promoted_long_ago_but_replaced_recently_is_eligible() -> None:
    history = [_record(1, "a", 300), _record(2, "b", 10)]
    assert rollback_targets(history, NOW, 90) == {1: "a", 2: "b"}


def test_a_version_replaced_before_the_window_is_not() -> None:
    history = [_record(1, "a", 300), _record(2, "b", 120), _record(3, "c", 5)]
    assert rollback_targets(history, NOW, 90) == {2: "b", 3: "c"}
    assert rollback_targets(history, NOW, 365) == {1: "a", 2: "b", 3: "c"}
    message = refusal(1, history, NOW, 90)
    assert "version 1 last served until 2026-02-01, 120 days ago" in message
    assert "eligible: v2 (index b, served until 2026-05-27), v3 (index c, champion" in (
        message
    )


def test_a_rollback_restores_the_tag_of_the_latest_tenure() -> None:
    history = [
        _record(1, "a", 40),
        _record(2, "b", 30),
        _record(1, "a2", 20, "rollback"),
        _record(2, "b2", 10),
    ]
    assert rollback_targets(history, NOW, 90) == {1: "a2", 2: "b2"}


def _plan(to: int, tag: str) -> TransitionPlan:
    return TransitionPlan(
        kind="promote", model_name="m", to_version=to, index_tag=tag,
        adapter_uri=f"file:///a/{to}", from_version=None, from_index_tag="t0",
        previous_challenger=None, actor="alice", reason="why", at=NOW,
    )  # fmt: skip


def test_log_round_trips_and_a_broken_chain_stops_its_readers(tmp_path) -> None:
    log = PromotionLog(tmp_path / "promotions.jsonl")
    log.append(_plan(1, "t1"))
    log.append(_plan(2, "t2"))
    history = log.verified_history("m")
    assert [(r.to_version, r.index_tag, r.actor, r.at) for r in history] == [
        (1, "t1", "alice", NOW),
        (2, "t2", "alice", NOW),
    ]
    assert log.history("other-model") == []
    lines = log.path.read_text().splitlines()
    log.path.write_text(lines[1] + "\n")  # the first record removed
    with pytest.raises(GateFailed, match="line 1: chain broken"):
        log.verified_history("m")
