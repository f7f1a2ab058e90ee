"""``ragtune model list`` and ``ragtune model rollback`` through the real console
script, on a project whose state folder holds a registry with two promotions."""

from __future__ import annotations

import json

import pytest
import yaml

from ragtune.app.catalog import Catalog
from ragtune.app.settings import load_settings
from ragtune.audit import AuditLog
from ragtune.tasks.index.publish import list_tags
from ragtune.tasks.registry.models import Lineage
from tests.cli.conftest import run_cli

pytestmark = pytest.mark.slow  # each command is a fresh process importing MLflow


_cli = run_cli


def test_model_list_and_rollback(project, capsys, monkeypatch) -> None:
    root = project.state.parent
    params = {
        "project": {"state_dir": "state", "audit_log": "state/audit.jsonl"},
        "index": {"uri": "state/index", "table": project.table},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    # the project's own registry: its promotion log keyed and anchored as the CLI's
    registry = Catalog.from_settings(load_settings(root / "params.yaml")).registry()
    tag_a, tag_b = project.tags
    for n, tag in ((1, tag_a), (2, tag_b)):
        result, card = project.candidate(f"cand-{n}", data_hash=f"sft-{n}")
        gates = {"evaluation": {"passed": True}, "privacy": {"passed": n == 2}}
        registry.register_candidate(
            result, card, Lineage(f"v{n}", f"sft-{n}", tag), gates
        )
        registry.promote(n, tag, "alice", f"release {n}")

    listed = _cli("model", "list", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    payload = json.loads(listed.stdout)  # exactly one JSON object on stdout
    assert (payload["champion"], payload["challenger"]) == (2, None)
    assert [v["version"] for v in payload["versions"]] == [1, 2]
    assert payload["versions"][1]["metrics"]["gates"] == {
        "evaluation": True,
        "privacy": True,
    }
    assert payload["versions"][0]["dataset_hash"] == "sft-1"
    assert [(h["from_version"], h["to_version"]) for h in payload["history"]] == [
        (None, 1),
        (1, 2),
    ]
    assert payload["rollback_eligible"] == [
        {"version": 1, "index_tag": tag_a},
        {"version": 2, "index_tag": tag_b},
    ]
    assert payload["promotion_log"]["ok"] and payload["promotion_log"]["records"] == 2
    from ragtune.cli.model_cmds import _print_listing, console

    monkeypatch.setattr(console, "width", 400)  # one table row per line
    _print_listing(payload)  # the human view renders the same listing
    shown = capsys.readouterr().out
    assert "evaluation pass, privacy FAIL" in shown and "release 2" in shown
    assert f"v1 ({tag_a}), v2 ({tag_b})" in shown

    back = _cli("model", "rollback", "1", "--by", "carol", "--json", cwd=root)
    assert back.returncode == 0, back.stderr
    moved = json.loads(back.stdout)
    assert (moved["champion"], moved["index_tag"], moved["from_version"]) == (
        1,
        tag_a,
        2,
    )
    assert moved["event"] == "ragtune.model.rolled-back"
    assert registry.champion().version == 1
    assert (
        next(t.tag for t in list_tags(project.index_uri, project.table) if t.live)
        == tag_a
    )
    audit = AuditLog(project.state / "audit.jsonl").records()
    assert [(r["action"], r["actor"]) for r in audit] == [
        ("model.rolled-back", "carol")
    ]

    refused = _cli("model", "rollback", "7", cwd=root)
    assert refused.returncode == 2
    assert "version 7 was never promoted; eligible: v1" in refused.stderr
    assert refused.stdout == ""
