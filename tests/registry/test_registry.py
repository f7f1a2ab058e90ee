"""Registering candidates, promotion and rollback of model and index together, and
a failure half-way that must leave both where they were. Real MLflow (SQLite) and
a real LanceDB index with two published tags."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow import MlflowClient

from ragtune import events
from ragtune.errors import GateFailed, InputError
from ragtune.tasks.index.publish import list_tags, open_live
from ragtune.tasks.registry.models import Lineage
from ragtune.tasks.registry.transaction import TransitionFailed

pytestmark = pytest.mark.slow  # MLflow import and registry calls take seconds


def _register(project, registry, name: str, tag: str, **kw):  # noqa: ANN001, ANN202
    result, card = project.candidate(name, **kw)
    lineage = Lineage("v1.0-" + name, card.dataset_hash, tag, code_version="c0ffee")
    gates = {"evaluation": {"passed": True, "token_f1_delta": 0.12}}
    return registry.register_candidate(result, card, lineage, gates)


def _live(project) -> tuple[str, int]:  # noqa: ANN001
    live = next(t for t in list_tags(project.index_uri, project.table) if t.live)
    assert open_live(project.index_uri, project.table).version == live.version
    return live.tag, live.version


def test_register_candidate_records_lineage_and_sets_challenger(project) -> None:
    registry = project.registry()
    tag_a, tag_b = project.tags
    first = _register(project, registry, "cand-1", tag_a)
    assert (first.version, first.aliases, first.status) == (
        1,
        ("challenger",),
        "candidate",
    )
    assert (first.base_model, first.base_revision) == ("tiny-llama", "abc123")
    assert (first.dataset_version, first.dataset_hash) == ("v1.0-cand-1", "sft-1")
    assert first.index_tag == tag_a and first.hyperparameters == {"lora_r": 8}
    assert first.gate_figures["evaluation"]["token_f1_delta"] == 0.12
    assert first.training["final_loss"] == 1.0 and first.approver is None
    # the adapter files were copied into the registry's artifact store
    stored = Path(urlparse(first.adapter_uri).path)
    assert json.loads((stored / "adapter_config.json").read_text())["name"] == "cand-1"
    assert stored.is_relative_to(project.state / "mlartifacts")
    # a later gate adds its figures beside the earlier ones
    privacy = {"privacy": {"passed": True, "mia_auc": 0.51}}
    assert set(registry.record_gate_figures(1, privacy).gate_figures) == {
        "evaluation",
        "privacy",
    }
    second = _register(project, registry, "cand-2", tag_b, data_hash="sft-2")
    assert second.version == 2 and registry.challenger().version == 2
    assert registry.get(1).aliases == () and registry.champion() is None
    # registering the same training run again is idempotent
    result, card = project.candidate("cand-3", data_hash="sft-3")
    lineage = Lineage("v3", "sft-3", tag_b)
    assert registry.register_candidate(result, card, lineage).version == 3
    assert registry.register_candidate(result, card, lineage).version == 3
    assert len(registry.list_versions()) == 3


def test_register_refuses_a_dataset_hash_the_card_did_not_train_on(project) -> None:
    registry = project.registry()
    result, card = project.candidate("cand-x")
    wrong = Lineage("v1", "another-hash", project.tags[0])
    with pytest.raises(InputError, match="differs from the training card"):
        registry.register_candidate(result, card, wrong, {})
    assert registry.list_versions() == []


def test_promote_then_rollback_moves_model_and_index_together(project) -> None:
    registry = project.registry()
    tag_a, tag_b = project.tags
    _register(project, registry, "cand-1", tag_a)
    _register(project, registry, "cand-2", tag_b, data_hash="sft-2")

    first = registry.promote(1, tag_a, "alice", "beats base+RAG by 0.12 F1")
    assert registry.champion().version == 1 and _live(project)[0] == tag_a
    assert first.event == events.MODEL_PROMOTED and first.audit.actor == "alice"
    assert registry.get(1).approver == "alice" and registry.get(1).deployed_at

    registry.promote(2, None, "bob", "fresher pricing")  # None: its evaluated tag
    assert registry.champion().version == 2 and _live(project)[0] == tag_b
    assert registry.challenger() is None  # promoted challenger is no longer one

    back = registry.rollback(1, actor="carol", reason="complaints about v2")
    assert registry.champion().version == 1 and _live(project)[0] == tag_a
    assert back.event == events.MODEL_ROLLED_BACK
    assert back.audit.details["from_version"] == 2
    assert back.audit.details["index_tag"] == tag_a

    history = registry.promotion_history()
    assert [(r.kind, r.from_version, r.to_version, r.index_tag) for r in history] == [
        ("promote", None, 1, tag_a),
        ("promote", 1, 2, tag_b),
        ("rollback", 2, 1, tag_a),
    ]
    assert [r.actor for r in history] == ["alice", "bob", "carol"]
    # repeating the rollback changes nothing and logs nothing
    assert not registry.rollback(1, actor="carol").changed
    assert len(registry.promotion_history()) == 3


def test_failure_between_alias_move_and_index_publish_leaves_both(project) -> None:
    tag_a, tag_b = project.tags
    registry = project.registry()
    _register(project, registry, "cand-1", tag_a)
    registry.promote(1, tag_a, "alice", "first release")
    _register(project, registry, "cand-2", tag_b, data_hash="sft-2")
    before_live = _live(project)

    def broken_index_move(uri: str, table: str, tag: str) -> None:
        # the alias has moved by now: this is the crash the undo must repair
        moved = MlflowClient(registry.store.tracking_uri).get_model_version_by_alias(
            registry.cfg.model_name, "champion"
        )
        assert int(moved.version) == 2
        raise OSError("object store unreachable")

    failing = project.registry(index_move=broken_index_move)
    with pytest.raises(TransitionFailed, match="step 'index'.*restored"):
        failing.promote(2, tag_b, "bob", "fresher pricing")
    assert registry.champion().version == 1 and _live(project) == before_live
    assert registry.challenger().version == 2
    assert registry.get(2).deployed_at is None and registry.get(2).approver is None
    assert len(registry.promotion_history()) == 1


def test_failure_at_the_log_undoes_index_then_alias(project) -> None:
    tag_a, tag_b = project.tags
    registry = project.registry()
    _register(project, registry, "cand-1", tag_a)
    registry.promote(1, tag_a, "alice", "first release")
    _register(project, registry, "cand-2", tag_b, data_hash="sft-2")
    log_path = registry.promotions.path
    saved = log_path.read_bytes()
    log_path.unlink()
    log_path.mkdir()  # appending to a folder fails after both moves succeeded
    with pytest.raises(TransitionFailed, match="step 'log'"):
        registry.promote(2, tag_b, "bob", "fresher pricing")
    assert registry.champion().version == 1 and _live(project)[0] == tag_a
    log_path.rmdir()
    log_path.write_bytes(saved)
    assert registry.promotions.verify().ok


def test_promotion_log_survives_alias_moves_and_detects_tampering(project) -> None:
    tag_a, tag_b = project.tags
    registry = project.registry()
    _register(project, registry, "cand-1", tag_a)
    _register(project, registry, "cand-2", tag_b, data_hash="sft-2")
    registry.promote(1, tag_a, "alice", "first")
    registry.promote(2, tag_b, "bob", "second")
    # MLflow forgets where the alias pointed; the log does not
    MlflowClient(registry.store.tracking_uri).delete_registered_model_alias(
        registry.cfg.model_name, "champion"
    )
    assert registry.champion() is None
    assert [r.to_version for r in registry.promotion_history()] == [1, 2]
    assert registry.promotions.verify().ok and registry.rollback_targets() == {
        1: tag_a,
        2: tag_b,
    }
    lines = registry.promotions.path.read_text().splitlines()
    lines[0] = lines[0].replace('"first"', '"edited"')
    registry.promotions.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(GateFailed, match="line 1: record was edited"):
        registry.rollback(1, actor="carol")


def test_rollback_refuses_unknown_and_too_old_versions(project) -> None:
    from datetime import UTC, datetime, timedelta

    tag_a, tag_b = project.tags
    registry = project.registry()
    for n, tag in ((1, tag_a), (2, tag_b), (3, tag_b)):
        _register(project, registry, f"cand-{n}", tag, data_hash=f"sft-{n}")
    start = datetime.now(UTC) - timedelta(days=200)
    registry.promote(1, tag_a, "alice", "first", now=start)
    registry.promote(2, tag_b, "bob", "second", now=start + timedelta(days=100))
    # v1 served until day 100, i.e. 100 days ago: outside the 90-day window
    too_old = (
        r"version 1 last served until .*, 100 days ago, outside the 90-day "
        r"rollback window; eligible: v2 \(index live-.*, champion now\)"
    )
    with pytest.raises(InputError, match=too_old):
        registry.rollback(1, actor="carol")
    with pytest.raises(InputError, match="version 3 was never promoted"):
        registry.rollback(3, actor="carol")
    with pytest.raises(InputError, match="version 42 was never promoted"):
        registry.rollback(42, actor="carol")
    assert registry.champion().version == 2 and _live(project)[0] == tag_b
    # 20 days earlier, v1 had served within the window
    plan = registry.plan_rollback(1, "carol", now=datetime.now(UTC) - timedelta(20))
    assert (plan.to_version, plan.index_tag, plan.from_version) == (1, tag_a, 2)


def test_promotion_refuses_rejected_versions_and_other_index_tags(project) -> None:
    tag_a, tag_b = project.tags
    registry = project.registry()
    _register(project, registry, "cand-1", tag_a)
    with pytest.raises(InputError, match=f"evaluated with index tag {tag_a}"):
        registry.promote(1, tag_b, "alice", "wrong tag")
    _register(project, registry, "cand-2", "live-nope", data_hash="sft-2")
    with pytest.raises(InputError, match="no published tag 'live-nope'"):
        registry.promote(2, None, "alice", "evaluated with a tag never published")
    with pytest.raises(InputError, match="needs who does it and why"):
        registry.promote(1, None, " ", "no approver")
    registry.record_rejection(2, "evaluated with an unknown index")
    assert registry.challenger() is None
    registry.record_rejection(1, "privacy gate: MIA AUC 0.81")
    assert registry.get(1).status == "rejected"
    with pytest.raises(InputError, match="was rejected"):
        registry.promote(1, None, "alice", "anyway")
    with pytest.raises(InputError, match=r"no version 9 \(registered: 1, 2\)"):
        registry.promote(9, None, "alice", "missing")
    assert registry.champion() is None and registry.promotion_history() == []
