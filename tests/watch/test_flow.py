"""The regulatory-watch flow under Prefect's test harness: an amendment in a
watched folder lands in the knowledge base, emits ``ragtune.source.changed`` and
``ragtune.regulatory.updated`` and is audited; a typo fix emits only the first;
a DVC-tracked knowledge base is re-added and pushed; ``ragtune watch --once``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ragtune import events
from ragtune.errors import ConfigError, InputError
from ragtune.tasks.versioning import data_hash, init_knowledge_base, recorded_hash
from tests._audit import project_audit

from .conftest import POLICY, amend, commit, git, read_events, typo_fix

pytestmark = pytest.mark.slow
NAME = Path(POLICY).name
DOC = "aml-customer-due-diligence-policy"


def write_params(root: Path, sources: list[dict], extra: dict | None = None) -> Path:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text()) if path.exists() else {}
    params.update(extra or {})
    params["project"] = {"state_dir": "state", "audit_log": "state/audit.jsonl"}
    params.setdefault("data", {})["kb_path"] = params.get("data", {}).get(
        "kb_path", "kb"
    )
    params["watch"] = {"sources": sources}
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def folder_project(tmp_path_factory: pytest.TempPathFactory, policy_text: str) -> Path:
    root = tmp_path_factory.mktemp("watch-folder")
    (root / "inbox").mkdir()
    (root / "inbox" / NAME).write_text(policy_text)
    kb_copy = root / "kb" / "compliance" / "inbox" / NAME
    kb_copy.parent.mkdir(parents=True)
    kb_copy.write_text(policy_text)
    return write_params(root, [{"name": "inbox", "kind": "folder", "path": "inbox"}])


@pytest.fixture(scope="module")
def passes(prefect_harness: None, folder_project: Path, policy_text: str) -> list[dict]:
    """Baseline, amendment, typo fix: three passes of the flow."""
    from ragtune.flows.regulatory_watch import regulatory_watch

    inbox = folder_project.parent / "inbox" / NAME
    out = [regulatory_watch(params_path=str(folder_project))]
    inbox.write_text(amend(policy_text))
    out.append(regulatory_watch(params_path=str(folder_project)))
    inbox.write_text(typo_fix(amend(policy_text)))
    out.append(regulatory_watch(params_path=str(folder_project)))
    return out


def test_baseline_pass_changes_nothing(passes: list[dict]) -> None:
    assert passes[0]["changed"] == [] and passes[0]["unchanged"] == ["inbox"]
    assert passes[0]["data_hash"] is None


def test_amendment_lands_in_the_kb_and_is_significant(
    passes: list[dict], folder_project: Path, policy_text: str
) -> None:
    [change] = passes[1]["changed"]
    assert change["doc_ids"] == [DOC] and change["score"] > 0.5
    assert change["effective_date"] == "2026-07-01"
    assert passes[1]["significant"] == ["inbox"]
    kb = folder_project.parent / "kb"
    assert passes[1]["tracked_by"] == "hash"  # this KB is not under DVC
    assert (kb / "compliance" / "inbox" / NAME).read_text() == typo_fix(
        amend(policy_text)
    )  # after the third pass
    # the second pass's hash was taken before the typo fix landed
    assert passes[1]["data_hash"] != passes[2]["data_hash"] == data_hash(kb)


def test_events_source_changed_twice_regulatory_updated_once(
    passes: list[dict],
) -> None:
    changed = read_events(events.SOURCE_CHANGED, 2, "ragtune.source.inbox")
    updated = read_events(events.REGULATORY_UPDATED, 1, "ragtune.regulatory.inbox")
    assert len(changed) == 2 and len(updated) == 1
    [update] = updated
    assert update.resource.id == "ragtune.regulatory.inbox"
    assert update.payload["doc_ids"] == [DOC]
    assert update.payload["effective_date"] == "2026-07-01"
    assert update.payload["score"] == passes[1]["changed"][0]["score"]
    payloads = sorted((e.payload for e in changed), key=lambda p: p["score"])
    typo, amendment = payloads
    assert typo["score"] < 0.1 and amendment["score"] > 0.5
    assert typo["significant"] is False and amendment["significant"] is True
    [file] = amendment["files"]
    assert file["diff"]["lines_added"] == 3 and file["status"] == "modified"
    assert file["content_hash"] == passes[1]["changed"][0]["files"][0]["new_sha256"]
    assert amendment["data_hash"] == passes[1]["data_hash"]


def test_audit_trail(passes: list[dict], folder_project: Path) -> None:
    audit = project_audit(folder_project)
    actions = [r["action"] for r in audit.records()]
    assert actions == ["source.changed", "regulatory.updated", "source.changed"]
    assert audit.records()[1]["details"]["doc_ids"] == [DOC]
    assert audit.verify().ok


def test_run_names_say_what_a_pass_did(passes: list[dict]) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        names = {r.name for r in client.read_flow_runs()}
    digest = passes[1]["data_hash"].removesuffix(".dir")[:12]
    assert f"regulatory-watch-{digest}" in names


def test_watch_report_artifact(passes: list[dict]) -> None:
    from prefect.artifacts import Artifact

    report = Artifact.get("watch-report")
    assert report is not None and "## inbox: minor" in report.data  # latest pass
    assert f"compliance/inbox/{NAME}" in report.data


def test_dvc_tracked_kb_is_re_added_and_pushed(
    prefect_harness: None, tmp_path: Path, policy_text: str
) -> None:
    from ragtune.flows.regulatory_watch import regulatory_watch

    root = tmp_path / "kbrepo"
    init_knowledge_base(root, remote_url="../remote")
    before = recorded_hash(root / "kb.dvc")
    rulebook = tmp_path / "rulebook"
    rulebook.mkdir()
    git(rulebook, "init", "-q", "-b", "main")
    commit(rulebook, {NAME: amend(policy_text)}, "Amendment 2026-01")
    params = write_params(
        root, [{"name": "apca", "kind": "git", "path": "../rulebook"}]
    )
    summary = regulatory_watch(params_path=str(params))
    assert summary["tracked_by"] == "dvc"
    after = recorded_hash(root / "kb.dvc")
    assert after != before and after == summary["data_hash"] == data_hash(root / "kb")
    assert (root / "kb" / "compliance" / "apca" / NAME).is_file()
    remote_files = [p for p in (tmp_path / "remote").rglob("*") if p.is_file()]
    assert len(remote_files) >= 3  # the new file, the .dir listing, the old files


def test_cli_watch_once_json(prefect_harness: None, folder_project: Path) -> None:
    from ragtune.cli import app

    result = CliRunner().invoke(
        app, ["watch", "--once", "--json", "-p", str(folder_project)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["changed"] == [] and summary["unchanged"] == ["inbox"]


def test_cli_watch_refuses_json_loop_and_empty_sources(tmp_path: Path) -> None:
    from ragtune.cli import app

    params = write_params(tmp_path, [{"name": "x", "kind": "folder", "path": "."}])
    result = CliRunner().invoke(app, ["watch", "--json", "-p", str(params)])
    assert isinstance(result.exception, InputError)
    empty = write_params(tmp_path, [])
    result = CliRunner().invoke(app, ["watch", "--once", "-p", str(empty)])
    assert isinstance(result.exception, ConfigError)
    assert "watch.sources" in str(result.exception)
