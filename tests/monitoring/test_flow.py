"""The drift-monitor flow under Prefect's test harness: it emits
``ragtune.drift.detected`` for the detector that fires, writes audit records,
publishes the ``drift-report`` artifact and moves the cursor, and a rerun on the
same data (nothing new) stays quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ragtune import events
from ragtune.tasks.monitoring import load_cursor
from tests._audit import project_audit

from .conftest import FRAUD, queries, read_events, write_feedback, write_queries

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift-project")
    params = {
        "project": {"state_dir": "state", "audit_log": "state/audit.jsonl"},
        "index": {"uri": "state/index"},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    state = root / "state"
    # 60 current queries, 45 without a good source (75% > 30%); feedback happy
    texts = queries(FRAUD, 60, seed=8)
    relevant = [i % 4 == 0 for i in range(60)]
    write_queries(
        state / "query_log.jsonl", texts, NOW - timedelta(hours=4), MINUTE, relevant
    )
    write_feedback(
        state / "feedback.jsonl",
        [{"thumbs": "up"}] * 30,
        NOW - timedelta(hours=2),
        MINUTE,
    )
    return root / "params.yaml"


@pytest.fixture(scope="module")
def first(prefect_harness: None, project: Path) -> dict:
    from ragtune.flows.drift_monitor import drift_monitor

    return drift_monitor(params_path=str(project), now=NOW)


def test_first_run_fires_the_no_good_source_detector(first: dict) -> None:
    assert first["fire"] is True and first["detectors"] == ["no_good_source"]
    by_name = {r["name"]: r for r in first["results"]}
    assert by_name["no_good_source"]["value"] == pytest.approx(0.75)
    assert first["statuses"]["satisfaction"] == "quiet"
    assert first["statuses"]["query_drift"] == "below_min_samples"  # no reference


def test_the_event_carries_detector_value_threshold_and_window(first: dict) -> None:
    [event] = read_events(events.DRIFT_DETECTED, expect=1)
    assert event.resource.id == "ragtune.drift.no_good_source"
    assert event.payload["detector"] == "no_good_source"
    assert event.payload["value"] == pytest.approx(0.75)
    assert event.payload["threshold"] == 0.3
    assert event.payload["window"]["current"]["end"] == NOW.isoformat()
    assert event.payload["detectors"] == ["no_good_source"]
    assert [f["detector"] for f in event.payload["findings"]] == ["no_good_source"]


def test_audit_records_and_cursor(first: dict, project: Path) -> None:
    audit = project_audit(project)
    actions = [r["action"] for r in audit.records()]
    assert actions[:2] == ["drift.checked", "drift.detected"]
    detected = audit.records()[1]["details"]
    assert detected["detector"] == "no_good_source"
    assert detected["event"] == events.DRIFT_DETECTED
    assert audit.verify().ok
    cursor = load_cursor(project.parent / "state" / "drift_cursor.json")
    assert cursor.last_fired == {"no_good_source": NOW}


def test_run_name_says_what_fired(first: dict) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        names = {r.name for r in client.read_flow_runs()}
    assert "drift-check-20261125T1200-no_good_source" in names


def test_drift_report_artifact(first: dict) -> None:
    from prefect.artifacts import Artifact

    report = Artifact.get("drift-report")
    assert report is not None
    assert "**Drift detected** by no_good_source" in report.data
    assert "| no_good_source | **fires** | 0.75 | share > 0.3 | 60 |" in report.data


def test_rerun_on_the_same_data_is_quiet(first: dict, project: Path) -> None:
    from ragtune.flows.drift_monitor import drift_monitor

    again = drift_monitor(params_path=str(project), now=NOW + timedelta(minutes=30))
    assert again["fire"] is False
    assert again["statuses"]["no_good_source"] == "nothing_new"
    audit = project_audit(project)
    assert [r["action"] for r in audit.records()][-1] == "drift.checked"
    assert len(read_events(events.DRIFT_DETECTED, expect=2, timeout_s=5)) == 1


def test_cli_drift_check_runs_the_flow_and_moves_the_cursor(
    first: dict, project: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from ragtune.cli import app

    # new traffic 2 hours later: the rate is still 75%, but the detector fired
    # at NOW and cools down for 24 hours
    state = project.parent / "state"
    texts = queries(FRAUD, 60, seed=9)
    later = NOW + timedelta(hours=1)
    write_queries(
        state / "query_log.jsonl", texts, later, MINUTE, [i % 4 == 0 for i in range(60)]
    )
    at = (NOW + timedelta(hours=2)).isoformat()
    result = CliRunner().invoke(
        app, ["drift", "check", "--json", "--at", at, "-p", str(project)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["dry_run"] is False and out["fire"] is False
    assert out["statuses"]["no_good_source"] == "cooldown"
    until = {r["name"]: r for r in out["results"]}["no_good_source"][
        "cooled_down_until"
    ]
    assert until == (NOW + timedelta(hours=24)).isoformat()
    cursor = load_cursor(state / "drift_cursor.json")
    assert cursor.seen["no_good_source"] == later + 59 * MINUTE
