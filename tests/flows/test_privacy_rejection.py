"""The privacy gate stops an over-fitted candidate inside the retrain flow.

The candidate is the tiny model trained many steps on a few dozen short
conversations until it memorises them; the evaluation bar is lenient, so the
evaluation gate lets it through, and the privacy thresholds are the shipped
ones. The flow must then reject it: registry entry rejected with the privacy
figures, no champion, the live index untouched, an audit record and an event.

Canaries are on: the flow plants them in the set it trains on, and the gate
finds them memorised there. ``max_seq_len`` cuts one conversation inside its
prompt: the trainer drops it, and the privacy gate must skip it too rather
than fail on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

from ragtune.app.settings import load_settings
from ragtune.tasks.training import data as training_data
from ragtune.tasks.training.tokenizer import build_byte_tokenizer
from tests._prefect import read_events
from tests.flows._project import LENIENT, audit_records, promotion_project

pytestmark = pytest.mark.slow

MODEL_NAME = "privacy-candidate"  # its own registry name: events are told apart
MAX_SEQ_LEN = 160  # answers cut short enough to memorise; one record cut entirely
OVERFIT = {  # ~20 passes over 35 records at a high constant rate, no regularisation
    "max_steps": 100, "batch_size": 8, "max_seq_len": MAX_SEQ_LEN,
    "learning_rate": 2e-3, "lr_scheduler": "constant", "warmup_ratio": 0.0,
    "max_grad_norm": None, "lora_r": 32, "lora_alpha": 64, "lora_dropout": 0.0,
    # the frozen random head caps what the tiny model can learn: adapt it too
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                       "up_proj", "down_proj", "lm_head"],
    "gradient_checkpointing": False, "save_steps": 1000,
}  # fmt: skip


@pytest.fixture()
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One BLAS thread here and in the training child: two spinning threads on a
    shared 2-core box make the tiny model several times slower, not faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _overfitting_project(root: Path, repo_root: Path) -> Path:
    """The promotion project trained to memorise the 67 concept conversations'
    first answers (half held out) and two canaries, with the shipped privacy
    thresholds (only sample sizes and canary candidates are smaller)."""
    params = promotion_project(root, repo_root)
    concepts = root / "data" / "sft" / "concepts"
    concepts.mkdir()
    shutil.copy2(root / "data/sft/curated/northwind-concepts.chat.jsonl", concepts)
    raw = yaml.safe_load(params.read_text())
    raw["dataset"].update(curated_dir=str(concepts), min_examples=16, eval_share=0.5)
    raw["dataset"]["generation"]["enabled"] = False
    raw["training"].update(OVERFIT)
    raw["promotion"].update(LENIENT, auto_approve=True)
    shipped = yaml.safe_load((repo_root / "params.yaml").read_text())["privacy"]
    shipped.update(max_members=64, max_non_members=64, batch_size=32)
    shipped["probe"].update(records=4, max_new_tokens=16)
    shipped["canaries"].update(enabled=True, count=2, candidates=255)
    raw["privacy"] = shipped  # thresholds as shipped; only sample sizes shrink
    raw["registry"]["model_name"] = MODEL_NAME
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return params


def _trained_records(build_dir: Path) -> dict[str, int]:
    """Records per split that the trainer keeps at MAX_SEQ_LEN, and how many it
    drops, counted with the trainer's own encoder."""
    tok = build_byte_tokenizer()
    counts = {"dropped": 0}
    for split in ("train", "eval"):
        records = training_data.read_chat_records(build_dir / f"{split}.jsonl")
        encoded = training_data.encode_records(records, tok, MAX_SEQ_LEN)
        counts[split] = len(encoded.examples)
        counts["dropped"] += encoded.dropped
    return counts


def test_over_fitted_candidate_is_rejected_by_the_privacy_gate(
    prefect_harness: None, one_thread: None, tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.app.catalog import Catalog
    from ragtune.flows.knowledge_refresh import knowledge_refresh
    from ragtune.flows.promotion import PromotionRejected
    from ragtune.flows.retrain import retrain
    from ragtune.tasks.registry.transaction import live_tag

    params = _overfitting_project(tmp_path, repo_root)
    tag = knowledge_refresh(params_path=str(params))["tag"]

    with pytest.raises(PromotionRejected) as rejected:
        retrain(params_path=str(params), reason="test")
    message = str(rejected.value)
    assert message.startswith("version 1 rejected by privacy: ")
    assert "[privacy] membership_loss_ratio: loss_ratio attack identifies" in message
    assert "AUC lower bound" in message and "> 0.7" in message

    settings = load_settings(params)
    registry = Catalog.from_settings(settings).registry()
    v1 = registry.get(1)
    assert v1.status == "rejected" and v1.index_tag == tag
    assert registry.champion() is None and registry.challenger() is None
    assert live_tag(*registry.index) == tag  # the index did not move either
    assert v1.gate_figures["evaluation"]["passed"] is True  # privacy said no
    privacy = v1.gate_figures["privacy"]
    assert privacy["passed"] is False
    gates = {g["name"]: g for g in privacy["gates"]}
    assert gates["membership_loss_ratio"]["status"] == "fail"
    ratio = next(a for a in privacy["attacks"] if a["attack"] == "loss_ratio")
    assert ratio["auc_low"] > 0.7  # the shipped limit, shown by the lower bound
    assert gates["membership_loss_ratio"]["measured"]["verdict"] == "fail"
    # the canaries planted in the training copy were found there and memorised:
    # far above the ~1.4 bits of a secret never seen (8 bits: ranked first of 256)
    canaries = sorted(privacy["canaries"], key=lambda c: c["id"])
    assert [(c["id"], c["candidates"]) for c in canaries] == [
        ("canary-000", 256),
        ("canary-001", 256),
    ]
    assert all(c["exposure"] > 5.0 for c in canaries), canaries
    # every record the trainer kept was attacked; the one it dropped was skipped
    kept = _trained_records(settings.path(settings.dataset.out_dir))
    assert kept["dropped"] >= 1
    assert (ratio["members"], ratio["non_members"]) == (kept["train"], kept["eval"])

    audit = audit_records(params)
    [entry] = [r for r in audit if r["action"] == "model.rejected"]
    assert entry["details"]["gate"] == "privacy" and entry["details"]["version"] == 1
    assert "membership_loss_ratio" in entry["details"]["reason"]
    assert not [r for r in audit if r["action"].startswith("promotion.")]  # no ask
    [event] = read_events(
        "ragtune.model.rejected", 1, resource=f"ragtune.model.{MODEL_NAME}"
    )
    assert event.payload["gate"] == "privacy" and event.payload["version"] == 1
