"""Retention cleanup deletes old versions and their artifacts, never one that an
alias or a rollback within the window still needs, and names the index tags the
index cleanup must keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow import MlflowClient

from ragtune.tasks.registry.config import RegistryConfig
from ragtune.tasks.registry.models import Lineage

pytestmark = pytest.mark.slow  # MLflow import and registry calls take seconds


def test_retention_keeps_what_a_rollback_could_need(project) -> None:
    registry = project.registry(RegistryConfig(retention_days=30))
    tag_a, tag_b = project.tags
    for n, tag in ((1, tag_a), (2, tag_b), (3, tag_b), (4, tag_b)):
        result, card = project.candidate(f"cand-{n}", data_hash=f"sft-{n}")
        registry.register_candidate(result, card, Lineage(f"v{n}", f"sft-{n}", tag))
    registry.record_rejection(3, "no better than base + RAG")
    now = datetime.now(UTC)
    registry.promote(1, tag_a, "alice", "first", now=now)
    registry.promote(2, tag_b, "bob", "second", now=now)
    paths = {
        v.version: Path(urlparse(v.adapter_uri).path) for v in registry.list_versions()
    }
    run_of_3 = registry.get(3).run_id

    # today every version is younger than the 30-day retention
    today = registry.retention_cleanup(now, dry_run=True)
    assert today.deleted == [] and today.kept[3] == "younger than 30 days"

    # in 60 days: v3 is old and unneeded; v1 served 60 days ago (inside the
    # 90-day window), v2 is champion, v4 challenger
    report = registry.retention_cleanup(now + timedelta(days=60))
    assert report.deleted == [3]
    assert report.kept == {
        1: "served within the 90-day rollback window",
        2: "alias champion",
        4: "alias challenger",
    }
    assert report.protected_index_tags == {tag_a, tag_b}
    assert [v.version for v in registry.list_versions()] == [1, 2, 4]
    assert not paths[3].exists() and all(paths[n].is_dir() for n in (1, 2, 4))
    deleted_run = MlflowClient(registry.store.tracking_uri).get_run(run_of_3)
    assert deleted_run.info.lifecycle_stage == "deleted"
    # v1 is still restorable then, with its index tag
    assert (
        registry.plan_rollback(1, "carol", now=now + timedelta(days=60)).index_tag
        == tag_a
    )

    # in 200 days v1 has left the window: it would go, and its tag is not protected
    later = registry.retention_cleanup(now + timedelta(days=200), dry_run=True)
    assert later.deleted == [1] and later.dry_run
    assert later.protected_index_tags == {tag_b}
    assert [v.version for v in registry.list_versions()] == [1, 2, 4]
