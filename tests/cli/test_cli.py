"""The console script's contracts: exit codes, clear messages, JSON on stdout only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from .conftest import run_cli


def test_corrupt_params_exit_2_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("chunking:\n  size: huge\n")
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "chunking.size" in result.stderr and "integer" in result.stderr
    assert result.stdout == ""
    scripted = run_cli("validate", "--json", cwd=tmp_path)  # scripts read stdout
    assert scripted.returncode == 2
    error = json.loads(scripted.stdout)
    assert error["exit_code"] == 2 and "chunking.size" in error["error"]


def test_missing_data_directory_exit_2(small_project: Path) -> None:
    result = run_cli("validate", "--kb", "no-such-folder", cwd=small_project.parent)
    assert result.returncode == 2
    assert "no-such-folder" in result.stderr


def test_unknown_flag_exit_2(tmp_path: Path) -> None:
    result = run_cli("refresh", "--bogus", cwd=tmp_path)
    assert result.returncode == 2 and "--bogus" in result.stderr


def test_query_before_any_publish_is_explained(small_project: Path) -> None:
    result = run_cli("query", "overdraft", cwd=small_project.parent)
    assert result.returncode == 2 and "ragtune refresh" in result.stderr


def test_validate_json_and_gate_exit_code(small_project: Path) -> None:
    root = small_project.parent
    (root / "kb" / "guides" / "empty.md").write_text("")
    share = {"RAGTUNE_VALIDATION__MAX_QUARANTINE_SHARE": "0.15"}  # 1 of 8 passes
    ok = run_cli("validate", "--json", cwd=root, env=share)
    assert ok.returncode == 0, ok.stderr
    payload = json.loads(ok.stdout)  # exactly one JSON object on stdout
    assert payload["n_valid"] == 7 and payload["n_quarantined"] == 1
    assert payload["quarantined"][0]["source_path"] == "guides/empty.md"
    (root / "kb" / "guides" / "empty2.md").write_text("")
    failed = run_cli("validate", "--json", cwd=root, env=share)  # 2 of 9 does not
    assert failed.returncode == 1
    assert "2 of 9 files quarantined" in failed.stderr and "15%" in failed.stderr


@pytest.mark.slow
def test_refresh_json_then_query_tags_rollback(small_project: Path) -> None:
    root = small_project.parent
    first = run_cli("refresh", "--json", cwd=root)
    assert first.returncode == 0, first.stderr[-2000:]
    summary = json.loads(first.stdout)
    for key in (
        "added",
        "changed",
        "removed",
        "unchanged",
        "quarantined",
        "chunks_embedded",
        "index_version",
        "published",
    ):
        assert key in summary
    assert summary["added"] == 7 and summary["published"] is True
    (root / "kb" / "guides" / "apr-vs-aer.md").unlink()
    second = json.loads(run_cli("refresh", "--json", cwd=root).stdout)
    assert second["removed"] == 1 and second["chunks_embedded"] == 0

    hits = json.loads(run_cli("query", "what is APR", "--json", cwd=root).stdout)
    assert "apr-vs-aer" not in {h["doc_id"] for h in hits["hits"]}
    assert hits["as_of"] == date.today().isoformat()  # in force today by default
    before = run_cli(
        "query", "final response deadline for a complaint", "--as-of", "2026-08-01",
        "--include-superseded", "--json", cwd=root,
    )  # fmt: skip
    then = json.loads(before.stdout)
    assert then["as_of"] == "2026-08-01"
    assert then["hits"][0]["doc_id"] == "complaints-handling-procedure"
    assert "**8 weeks**" in then["hits"][0]["text"] and then["hits"][0]["in_force"]
    amendment = "complaints-response-deadline-amendment-2026"
    assert amendment not in {h["doc_id"] for h in then["hits"]}  # not yet in force
    now = json.loads(
        run_cli(
            "query", "final response deadline for a complaint", "--k", "8",
            "--include-superseded", "--json", cwd=root,
        ).stdout
    )["hits"]  # fmt: skip
    assert now[0]["doc_id"] == amendment and now[0]["in_force"]
    old = next(h for h in now if "**8 weeks**" in h["text"])
    assert (old["in_force"], old["superseded_by"], old["valid_until"]) == (
        False, amendment, "2026-08-31",
    )  # fmt: skip
    tags = json.loads(run_cli("index", "tags", "--json", cwd=root).stdout)["tags"]
    assert [t["live"] for t in tags] == [False, True]
    back = run_cli(
        "index", "rollback", tags[0]["tag"], "--by", "ann", "--json", cwd=root
    )
    moved = json.loads(back.stdout)
    assert moved["live"]["tag"] == tags[0]["tag"] and moved["changed"] is True
    assert moved["previous"] == tags[1]["tag"]
    again = run_cli("index", "rollback", tags[0]["tag"], "--json", cwd=root)
    assert json.loads(again.stdout)["changed"] is False
    records = [
        json.loads(line)
        for line in (root / "state" / "audit.jsonl").read_text().splitlines()
    ]
    rolled = [r for r in records if r["action"] == "index.rolled-back"]
    assert len(rolled) == 1 and rolled[0]["actor"] == "ann"
    hits = json.loads(run_cli("query", "what is APR", "--json", cwd=root).stdout)
    assert hits["hits"][0]["doc_id"] == "apr-vs-aer"
    audit = run_cli("audit", "verify", "--json", cwd=root)
    assert json.loads(audit.stdout)["ok"] is True and audit.returncode == 0


def test_estimate_json_matches_the_framework(tmp_path: Path) -> None:
    result = run_cli(
        "estimate",
        "--model-size",
        "7B",
        "--examples",
        "10000",
        "--method",
        "full",
        "--check",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    # The cheapest plan may be any card; on the reference A100 80GB, 7B needs one.
    assert payload["plan"]["count"] >= 1 and payload["plan"]["cost_usd"] > 0
    assert all(c["ok"] for c in payload["framework_checks"])
    bad = run_cli("estimate", "--model-size", "9Z", "--examples", "10", cwd=tmp_path)
    assert bad.returncode == 2 and "9Z" in bad.stderr


@pytest.mark.slow
def test_refresh_at_an_older_git_revision(small_project: Path) -> None:
    import subprocess

    from ragtune.tasks.versioning import data_hash

    root = small_project.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", "kb")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    v1_hash = data_hash(root / "kb")
    (root / "kb" / "guides" / "loan-to-value-explained.md").unlink()
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "v2")
    assert data_hash(root / "kb") != v1_hash

    old = run_cli("refresh", "--rev", "HEAD~1", "--json", cwd=root)
    assert old.returncode == 0, old.stderr[-2000:]
    summary = json.loads(old.stdout)
    assert summary["data_hash"] == v1_hash and summary["rev"] == "HEAD~1"
    assert summary["added"] == 7  # the deleted explainer is back at that revision
    bad = run_cli("refresh", "--rev", "no-such-rev", cwd=root)
    assert bad.returncode == 2 and "no-such-rev" in bad.stderr


def test_refresh_refuses_bad_requests_before_any_flow_work(small_project: Path) -> None:
    """Unknown classes and missing folders are named at once, with exit 2."""
    from typer.testing import CliRunner

    from ragtune.cli import app
    from ragtune.errors import InputError

    params = str(small_project)
    cases = {
        ("--class", "gossip"): "unknown freshness class gossip; known: regulatory",
        ("--kb", "/nonexistent-kb"): "--kb /nonexistent-kb: no such knowledge-base",
        ("--rebuild", "--class", "historical"): "a rebuild replaces the whole index",
        ("--rev", "no-such-rev"): "is not in a git repository: cannot use --rev",
    }
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["refresh", "-p", params, *args])
        error = result.exception  # main() prints it and exits with its code
        assert isinstance(error, InputError) and error.exit_code == 2, result.output
        assert message in str(error)
    assert not (small_project.parent / "state").exists()  # nothing ran


def test_a_refresh_while_another_holds_the_index_exits_3_without_a_traceback(
    small_project: Path,
) -> None:
    from ragtune.locks import exclusive

    root = small_project.parent
    with exclusive(root / "state" / "locks" / "index-chunks.lock", "refresh"):
        busy = run_cli("refresh", "--json", cwd=root)
    assert busy.returncode == 3, busy.stderr[-2000:]
    error = json.loads(busy.stdout)
    assert error["exit_code"] == 3
    assert error["error"].startswith("another write to index chunks is running (since")
    assert "Traceback" not in busy.stderr  # the message is the whole story
    assert not (root / "state" / "index").exists()  # nothing was written
