"""Age and staleness per class policy, boundary day included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ragtune.tasks.freshness.config import ClassPolicy
from ragtune.tasks.freshness.staleness import NO_DATE, staleness

TODAY = date(2026, 3, 1)
REGULATORY = ClassPolicy(max_age_days=30, volatile=True)
HISTORICAL = ClassPolicy(max_age_days=None, volatile=False)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.mark.parametrize(
    ("reviewed", "effective", "age", "stale"),
    [
        (ago(3), None, 3, False),  # fresh
        (ago(30), None, 30, False),  # the boundary day itself is still fresh
        (ago(31), None, 31, True),  # one day past max_age_days
        (None, ago(200), 200, True),  # no review: the effective date counts
        (ago(5), ago(400), 5, False),  # a recent review outranks an old date
    ],
    ids=["fresh", "boundary", "boundary+1", "effective-only", "reviewed-wins"],
)
def test_volatile_ages(doc, reviewed, effective, age, stale):
    d = doc("r", "text", reviewed=reviewed, effective=effective)
    result = staleness(d, REGULATORY, TODAY)
    assert (result.age_days, result.stale) == (age, stale)
    assert (result.reason is not None) == stale


def test_stale_reason_names_the_basis(doc):
    result = staleness(doc("r", "t", effective=ago(45)), REGULATORY, TODAY)
    assert result.reason == "45 days since effective date > max_age_days 30"


def test_volatile_without_any_date_is_stale(doc):
    result = staleness(doc("r", "text"), REGULATORY, TODAY)
    assert (result.age_days, result.stale, result.reason) == (None, True, NO_DATE)


@pytest.mark.parametrize("reviewed", [None, ago(10), ago(10_000)])
def test_stable_class_is_never_stale(doc, reviewed):
    d = doc("h", "text", reviewed=reviewed, valid_until=ago(1))
    result = staleness(d, HISTORICAL, TODAY)
    assert result.stale is False and result.reason is None
    assert result.age_days == (None if reviewed is None else (TODAY - reviewed).days)


def test_volatile_without_max_age_is_only_stale_without_date(doc):
    policy = ClassPolicy(max_age_days=None, volatile=True)
    assert staleness(doc("p", "t", reviewed=ago(999)), policy, TODAY).stale is False
    assert staleness(doc("p", "t"), policy, TODAY).reason == NO_DATE


def test_superseded_volatile_document_is_stale(doc):
    d = doc("r", "t", reviewed=ago(2), valid_until=ago(1))
    result = staleness(d, REGULATORY, TODAY)
    assert result.stale and result.reason == f"past valid_until {ago(1).isoformat()}"
    assert (
        staleness(
            doc("r", "t", reviewed=ago(2), valid_until=TODAY), REGULATORY, TODAY
        ).stale
        is False
    )


def test_every_stale_document_gets_a_next_step_naming_its_owner(doc):
    from dataclasses import replace

    late = replace(doc("r", "t", reviewed=ago(45)), metadata={"owner": "Fraud Ops"})
    result = staleness(late, REGULATORY, TODAY)
    assert result.next_step == (
        f"Fraud Ops: review was due {ago(15).isoformat()}; confirm or update it, "
        f"then set last_reviewed: {TODAY.isoformat()}"
    )
    ended = staleness(
        doc("r", "t", reviewed=ago(2), valid_until=ago(1)), REGULATORY, TODAY
    )
    assert ended.next_step.startswith("its owner (no owner in its metadata): it no")
    assert "searches as of today leave it out" in ended.next_step
    undated = staleness(doc("r", "t"), REGULATORY, TODAY)
    assert undated.next_step.endswith("review it and set last_reviewed")
    assert (
        staleness(doc("r", "t", reviewed=ago(3)), REGULATORY, TODAY).next_step is None
    )
