"""One drift check in plain Python: logs cut into windows, bad lines skipped,
the embedder loaded only when it can matter, and ``ragtune drift check
--dry-run`` explaining what would fire without writing anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from ragtune.tasks.monitoring.config import DriftConfig, WindowConfig
from ragtune.tasks.monitoring.inputs import gather_inputs, tag_metrics, windows
from ragtune.tasks.monitoring.models import DriftCursor
from ragtune.tasks.monitoring.monitor import check_drift

from .conftest import FRAUD, SAVINGS, queries, write_feedback, write_queries

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_windows_follow_now_or_a_pinned_reference() -> None:
    ref, cur = windows(NOW, WindowConfig(current_hours=24, reference_hours=48))
    assert (cur.start, cur.end) == (NOW - timedelta(hours=24), NOW)
    assert (ref.start, ref.end) == (NOW - timedelta(hours=72), cur.start)
    pinned = WindowConfig(
        reference_start=datetime(2026, 1, 1), reference_end=datetime(2026, 2, 1)
    )
    ref, _ = windows(NOW, pinned)
    assert ref.start == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="both reference_start and reference_end"):
        WindowConfig(reference_start=datetime(2026, 1, 1))


def test_gather_cuts_windows_and_skips_bad_lines(tmp_path: Path) -> None:
    log, fb = tmp_path / "query_log.jsonl", tmp_path / "feedback.jsonl"
    write_queries(log, ["old question"] * 3, NOW - timedelta(days=40), MINUTE)
    write_queries(log, ["reference question"] * 5, NOW - timedelta(days=3), MINUTE)
    write_queries(log, ["current question"] * 4, NOW - timedelta(hours=2), MINUTE)
    write_queries(log, ["from the future"] * 2, NOW + timedelta(hours=1), MINUTE)
    with log.open("a") as fh:
        fh.write('{"ts": "2026-11-25T11:00:00+00:00", "query": "torn')
        fh.write('\n{"ts": "yesterday", "query": "q", "relevant": true}\n')
        fh.write('{"query": "no relevance flag", "ts": "2026-11-25T11:00:00"}\n')
    write_feedback(
        fb, [{"thumbs": "up"}, {"score": 2}], NOW - timedelta(hours=1), MINUTE
    )
    write_feedback(fb, [{"thumbs": "down"}], NOW - timedelta(days=5), MINUTE)
    inputs = gather_inputs(log, fb, [], NOW, WindowConfig())
    assert len(inputs.reference_queries) == 5 and len(inputs.current_queries) == 4
    assert [f.satisfaction for f in inputs.feedback] == [1.0, 0.25]
    assert inputs.skipped_lines == {"query_log": 3, "feedback_log": 0}
    missing = gather_inputs(tmp_path / "none.jsonl", fb, [], NOW, WindowConfig())
    assert missing.current_queries == () and missing.skipped_lines["query_log"] == 0


def test_tag_metrics_reads_the_retrieval_figures_of_the_ledger() -> None:
    published = [
        SimpleNamespace(
            tag="live-1",
            created_at=datetime(2026, 11, 1),
            metrics={
                "retrieval": {"ndcg_at_10": 0.81, "recall_at_k": 0.9},
                "checks": {},
            },
            live=True,
        )
    ]
    [tag] = tag_metrics(published)
    assert tag.metrics == {"ndcg_at_10": 0.81, "recall_at_k": 0.9}
    assert tag.created_at.tzinfo is UTC and tag.live


def _no_embedder():  # noqa: ANN202
    raise AssertionError("the embedder must not load for windows this small")


def test_small_windows_never_load_the_embedder(tmp_path: Path) -> None:
    log = tmp_path / "q.jsonl"
    texts = queries(FRAUD, 60, seed=4)
    write_queries(log, texts[:10], NOW - timedelta(days=2), MINUTE)
    # 60 current queries, 30 of them without a good source: 50% > 30%
    write_queries(
        log, texts, NOW - timedelta(hours=3), MINUTE, [i % 2 == 0 for i in range(60)]
    )
    inputs = gather_inputs(log, tmp_path / "fb.jsonl", [], NOW, WindowConfig())
    check = check_drift(inputs, DriftConfig(), DriftCursor(), NOW, _no_embedder)
    assert check.decision.detectors == ("no_good_source",)
    assert check.decision.statuses["query_drift"] == "below_min_samples"
    assert check.to_json()["windows"]["current_queries"] == 60


@pytest.mark.slow
def test_a_theme_shift_in_the_logs_fires_query_drift(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    log = tmp_path / "q.jsonl"
    write_queries(log, queries(SAVINGS, 40, 5), NOW - timedelta(days=3), MINUTE)
    write_queries(log, queries(FRAUD, 40, 6), NOW - timedelta(hours=5), MINUTE)
    inputs = gather_inputs(log, tmp_path / "fb.jsonl", [], NOW, WindowConfig())
    check = check_drift(inputs, DriftConfig(), DriftCursor(), NOW, lambda: embedder)
    assert check.decision.statuses["query_drift"] == "fires"
    # 40 queries a side are below topic drift's 200: reported, not trusted
    assert check.decision.statuses["topic_drift"] == "below_min_samples"


def _project(tmp_path: Path) -> Path:
    params = {
        "project": {"state_dir": "state", "audit_log": "state/audit.jsonl"},
        "index": {"uri": "state/index"},
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    log = tmp_path / "state" / "query_log.jsonl"
    texts = queries(SAVINGS, 60, seed=7)
    write_queries(
        log, texts, NOW - timedelta(hours=6), MINUTE, [i % 3 == 0 for i in range(60)]
    )
    write_feedback(
        tmp_path / "state" / "feedback.jsonl",
        [{"score": 5}] * 25,
        NOW - timedelta(hours=2),
        MINUTE,
    )
    return path


def test_cli_dry_run_explains_and_writes_nothing(tmp_path: Path) -> None:
    from ragtune.cli import app

    params = _project(tmp_path)
    args = ["drift", "check", "--dry-run", "--at", NOW.isoformat(), "-p", str(params)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["dry_run"] is True and out["fire"] is True
    assert out["detectors"] == ["no_good_source"]
    assert (
        "40 of 60 queries (66.7%) found no relevant source"
        in (out["reasons"]["no_good_source"])
    )
    assert out["statuses"]["satisfaction"] == "quiet"
    assert out["statuses"]["retrieval_drift"] == "below_min_samples"
    state = tmp_path / "state"
    assert not (state / "drift_cursor.json").exists()
    assert not (state / "audit.jsonl").exists()
    text = CliRunner().invoke(app, args)
    assert "drift trigger would fire: no_good_source" in text.stdout


def test_cli_rejects_a_bad_time(tmp_path: Path) -> None:
    from ragtune.cli import app
    from ragtune.errors import InputError

    params = _project(tmp_path)
    args = ["drift", "check", "--dry-run", "--at", "soon", "-p", str(params)]
    result = CliRunner().invoke(app, args)
    # main() turns this into exit code 2 with the message on stderr
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 2 and "'soon'" in str(result.exception)
