"""The retrain flow under Prefect's test harness: dataset build and gates, a real
4-bit QLoRA run of the tiny model on the local backend, idempotent reuse, cooldown,
and a gate that stops before any training."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ragtune.app.settings import load_settings
from ragtune.audit import AuditLog
from ragtune.errors import GateFailed
from tests._tiny import use_tiny_model
from tests.cli.conftest import make_small_project

pytestmark = pytest.mark.slow


def _retrain_project(root: Path, repo_root: Path, **dataset: object) -> Path:
    params = make_small_project(root, repo_root)
    for rel in ("data/sft/curated", "data/prompts"):
        shutil.copytree(repo_root / rel, root / rel)
    raw = yaml.safe_load(params.read_text())
    raw["dataset"].update(eval_queries="eval/queries.jsonl", **dataset)
    use_tiny_model(raw)  # the tiny model, not the shipped SmolLM2: seconds per run
    raw["training"].update(
        max_steps=2,
        batch_size=2,
        gradient_accumulation_steps=1,
        max_seq_len=128,
        save_steps=1,
        optim="adamw_torch",
    )
    raw["backends"].update(poll_interval_s=0.5, work_dir="state/backends")
    raw["retrain"].update(runs_dir="state/retrain")
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return params


def test_retrain_trains_once_then_reuses(
    prefect_harness: None, tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.flows.retrain import retrain

    # No published index: the candidate is trained but not registered (there is
    # no base + RAG to evaluate it against); registration and the promotion gates
    # are covered end to end in test_promotion.py.
    params = _retrain_project(tmp_path, repo_root)
    first = retrain(params_path=str(params), reason="test")
    assert first["reused"] is False and first["steps"] == 2
    assert first["registered_version"] is None
    assert Path(first["adapter_dir"], "adapter_config.json").exists()
    assert Path(first["card"]).exists() and len(first["dataset_hash"]) > 8

    with pytest.raises(GateFailed, match="cooldown"):
        retrain(params_path=str(params), reason="test")
    again = retrain(params_path=str(params), reason="test", force=True)
    assert again["reused"] is True and again["fingerprint"] == first["fingerprint"]

    settings = load_settings(params)
    actions = [
        r["action"]
        for r in AuditLog(settings.path(settings.project.audit_log)).records()
    ]
    assert actions.count("retrain.started") == 1
    assert actions.count("retrain.candidate") == 2 and "retrain.skipped" in actions


def test_failing_dataset_gate_stops_before_training(
    prefect_harness: None, tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.flows.retrain import retrain

    params = _retrain_project(tmp_path, repo_root, min_examples=100_000)
    with pytest.raises(GateFailed, match="dataset gates failed: min_examples"):
        retrain(params_path=str(params), reason="test")
    assert not (tmp_path / "state" / "backends").exists()  # nothing was submitted
