"""Suites are code; gx/expectations/*.json is what GX stores. They must agree,
and reruns must not rewrite anything that is committed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.documents import validate_documents
from ragtune.tasks.validation.gx_runner import (
    open_context,
    suite_signature,
    sync_context,
)
from ragtune.tasks.validation.suites import ALL_SUITES, DOCUMENTS, SuiteSpec

from .conftest import CATEGORIES, TODAY, make_doc


def _committed(gx_root: Path) -> dict[str, str]:
    """Checksums of every file GX keeps outside uncommitted/ (what git would see)."""
    return {
        p.relative_to(gx_root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(gx_root.rglob("*"))
        if p.is_file() and "uncommitted" not in p.relative_to(gx_root).parts
    }


@pytest.mark.parametrize("spec", ALL_SUITES, ids=lambda s: s.name)
def test_committed_suites_match_code(repo_root: Path, spec: SuiteSpec) -> None:
    stored = json.loads(
        (repo_root / "gx" / "expectations" / f"{spec.name}.json").read_text("utf-8")
    )
    assert stored["name"] == spec.name
    assert suite_signature(stored) == suite_signature(spec.build().to_json_dict()), (
        "gx/expectations is stale: run "
        "`python -c 'from ragtune.tasks.validation.gx_runner import sync_context; "
        'sync_context("gx")\'` and commit the result'
    )
    checks = [e["meta"]["check"] for e in stored["expectations"]]
    assert checks == [c.name for c in spec.checks]


def test_every_check_name_is_unique() -> None:
    for spec in ALL_SUITES:
        names = [c.name for c in spec.checks]
        assert len(names) == len(set(names)), spec.name


def test_reruns_leave_committed_files_unchanged(project: Path) -> None:
    cfg = ValidationConfig()
    docs = [make_doc("a.md"), make_doc("b.md", category="gossip")]
    gx_root = project / "gx"
    sync_context(gx_root)
    validate_documents(docs, [], cfg, CATEGORIES, TODAY, project)
    before = _committed(gx_root)

    validate_documents(docs, [], cfg, CATEGORIES, TODAY, project)
    sync_context(gx_root)

    assert _committed(gx_root) == before
    assert {f"expectations/{s.name}.json" for s in ALL_SUITES} <= set(before)
    assert (gx_root / "uncommitted/data_docs/local_site/index.html").is_file()


def test_changed_code_rewrites_the_stored_suite(project: Path) -> None:
    gx_root = project / "gx"
    sync_context(gx_root)
    path = gx_root / "expectations" / f"{DOCUMENTS.name}.json"
    stored = json.loads(path.read_text("utf-8"))
    stored["expectations"] = stored["expectations"][:2]  # someone edited the JSON
    path.write_text(json.dumps(stored), encoding="utf-8")

    sync_context(gx_root)

    restored = json.loads(path.read_text("utf-8"))
    assert suite_signature(restored) == suite_signature(
        DOCUMENTS.build().to_json_dict()
    )


def test_ephemeral_context_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    context = open_context(None)
    assert context.mode == "ephemeral"
    assert list(tmp_path.iterdir()) == []
