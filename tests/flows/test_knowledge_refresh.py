"""The knowledge-refresh flow end to end, on the sample knowledge base, under
Prefect's test harness: artifacts, quarantine, DVC hash, classification, publish,
and the incremental reruns that follow."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from ragtune.app.settings import load_settings
from ragtune.flows._wiring import config_digest
from ragtune.tasks.freshness import load_labels
from ragtune.tasks.index.publish import list_tags, open_live
from ragtune.tasks.versioning import data_hash
from tests._audit import project_audit

from .conftest import PLANTED

pytestmark = pytest.mark.slow
TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def first_run(prefect_harness: None, sample_project: Path) -> dict:
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    return knowledge_refresh(params_path=str(sample_project), today=TODAY)


def test_summary_counts_and_publish(first_run: dict, sample_project: Path) -> None:
    n_planted = len(PLANTED) + 1  # + the 50 MB file
    assert first_run["quarantined"] == n_planted
    assert first_run["documents"] == 101
    assert first_run["added"] == 101 and first_run["changed"] == 0
    assert first_run["removed"] == 0 and first_run["unchanged"] == 0
    assert first_run["chunks_embedded"] == first_run["chunks_total"] > 300
    assert first_run["published"] is True and first_run["tag"].startswith("live-")
    assert all(c["status"] == "pass" for c in first_run["checks"])
    assert first_run["metrics"]["recall_at_k"] > 0.8
    json.dumps(first_run)  # the CLI contract: serialisable as is


def test_every_planted_file_is_quarantined_with_a_reason(first_run: dict) -> None:
    reasons = {
        q["source_path"]: " ".join(q["reasons"]) for q in first_run["quarantined_files"]
    }
    assert set(reasons) == {*PLANTED, "reports/huge-export.txt"}
    assert "front matter" in reasons["compliance/broken-front-matter.md"]
    assert "gossip" in reasons["products/unknown-category.md"]
    assert "empty" in reasons["guides/empty.txt"]
    assert "UTF-8" in reasons["reports/legacy-latin1.txt"]
    assert "MB" in reasons["reports/huge-export.txt"]
    assert ".docx" in reasons["shared-drive/minutes.docx"]


def test_dvc_hash_is_recorded_everywhere(first_run: dict, sample_project: Path) -> None:
    settings = load_settings(sample_project)
    expected = data_hash(settings.path(settings.data.kb_path))
    assert first_run["data_hash"] == expected and expected.endswith(".dir")
    tags = list_tags(settings.uri(settings.index.uri), settings.index.table)
    assert [t.data_hash for t in tags] == [expected]
    audit = project_audit(settings)
    published = [r for r in audit.records() if r["action"] == "index.published"]
    assert published[-1]["details"]["data_hash"] == expected
    assert audit.verify().ok


def test_artifacts_tell_the_story(first_run: dict, sample_project: Path) -> None:
    from prefect.artifacts import Artifact

    resolved = Artifact.get("resolved-config")  # what the run used, on its page
    digest = config_digest(load_settings(sample_project))
    assert resolved is not None and f"sha256 `{digest}`" in resolved.data
    assert "kb_path:" in resolved.data and digest[:16] in resolved.description

    summary = Artifact.get("refresh-summary")
    assert summary is not None and first_run["tag"] in summary.data
    assert first_run["data_hash"] in summary.data
    assert "reports/legacy-latin1.txt" in summary.data
    table = Artifact.get("freshness-report")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    settings = load_settings(sample_project)
    labels = load_labels(settings.path(settings.data.labels_path))
    predicted = {r["doc_id"]: r["label"] for r in rows}
    assert set(predicted) == set(labels)
    accuracy = sum(predicted[d] == c for d, c in labels.items()) / len(labels)
    assert accuracy >= 0.95


def test_live_index_answers_with_sources(first_run: dict, sample_project: Path) -> None:
    from ragtune.cli.index_cmds import run_query

    settings = load_settings(sample_project)
    hits = run_query(settings, "final response deadline for complaints", 3, None, None)
    assert "complaints" in hits[0].doc_id
    only_rules = run_query(settings, "complaints", 5, ["regulatory"], None)
    assert {h.category for h in only_rules} == {"regulatory"}


def test_rerun_without_change_embeds_nothing(
    first_run: dict, sample_project: Path
) -> None:
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load_settings(sample_project)
    live_before = open_live(
        settings.uri(settings.index.uri), settings.index.table
    ).version
    again = knowledge_refresh(params_path=str(sample_project), today=TODAY)
    assert again["chunks_embedded"] == 0 and again["published"] is False
    assert again["unchanged"] == 101 and again["added"] == again["changed"] == 0
    assert again["index_version"] == live_before
    # the same index and questions give the same figures: not measured again
    assert again["evaluation"].startswith("not repeated: index and eval set unchanged")
    assert again["metrics"] == first_run["metrics"] and again["checks"] == []
    assert first_run["evaluation"].startswith("measured on ")


def test_edit_reembeds_only_that_document(
    first_run: dict, sample_project: Path
) -> None:
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load_settings(sample_project)
    doc = settings.path(settings.data.kb_path) / "guides" / "apr-vs-aer.md"
    text = doc.read_text()
    doc.write_text(
        text + "\n## Worked example 2\nEUR 1,000 at 4% for two years grows "
        "to EUR 1,081.60 when interest compounds annually.\n"
    )
    edited = knowledge_refresh(params_path=str(sample_project), today=TODAY)
    assert edited["changed"] == 1 and edited["documents_changed"] == ["apr-vs-aer"]
    assert 1 <= edited["chunks_embedded"] <= 3
    assert edited["published"] is True and edited["tag"] != first_run["tag"]
    assert edited["data_hash"] != first_run["data_hash"]
    assert "recall_at_k" in edited["metrics_delta"]


def test_quarantine_share_gate_stops_before_the_index(
    prefect_harness: None, tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.errors import GateFailed
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    from .conftest import make_project

    params = make_project(tmp_path, repo_root)
    raw = yaml.safe_load(params.read_text())
    raw["validation"]["max_quarantine_share"] = 0.01
    params.write_text(yaml.safe_dump(raw))
    with pytest.raises(GateFailed, match="quarantined"):
        knowledge_refresh(params_path=str(params), today=TODAY)
    settings = load_settings(params)
    assert open_live(settings.uri(settings.index.uri), settings.index.table) is None


def test_class_scoped_refresh_leaves_other_classes_alone(
    first_run: dict, sample_project: Path
) -> None:
    from ragtune.errors import InputError
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load_settings(sample_project)
    kb = settings.path(settings.data.kb_path)
    (kb / "guides" / "loan-to-value-explained.md").unlink()  # domain-concept
    reg = kb / "compliance" / "complaints-handling-procedure.md"
    reg.write_text(reg.read_text() + "\n## Contact\nWrite to the complaints team.\n")
    scoped = knowledge_refresh(
        params_path=str(sample_project), today=TODAY, classes=["regulatory"]
    )
    assert scoped["documents_changed"] == ["complaints-handling-procedure"]
    assert scoped["removed"] == 0  # the deleted explainer is not regulatory
    assert scoped["published"]
    assert all(c["status"] == "pass" for c in scoped["checks"])
    live = open_live(settings.uri(settings.index.uri), settings.index.table)
    ids = set(live.search().select(["doc_id"]).to_arrow()["doc_id"].to_pylist())
    assert "loan-to-value-explained" in ids
    concepts = knowledge_refresh(
        params_path=str(sample_project), today=TODAY, classes=["domain-concept"]
    )
    assert concepts["documents_removed"] == ["loan-to-value-explained"]
    with pytest.raises(InputError, match="unknown freshness class"):
        knowledge_refresh(params_path=str(sample_project), classes=["gossip"])


def test_a_second_writer_of_the_index_is_refused_and_changes_nothing(
    first_run: dict, sample_project: Path
) -> None:
    from ragtune.app.catalog import Catalog
    from ragtune.errors import Busy
    from ragtune.flows.knowledge_refresh import knowledge_refresh
    from ragtune.flows.rollback import index_rollback

    settings = load_settings(sample_project)
    catalog = Catalog.from_settings(settings)
    before = catalog.index.live_tag()
    kb = settings.path(settings.data.kb_path)
    doc = kb / "guides" / "apr-vs-aer.md"
    doc.write_text(doc.read_text() + "\n\nAPR is quoted per year.\n")
    with catalog.index_lock():  # a refresh in progress, as another process holds it
        with pytest.raises(
            Busy, match=r"another write to index chunks is running \(since "
        ):
            knowledge_refresh(params_path=str(sample_project), today=TODAY)
        with pytest.raises(Busy, match=r"since 20\d\d-.*, pid \d+ on "):
            index_rollback(before.tag, params_path=str(sample_project))
    assert catalog.index.live_tag() == before  # nothing moved
    after = knowledge_refresh(params_path=str(sample_project), today=TODAY)
    assert after["documents_changed"] == ["apr-vs-aer"] and after["published"]


def test_a_publish_the_audit_log_missed_is_recorded_by_the_next_run(
    first_run: dict, sample_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ragtune.flows.knowledge_refresh as kr

    settings = load_settings(sample_project)
    log = project_audit(settings)
    real = kr.record

    def killed_after_publish(audit, action, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if action == "index.published":
            raise RuntimeError("killed between publish and its audit record")
        return real(audit, action, *args, **kwargs)

    doc = settings.path(settings.data.kb_path) / "guides" / "apr-vs-aer.md"
    doc.write_text(doc.read_text() + "\n\nAPR is a yearly rate.\n")
    monkeypatch.setattr(kr, "record", killed_after_publish)
    with pytest.raises(RuntimeError, match="killed between publish"):
        kr.knowledge_refresh(params_path=str(sample_project), today=TODAY)
    live = list_tags(settings.uri(settings.index.uri), settings.index.table)[-1]
    assert live.live  # serving, with no record of it yet
    published = [r for r in log.records() if r["action"] == "index.published"]
    assert live.tag not in {r["details"]["tag"] for r in published}

    monkeypatch.setattr(kr, "record", real)
    rerun = kr.knowledge_refresh(params_path=str(sample_project), today=TODAY)
    assert rerun["published"] is False  # nothing new: the gap alone is recorded
    recovered = [r for r in log.records() if r["action"] == "index.published"][-1]
    assert recovered["details"]["tag"] == live.tag
    assert recovered["details"]["recovered"] is True
    assert recovered["details"]["note"].startswith(
        "the run that made this publish stopped"
    )
    assert log.verify().ok
