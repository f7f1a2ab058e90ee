"""Promotion gates end to end on the tiny model under Prefect's test harness:
a candidate no better than base + RAG is rejected; a lenient bar auto-approves
and promotes; a paused run resumed with approve=true promotes model and index
together; a failure between alias move and index publish changes neither; the
rollback flow restores the previous adapter and index tag."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ragtune.app.settings import load_settings
from tests.flows._project import (
    LENIENT,
    audit_records,
    promotion_project,
    update_params,
)

pytestmark = pytest.mark.slow


def _resume_when_paused(answer: dict, found: list) -> threading.Thread:
    """Approve from another thread, as a person would in the UI form."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )

    def run() -> None:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and not found:
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=paused)
            for run in runs:
                try:
                    resume_flow_run(run.id, run_input=answer)
                    found.append(run.id)
                except Exception:  # noqa: BLE001 - input keyset not saved yet
                    pass
            time.sleep(1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_reject_promote_approve_fail_and_rollback(
    prefect_harness: None, tmp_path: Path, repo_root: Path
) -> None:
    from prefect import flow

    from ragtune.app.catalog import Catalog
    from ragtune.flows.knowledge_refresh import knowledge_refresh
    from ragtune.flows.promotion import PromotionRejected, promote_in_transaction
    from ragtune.flows.retrain import retrain
    from ragtune.flows.rollback import rollback
    from ragtune.tasks.registry.transaction import TransitionFailed, live_tag

    params = promotion_project(tmp_path, repo_root)
    tag1 = knowledge_refresh(params_path=str(params))["tag"]

    # 1. default bar: the 2-step adapter is no better than base + RAG
    with pytest.raises(PromotionRejected) as rejected:
        retrain(params_path=str(params), reason="test")
    assert "vs base+rag" in str(rejected.value) and "short of the" in str(
        rejected.value
    )
    registry = Catalog.from_settings(load_settings(params)).registry()
    v1 = registry.get(1)
    assert v1.status == "rejected" and registry.champion() is None
    assert v1.index_tag == tag1  # registered with the index it was evaluated on
    figures = v1.gate_figures["evaluation"]
    assert figures["passed"] is False and figures["n_queries"] == 4
    assert {"base+rag", "fine-tuned", "fine-tuned+rag"} <= set(figures["configs"])
    [entry] = [r for r in audit_records(params) if r["action"] == "model.rejected"]
    assert entry["details"]["gate"] == "evaluation"
    assert "vs base+rag" in entry["details"]["reason"]

    # 2. lenient bar, auto-approve: promoted, and the audit says nobody looked
    update_params(params, "promotion", auto_approve=True, **LENIENT)
    update_params(params, "training", seed=14)  # another fingerprint: a new candidate
    second = retrain(params_path=str(params), reason="test", force=True)
    assert second["promotion"]["status"] == "promoted"
    assert registry.champion().version == 2 and live_tag(*registry.index) == tag1
    approved = [r for r in audit_records(params) if r["action"] == "promotion.approved"]
    assert approved[-1]["actor"] == "auto-approve"
    assert approved[-1]["details"]["how"] == "auto"
    v2_uri = registry.get(2).adapter_uri

    # 3. a new index tag and a paused run approved through the typed form
    doc = tmp_path / "kb" / "guides" / "apr-vs-aer.md"
    doc.write_text(doc.read_text() + "\n\nAPR includes arrangement fees.\n")
    tag2 = knowledge_refresh(params_path=str(params))["tag"]
    assert tag2 != tag1
    update_params(params, "promotion", auto_approve=False, approval_timeout_s=600)
    found: list = []
    answer = {"approve": True, "reason": "looks right", "approver": "dana"}
    thread = _resume_when_paused(answer, found)
    third = retrain(params_path=str(params), reason="gap", force=True,
                    gap={"classes": ["domain-concept"]})  # fmt: skip
    thread.join(5)
    assert found and third["promotion"]["approver"] == "dana"
    assert "gap:gap" in third["promotion"]["gates"]
    assert "champion+rag" in registry.get(3).gate_figures["evaluation"]["configs"]
    assert registry.champion().version == 3 and live_tag(*registry.index) == tag2
    assert registry.get(3).approver == "dana"

    # 4. the index publish fails after the alias moved: both stay as they were
    def broken(uri: str, table: str, tag: str) -> None:
        raise OSError("object store unavailable")

    failing = Catalog.from_settings(load_settings(params)).registry(index_move=broken)

    @flow
    def attempt() -> None:
        promote_in_transaction(failing, failing.plan_rollback(2, "ops", "test"))

    with pytest.raises(TransitionFailed, match="previous champion and live index"):
        attempt()
    assert registry.champion().version == 3 and live_tag(*registry.index) == tag2
    assert len(registry.promotion_history()) == 2  # nothing committed

    # 5. the rollback flow restores v2's adapter and tag1 together
    back = rollback(2, "bad answers on fees", "erin", params_path=str(params))
    assert back["changed"] and back["event"] == "ragtune.model.rolled-back"
    champion = registry.champion()
    assert champion.version == 2 and champion.adapter_uri == v2_uri
    assert live_tag(*registry.index) == tag1
    last = audit_records(params)[-1]
    assert last["actor"] == "erin" and last["details"]["to_version"] == 2

    # 6. gates=False (demo --full) registers a candidate and stops: no promotion
    update_params(params, "training", seed=15)
    fourth = retrain(params_path=str(params), reason="test", force=True, gates=False)
    assert "promotion" not in fourth and fourth["registered_version"] == 4
    assert registry.get(4).status == "candidate" and registry.champion().version == 2
