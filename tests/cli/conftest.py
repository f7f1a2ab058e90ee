"""A small project (a dozen sample documents) for CLI tests that run real flows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests._server import shared_api

SMALL_KB = [
    "compliance/complaints-handling-procedure.md",
    "compliance/complaints-response-deadline-amendment-2026.md",
    "guides/apr-vs-aer.md",
    "guides/loan-to-value-explained.md",
    "guides/how-amortisation-works.pdf",
    "guides/how-amortisation-works.pdf.meta.yaml",
    "guides/overdraft-mechanics.txt",
    "guides/overdraft-mechanics.txt.meta.yaml",
    "guides/kyc-concepts.html",
]


def make_small_project(root: Path, repo_root: Path) -> Path:
    for rel in SMALL_KB:
        target = root / "kb" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo_root / "data" / "kb" / rel, target)
    shutil.copytree(repo_root / "data" / "eval", root / "eval")
    shutil.copytree(
        repo_root / "gx", root / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["data"].update(kb_path="kb", eval_path="eval", labels_path=None)
    params["project"].update(state_dir="state", audit_log="state/audit.jsonl")
    params["index"].update(uri="state/index", smoke_sample=5)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root / "params.yaml"


@pytest.fixture()
def small_project(tmp_path: Path, repo_root: Path) -> Path:
    return make_small_project(tmp_path, repo_root)


def run_cli(
    *args: str, cwd: Path, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The real console script in a subprocess, as an operator would run it.

    Its flows run on the session's shared Prefect server (``tests/_server.py``)
    unless ``env`` names another ``PREFECT_API_URL``.
    """
    exe = Path(sys.executable).with_name("ragtune")
    base = {"PREFECT_HOME": str(cwd / ".prefect"), "COLUMNS": "200"}
    if "PREFECT_API_URL" not in (env or {}):
        base["PREFECT_API_URL"] = shared_api()
    env = os.environ | base | (env or {})
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
