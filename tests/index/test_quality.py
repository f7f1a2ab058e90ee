"""The recall floor on a candidate index, and what a refresh reports when the eval
set judges none of the documents it indexed (another knowledge base's)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ragtune.tasks.evaluation.retrieval import RetrievalMetrics
from ragtune.tasks.index.quality import recall_floor_check
from ragtune.tasks.reporting.refresh import RefreshSummary, render_markdown


def _metrics(recall: float, n: int) -> RetrievalMetrics:
    return RetrievalMetrics(recall, recall, recall, n_queries=n, k=5)


def test_recall_floor_passes_fails_and_never_passes_on_no_queries() -> None:
    assert recall_floor_check(_metrics(0.8, 40), 0.5, 3).status == "pass"
    low = recall_floor_check(_metrics(0.4, 40), 0.5, 3)
    assert low.blocks and "0.400 < floor 0.500 on 40 queries" in low.reason
    none = recall_floor_check(_metrics(0.0, 0), 0.0, 3)
    assert none.status == "warn" and none.subject == 3
    assert none.reason.startswith("not evaluated: the eval set judges none")


def test_the_summary_says_not_evaluated_instead_of_zeros() -> None:
    summary = RefreshSummary(
        data_hash="h", rev=None, git_commit=None, kb_path="other-kb", documents=2,
        added=["a", "b"], changed=[], removed=[], unchanged=0, quarantined=[],
        chunks_total=4, chunks_embedded=4, cache_hits=0, index_version=1,
        published=True, tag="live-1", checks=[], metrics={},
    )  # fmt: skip
    text = render_markdown(summary)
    assert "Not evaluated: the eval set judges none of the indexed documents." in text
    assert "| recall" not in text


def test_classify_against_labels_of_other_documents_measures_nothing(
    tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.cli import app

    kb = tmp_path / "kb" / "guides"
    kb.mkdir(parents=True)
    (kb / "escrow.md").write_text(
        "---\nid: escrow-basics\ntitle: What is escrow\ncategory: domain-concept\n---\n"
        "# What is escrow\n\nAn escrow account holds money for a third party until "
        "a deal closes; the bank pays taxes and insurance from it.\n"
    )
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["data"].update(
        kb_path="kb", labels_path=str(repo_root / "data/eval/freshness_labels.csv")
    )
    params["validation"]["gx_root"] = str(tmp_path / "gx")
    params["project"].update(state_dir="state", audit_log="state/audit.jsonl")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(app, ["classify", "--json", "-p", str(path)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [d["doc_id"] for d in payload["documents"]] == ["escrow-basics"]
    assert payload["accuracy"] is None and payload["labelled"] == 0
