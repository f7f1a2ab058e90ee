"""The audit chain detects edits, removals and reordering, and survives concurrency."""

import json
import threading
from pathlib import Path

from ragtune.audit import AuditLog


def _log_with(tmp_path: Path, n: int) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append("index.published", tag=f"live-{i}", rows=i * 10)
    return log


def test_untouched_log_verifies(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 5)
    result = log.verify()
    assert result.ok and result.records == 5
    assert [r["details"]["tag"] for r in log.records()] == [
        f"live-{i}" for i in range(5)
    ]


def _rewrite(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_edit_is_detected(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 4)
    lines = log.path.read_text().splitlines()
    record = json.loads(lines[2])
    record["details"]["rows"] = 999
    lines[2] = json.dumps(record, sort_keys=True)
    _rewrite(log, lines)
    result = log.verify()
    assert (
        not result.ok and result.bad_line == 3 and result.reason == "record was edited"
    )


def test_removal_and_reorder_are_detected(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 4)
    lines = log.path.read_text().splitlines()
    _rewrite(log, lines[:1] + lines[2:])
    assert log.verify().bad_line == 2
    _rewrite(log, [lines[0], lines[2], lines[1], lines[3]])
    assert log.verify().bad_line == 2
    _rewrite(log, lines[1:])
    assert log.verify().bad_line == 1


def test_concurrent_appends_keep_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    threads = [
        threading.Thread(target=lambda i=i: [log.append("t", n=i) for _ in range(10)])
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = log.verify()
    assert result.ok and result.records == 40


def test_export_filters_by_action_and_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from ragtune.audit import export_rows

    log = _log_with(tmp_path, 3)
    log.append("model.promoted", version=2)
    records = log.records()
    rows = export_rows(records, action="index.")
    assert [json.loads(r["details"])["tag"] for r in rows] == [
        "live-0",
        "live-1",
        "live-2",
    ]
    future = datetime.now(UTC) + timedelta(days=1)
    assert export_rows(records, since=future) == []
    assert len(export_rows(records, until=future)) == 4


def test_a_torn_tail_stops_nothing_and_repair_moves_it_aside(tmp_path: Path) -> None:
    """A kill mid-append leaves half a line: readers and writers go on, verify
    names it, repair moves it aside and the chain is whole again."""
    log = _log_with(tmp_path, 3)
    whole = log.records()
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"action": "index.published", "actor": "ragt')  # no newline
    assert log.records() == whole  # skipped, not a JSONDecodeError
    broken = log.verify()
    assert not broken.ok and broken.bad_line == 4
    assert "torn line" in broken.reason and "ragtune audit repair" in broken.reason

    after = log.append("index.rolled-back", actor="ann", tag="live-0")
    assert after["prev"] == whole[-1]["hash"]  # chained to the last whole record
    lines = log.path.read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[-1])["action"] == "index.rolled-back"

    assert log.repair() == [4]
    assert log.repair() == []  # nothing left to move
    assert log.verify().ok and log.verify().records == 4
    [moved] = (tmp_path / "audit.jsonl.torn").read_text().splitlines()
    assert json.loads(moved)["line"] == 4 and "ragt" in json.loads(moved)["text"]
    assert not (tmp_path / "audit.jsonl.repair-backup").exists()


def test_repair_never_hides_an_edit(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 3)
    lines = log.path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["details"]["tag"] = "live-99"
    _rewrite(log, [lines[0], json.dumps(edited), lines[2]])
    assert log.repair() == []
    assert log.verify().reason == "record was edited"


def test_audit_repair_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ragtune.cli import app

    log = _log_with(tmp_path, 2)
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"torn": ')
    failed = CliRunner().invoke(app, ["audit", "verify", "--log", str(log.path)])
    assert failed.exit_code == 1 and "line 3: torn line" in str(failed.exception)
    fixed = CliRunner().invoke(
        app, ["audit", "repair", "--json", "--log", str(log.path)]
    )
    assert fixed.exit_code == 0, fixed.output
    payload = json.loads(fixed.stdout)
    assert payload["moved_lines"] == [3] and payload["ok"] and payload["records"] == 2


def test_audit_export_to_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ragtune.cli import app
    from ragtune.errors import InputError

    out = tmp_path / "no-such-folder" / "audit.csv"
    result = CliRunner().invoke(app, ["audit", "export", "--out", str(out)])
    assert isinstance(result.exception, InputError)
    assert "no-such-folder does not exist" in str(result.exception)
