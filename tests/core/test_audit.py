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


def _project(tmp_path: Path) -> tuple[Path, AuditLog]:
    """A project folder with default audit settings (keyed, anchored) and its log."""
    from ragtune.app.catalog import Catalog
    from ragtune.app.settings import load_settings

    params = tmp_path / "params.yaml"
    params.write_text("project:\n  state_dir: state\n  audit_log: state/audit.jsonl\n")
    return params, Catalog.from_settings(load_settings(params, env={})).audit()


def test_audit_repair_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ragtune.cli import app

    params, log = _project(tmp_path)
    for i in range(2):
        log.append("index.published", tag=f"live-{i}")
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"torn": ')
    cli = ["--params", str(params)]
    failed = CliRunner().invoke(app, ["audit", "verify", *cli])
    assert failed.exit_code == 1 and "line 3: torn line" in str(failed.exception)
    fixed = CliRunner().invoke(app, ["audit", "repair", "--json", *cli])
    assert fixed.exit_code == 0, fixed.output
    payload = json.loads(fixed.stdout)
    assert payload["moved_lines"] == [3] and payload["ok"] and payload["records"] == 2
    assert payload["anchored_records"] == 2 and payload["unkeyed_records"] == 0


def test_audit_export_to_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ragtune.cli import app
    from ragtune.errors import InputError

    out = tmp_path / "no-such-folder" / "audit.csv"
    result = CliRunner().invoke(app, ["audit", "export", "--out", str(out)])
    assert isinstance(result.exception, InputError)
    assert "no-such-folder does not exist" in str(result.exception)


# -- keyed chain and anchors -----------------------------------------------------

KEY = b"k" * 32


def _anchored(tmp_path: Path, n: int, key: bytes | None = KEY) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl", key, tmp_path / "elsewhere" / "a.anchor")
    for i in range(n):
        log.append("index.published", tag=f"live-{i}", rows=i)
    return log


def _rechain(lines: list[str], keep_alg: bool = True) -> list[str]:
    """What an editor without the key can do: recompute every plain hash."""
    from ragtune.audit import GENESIS, _digest

    out, prev = [], GENESIS
    for line in lines:
        body = {k: v for k, v in json.loads(line).items() if k != "hash"}
        if not keep_alg:
            body.pop("alg", None)
            body.pop("kid", None)
        body["prev"] = prev
        prev = _digest(body)
        out.append(json.dumps({**body, "hash": prev}, sort_keys=True))
    return out


def test_keyed_anchored_log_verifies_and_says_what_it_covered(tmp_path: Path) -> None:
    log = _anchored(tmp_path, 4)
    result = log.verify()
    assert result.ok and result.records == 4 and result.anchored == 4
    assert result.unkeyed == 0
    assert all(r["alg"] == "hmac-sha256" for r in log.records())
    anchor = json.loads(log.anchor.read_text())
    assert anchor["records"] == 4 and anchor["head"] == log.records()[-1]["hash"]


def test_a_cut_tail_is_detected(tmp_path: Path) -> None:
    log = _anchored(tmp_path, 5)
    lines = log.path.read_text().splitlines()
    _rewrite(log, lines[:3])
    result = log.verify()
    assert not result.ok and result.bad_line == 4
    assert "the last 2 record(s) were removed" in result.reason


def test_an_emptied_or_deleted_log_is_detected(tmp_path: Path) -> None:
    log = _anchored(tmp_path, 3)
    log.path.write_text("")
    assert "emptied or deleted" in log.verify().reason
    log.path.unlink()
    result = log.verify()
    assert not result.ok and "counts 3 records" in result.reason


def test_an_edit_with_the_chain_recomputed_without_the_key_is_detected(
    tmp_path: Path,
) -> None:
    log = _anchored(tmp_path, 4)
    lines = log.path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["details"]["rows"] = 999
    forged = _rechain([lines[0], json.dumps(edited), *lines[2:]])
    _rewrite(log, forged)
    result = log.verify()
    assert not result.ok and result.bad_line == 1  # even record 1 needs the key
    assert "recomputed without the key" in result.reason
    # stripped of their key marks, the records pass as a plain prefix, but the
    # anchored head (an HMAC) is not theirs
    _rewrite(log, _rechain([lines[0], json.dumps(edited), *lines[2:]], keep_alg=False))
    result = log.verify()
    assert not result.ok and "log was rewritten" in result.reason


def test_insertions_reorders_and_another_key_are_named(tmp_path: Path) -> None:
    log = _anchored(tmp_path, 3)
    lines = log.path.read_text().splitlines()
    _rewrite(log, [lines[0], lines[2], lines[1]])
    assert "chain broken" in log.verify().reason
    extra = AuditLog(tmp_path / "other.jsonl", KEY)
    extra.append("model.promoted", version=9)
    _rewrite(log, [lines[0], extra.path.read_text().strip(), *lines[1:]])
    result = log.verify()
    assert not result.ok and result.bad_line == 2 and "chain broken" in result.reason
    _rewrite(log, lines)
    stranger = AuditLog(log.path, b"x" * 32, log.anchor)
    assert "keyed with another key" in stranger.verify().reason
    assert "needs the audit key" in AuditLog(log.path).verify().reason


def test_a_deleted_or_edited_anchor_is_detected(tmp_path: Path) -> None:
    log = _anchored(tmp_path, 3)
    anchor = json.loads(log.anchor.read_text())
    log.anchor.write_text(json.dumps({**anchor, "records": 2}))
    assert "anchor" in log.verify().reason and "edited" in log.verify().reason
    log.anchor.unlink()
    result = log.verify()
    assert not result.ok and "no anchor" in result.reason


def test_a_kill_between_record_and_anchor_leaves_a_log_that_verifies(
    tmp_path: Path,
) -> None:
    """The anchor is written after the record: a kill between them leaves the
    anchor one record behind, which is not tampering; the next append catches up."""
    log = _anchored(tmp_path, 3)
    behind = log.anchor.read_text()
    log.append("index.published", tag="live-3")
    log.anchor.write_text(behind)
    assert log.verify().ok and log.verify().anchored == 3
    log.append("index.published", tag="live-4")
    assert json.loads(log.anchor.read_text())["records"] == 5
    assert log.verify().anchored == 5


def test_a_log_from_before_keying_stays_readable_and_is_anchored_once(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from ragtune.cli import app

    params, _ = _project(tmp_path)
    legacy = AuditLog(tmp_path / "state" / "audit.jsonl")  # unkeyed, unanchored
    for i in range(2):
        legacy.append("index.published", tag=f"live-{i}")
    cli = ["--params", str(params)]
    refused = CliRunner().invoke(app, ["audit", "verify", *cli])
    assert refused.exit_code == 1 and "no anchor" in str(refused.exception)
    anchored = CliRunner().invoke(app, ["audit", "anchor", *cli])
    assert anchored.exit_code == 0, anchored.output
    _, log = _project(tmp_path)
    log.append("index.published", tag="live-2")
    result = log.verify()
    assert result.ok and result.unkeyed == 2 and result.anchored == 3
    ok = CliRunner().invoke(app, ["audit", "verify", *cli])
    assert "2 written before the log was keyed" in ok.stdout
    # an unkeyed record after a keyed one is a forgery, not history
    legacy.append("index.published", tag="forged")
    assert "unkeyed record after keyed ones" in log.verify().reason
