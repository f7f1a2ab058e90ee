"""The trigger decision case by case, as Dagster tests its sensor cursors: first
run, nothing new, below the minimum sample, in cooldown, advisory, fires; and the
cursor round trip through the state folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.monitoring import (
    DetectorResult,
    DriftConfig,
    DriftCursor,
    decide,
    load_cursor,
    save_cursor,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CFG = DriftConfig()  # no_good_source: min 50, cooldown 24 h; satisfaction 20, 168 h


def result(
    name: str = "no_good_source",
    fired: bool = True,
    n: int = 80,
    latest: datetime | None = NOW - timedelta(minutes=5),
    value: float = 0.45,
) -> DetectorResult:
    return DetectorResult.of(
        name,
        fired=fired,
        advisory=False,
        value=value,
        threshold=0.3,
        n=n,
        reason=f"{value:.0%} of queries found no relevant source",
        latest=latest,
    )


def test_first_run_with_a_breach_fires_and_starts_the_cooldown() -> None:
    decision = decide([result()], DriftCursor(), NOW, CFG)
    assert decision.fire and decision.detectors == ("no_good_source",)
    assert decision.statuses == {"no_good_source": "fires"}
    assert decision.new_cursor.last_fired == {"no_good_source": NOW}
    assert decision.new_cursor.seen == {"no_good_source": NOW - timedelta(minutes=5)}
    # the cooldown of no_good_source is 24 hours
    assert decision.results[0].cooled_down_until == NOW + timedelta(hours=24)


def test_first_run_within_threshold_is_quiet_but_remembers_what_it_saw() -> None:
    decision = decide([result(fired=False, value=0.1)], DriftCursor(), NOW, CFG)
    assert not decision.fire and decision.statuses["no_good_source"] == "quiet"
    assert decision.new_cursor.last_fired == {}
    assert "no_good_source" in decision.new_cursor.seen


def test_nothing_new_since_the_last_check_does_not_fire_again() -> None:
    seen_at = NOW - timedelta(minutes=5)
    # fired 3 days ago, so the cooldown is over: only "nothing new" stops it
    cursor = DriftCursor(
        last_fired={"no_good_source": NOW - timedelta(days=3)},
        seen={"no_good_source": seen_at},
    )
    decision = decide([result(latest=seen_at)], cursor, NOW, CFG)
    assert not decision.fire
    assert decision.statuses["no_good_source"] == "nothing_new"
    assert seen_at.isoformat() in decision.reasons["no_good_source"]
    assert decision.new_cursor == cursor  # nothing moved


def test_below_the_minimum_sample_does_not_fire_whatever_the_value() -> None:
    # 12 queries, all without a good source: a 100% rate on too few to trust
    decision = decide([result(n=12, value=1.0)], DriftCursor(), NOW, CFG)
    assert not decision.fire
    assert decision.statuses["no_good_source"] == "below_min_samples"
    assert "min_samples 50" in decision.reasons["no_good_source"]


def test_in_cooldown_it_would_fire_but_does_not() -> None:
    fired_at = NOW - timedelta(hours=6)
    cursor = DriftCursor(
        last_fired={"no_good_source": fired_at},
        seen={"no_good_source": NOW - timedelta(hours=6)},
    )
    decision = decide([result()], cursor, NOW, CFG)
    assert not decision.fire and decision.statuses["no_good_source"] == "cooldown"
    until = fired_at + timedelta(hours=24)
    assert decision.results[0].cooled_down_until == until
    assert until.isoformat() in decision.reasons["no_good_source"]
    assert decision.new_cursor.last_fired == {"no_good_source": fired_at}


def test_after_the_cooldown_new_evidence_fires_again() -> None:
    cursor = DriftCursor(
        last_fired={"no_good_source": NOW - timedelta(hours=25)},
        seen={"no_good_source": NOW - timedelta(hours=25)},
    )
    decision = decide([result()], cursor, NOW, CFG)
    assert decision.fire and decision.new_cursor.last_fired["no_good_source"] == NOW


def test_advisory_detector_reports_but_never_fires() -> None:
    cfg = CFG.model_copy(
        update={
            "no_good_source": CFG.no_good_source.model_copy(update={"advisory": True})
        }
    )
    decision = decide([result()], DriftCursor(), NOW, cfg)
    assert not decision.fire and decision.statuses["no_good_source"] == "advisory"
    assert "report only" in decision.reasons["no_good_source"]
    assert decision.new_cursor.last_fired == {}  # no cooldown started


def test_only_the_detectors_that_fire_are_named() -> None:
    results = [
        result(),
        result(name="satisfaction", fired=False, n=40, value=0.8),
        result(name="retrieval_drift", fired=True, n=1, value=0.2),
    ]
    decision = decide(results, DriftCursor(), NOW, CFG)
    assert decision.detectors == ("no_good_source",)
    assert decision.statuses == {
        "no_good_source": "fires",
        "satisfaction": "quiet",
        "retrieval_drift": "below_min_samples",
    }


def test_cursor_round_trip_and_first_run_without_a_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "drift_cursor.json"
    assert load_cursor(path) == DriftCursor()
    cursor = decide([result()], DriftCursor(), NOW, CFG).new_cursor
    save_cursor(path, cursor)
    assert load_cursor(path) == cursor
    assert [p.name for p in path.parent.iterdir()] == ["drift_cursor.json"]


def test_a_corrupt_cursor_is_named_not_silently_reset(tmp_path: Path) -> None:
    path = tmp_path / "drift_cursor.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="drift_cursor.json is not valid; delete it"):
        load_cursor(path)
    assert path.read_text() == "{not json"
