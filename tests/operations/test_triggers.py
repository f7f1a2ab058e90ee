"""Trigger decisions, case by case (event + context -> runs and reasons)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ragtune import events
from ragtune.tasks.operations.triggers import (
    RETRAIN_DEADLINE,
    ROUTER,
    TriggerContext,
    TriggerEvent,
    decide,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CLASSES = ("regulatory", "product-pricing", "historical", "domain-concept")


def ctx(**kw) -> TriggerContext:  # noqa: ANN003
    return TriggerContext(classes=CLASSES, **kw)


def ev(name: str, **payload) -> TriggerEvent:  # noqa: ANN003
    return TriggerEvent(name=name, occurred=T0, payload=payload, event_id="e-1")


def kinds(decision) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(a.kind, a.deployment) for a in decision.actions]


def test_source_change_refreshes_the_class_of_its_documents() -> None:
    d = decide(
        ev(events.SOURCE_CHANGED, source="s", doc_ids=["fees"]),
        ctx(doc_classes={"fees": "product-pricing", "other": "historical"}),
    )
    assert kinds(d) == [("refresh", "knowledge-refresh/refresh-product-pricing")]
    assert d.event_id == "e-1" and "product-pricing" in d.reasons[0]


def test_source_change_payload_class_wins_and_new_docs_default_to_watched() -> None:
    named = decide(ev(events.SOURCE_CHANGED, **{"class": "historical"}), ctx())
    assert kinds(named) == [("refresh", "knowledge-refresh/refresh-historical")]
    # a document not in the index yet: the watcher only writes the regulatory area
    new = decide(ev(events.SOURCE_CHANGED, doc_ids=["brand-new"]), ctx())
    assert kinds(new) == [("refresh", "knowledge-refresh/refresh-regulatory")]


def test_significant_source_change_leaves_the_refresh_to_the_regulatory_rule() -> None:
    # the watcher sends both events for one significant change: one refresh only
    changed = decide(
        ev(events.SOURCE_CHANGED, source="s", doc_ids=["r"], significant=True), ctx()
    )
    assert changed.actions == () and events.REGULATORY_UPDATED in changed.reasons[0]
    updated = decide(ev(events.REGULATORY_UPDATED, doc_ids=["r"], score=0.8), ctx())
    assert kinds(updated) == [("refresh", "knowledge-refresh/refresh-regulatory")]
    minor = decide(
        ev(events.SOURCE_CHANGED, source="s", doc_ids=["r"], significant=False), ctx()
    )
    assert kinds(minor) == [("refresh", "knowledge-refresh/refresh-regulatory")]


def test_regulatory_update_without_fine_tuned_knowledge_only_refreshes() -> None:
    d = decide(ev(events.REGULATORY_UPDATED, doc_ids=["r"], score=0.8), ctx())
    assert [a.kind for a in d.actions] == ["refresh"]
    assert "sends no gap to fine-tuning" in d.reasons[-1]


def test_regulatory_update_in_the_model_retrains_with_a_30_day_deadline() -> None:
    d = decide(
        ev(events.REGULATORY_UPDATED, doc_ids=["r"], score=0.8),
        ctx(fine_tuned_gaps=("claims-format",), decision_record="rec-1"),
    )
    assert [a.kind for a in d.actions] == ["refresh", "retrain", "deadline-check"]
    retrain, check = d.actions[1], d.actions[2]
    assert retrain.parameters == {"reason": "regulatory-update"}
    assert retrain.scheduled_for is None  # requested now
    assert check.deployment == ROUTER
    assert check.scheduled_for == T0 + timedelta(days=30)
    assert check.parameters["event_name"] == RETRAIN_DEADLINE
    assert "rec-1" in d.reasons[-1] and "2026-03-31" in d.reasons[-1]


@pytest.mark.parametrize(
    ("last", "retrains"),
    [
        (None, True),  # never retrained
        (T0 - timedelta(days=1), True),  # retrained before the change only
        (T0 + timedelta(days=3), False),  # something retrained in between
    ],
)
def test_deadline_retrains_only_when_nothing_did(last, retrains) -> None:  # noqa: ANN001
    d = decide(
        ev(RETRAIN_DEADLINE, changed_at=T0.isoformat()), ctx(last_retrain_at=last)
    )
    assert [a.kind for a in d.actions] == (["retrain"] if retrains else [])


@pytest.mark.parametrize(
    ("spent", "fires"),
    [(0.0, True), (175.0, True), (176.0, False)],  # 175 + 25 == 200 is allowed
)
def test_drift_retrains_within_the_gpu_budget(spent: float, fires: bool) -> None:
    d = decide(
        ev(events.DRIFT_DETECTED, detectors=["query_drift"]),
        ctx(spent_usd=spent, retrain_cost_usd=25.0, gpu_budget_usd=200.0),
    )
    assert [a.parameters for a in d.actions] == ([{"reason": "drift"}] if fires else [])
    assert ("budget would be exceeded" in d.reasons[0]) is not fires


def test_format_change_retrains_and_unknown_events_do_nothing() -> None:
    fmt = decide(ev(events.FORMAT_CHANGED, files=["schemas/claim.json"]), ctx())
    assert [a.parameters["reason"] for a in fmt.actions] == ["format-change"]
    assert "schemas/claim.json" in fmt.reasons[0]
    other = decide(ev("ragtune.index.published"), ctx())
    assert other.actions == () and "no trigger" in other.reasons[0]
    assert other.to_json()["event"] == "ragtune.index.published"
