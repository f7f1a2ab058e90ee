"""``ragtune dataset build|check`` as an operator runs them: JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import run_cli

from .conftest import REPO, sample_rows, write_jsonl


def _project(root: Path, rows: list[dict]) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["project"].update(state_dir="state", audit_log="state/audit.jsonl")
    params["data"].update(kb_path=str(REPO / "data" / "kb"))
    params["dataset"].update(
        curated_dir="curated", out_dir="build", min_examples=20, eval_queries=None
    )
    params["dataset"]["generation"]["enabled"] = False
    write_jsonl(root / "curated" / "a.jsonl", rows)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root / "params.yaml"


_run = run_cli


@pytest.mark.slow
def test_build_then_check_pass_fail_and_bad_input(tmp_path: Path) -> None:
    _project(tmp_path, sample_rows(30))
    built = _run("dataset", "build", "--json", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    payload = json.loads(built.stdout)  # exactly one JSON object on stdout
    assert payload["counts"]["train"] == 27 and len(payload["dataset_hash"]) == 64

    checked = _run("dataset", "check", "--json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["passed"] and report["dataset_hash"] == payload["dataset_hash"]
    assert (tmp_path / "state" / "reports" / "sft-gates.md").is_file()
    audit = (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    assert json.loads(audit[-1])["action"] == "dataset.gates"

    strict = {"RAGTUNE_DATASET__MIN_EXAMPLES": "1000"}
    failed = _run("dataset", "check", "--json", cwd=tmp_path, env=strict)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["status"] == "fail"
    assert "min_examples: only 27 training examples" in failed.stderr

    missing = {"RAGTUNE_DATASET__CURATED_DIR": "nowhere"}
    bad = _run("dataset", "build", cwd=tmp_path, env=missing)
    assert bad.returncode == 2 and "curated SFT folder" in bad.stderr
