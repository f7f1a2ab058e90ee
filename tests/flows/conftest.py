"""A copy of the sample project with planted bad documents, and one Prefect test
harness for every flow test in the session (starting it costs seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

# Each planted file exercises one bad-input path; all must be quarantined and none
# may take a good document with it.
PLANTED = {
    "compliance/broken-front-matter.md": b"---\ntitle: [unclosed\n---\nBody.\n",
    "products/unknown-category.md": (
        b"---\nid: unknown-category\ntitle: Mystery\ncategory: gossip\n---\n"
        + b"This document declares a category that no freshness class has. " * 3
    ),
    "guides/empty.txt": b"",
    "reports/scan.md": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "reports/legacy-latin1.txt": "Ann\xe9e fiscale: r\xe9sum\xe9.".encode("latin-1")
    * 20,
    "shared-drive/minutes.docx": b"PK\x03\x04 not really a word file",
}


def make_project(root: Path, repo_root: Path, plant: bool = True) -> Path:
    """Copy the sample knowledge base, eval set and GX suites into ``root``."""
    shutil.copytree(repo_root / "data" / "kb", root / "kb")
    shutil.copytree(repo_root / "data" / "eval", root / "eval")
    shutil.copytree(
        repo_root / "gx", root / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    if plant:
        for rel, content in PLANTED.items():
            (root / "kb" / rel).write_bytes(content)
        big = root / "kb" / "reports" / "huge-export.txt"
        with big.open("wb") as fh:  # sparse: size without writing 50 MB
            fh.truncate(50 * 1024 * 1024)
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["data"].update(
        kb_path="kb", eval_path="eval", labels_path="eval/freshness_labels.csv"
    )
    params["project"].update(state_dir="state", audit_log="state/audit.jsonl")
    params["index"]["uri"] = "state/index"
    params["validation"]["gx_root"] = "gx"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root / "params.yaml"


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """params.yaml of a private copy of the sample project (with planted bad files)."""
    return make_project(tmp_path_factory.mktemp("project"), repo_root)
