"""The privacy gate's shipped thresholds on real fine-tunes of SmolLM2-135M (CPU).

Two adapters on one 4-bit base, both judged by params.yaml's privacy section as
shipped:

* honest: params.yaml's training settings (24 steps of 4 at 2e-4 with warm-up,
  cosine decay, dropout and clipping), one pass over its 96 members: passes;
* over-fitted: a fresh adapter, several passes over 32 members at a high
  constant rate without dropout: fails.

Members are exactly the records an adapter trained on; non-members are records
of fact groups no member belongs to (paraphrases of one fact share a group), one
record per group on both sides so that no two scores share a fact. Fewer records
than ``min_samples`` give insufficient evidence for either model, never a verdict.

Cheap enough for the suite (about four minutes on one core): the tracked sample
facts (data/sft/curated) as chat records with a one-word system prompt instead of
SmolLM2's default, cut at 48 tokens, keeping those with at least 12 answer tokens
(the trainer and the gate cut alike); the base model's scores, the attacks'
reference, are computed once for both adapters (a fresh adapter adds exactly
zero). The full-size calibration on whole records is in docs/privacy.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from ragtune.settings import load_settings
from ragtune.tasks.privacy.config import PrivacyConfig
from ragtune.tasks.privacy.gate import attack_gate, membership_attacks
from ragtune.tasks.privacy.losses import encode_records as encode_chat_records
from ragtune.tasks.privacy.losses import scorable, score_records
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import encode_records
from ragtune.tasks.training.outputs import build_model, pad_id
from ragtune.tasks.training.preflight import load_tokenizer
from ragtune.tasks.training.steps import FitData
from ragtune.tasks.training.trainer import fit
from tests.training._sft import single_thread

pytestmark = pytest.mark.slow

SEQ, MIN_ANSWER = 48, 12
SYSTEM = {"role": "system", "content": "Northwind."}
HONEST_MEMBERS, NON_MEMBERS = 96, 128  # 24 steps x batch 4: one pass
OVERFIT = {  # 32 records, 3 passes of 4 steps at 1e-3, constant, no dropout
    "max_steps": None, "num_epochs": 3, "batch_size": 8, "learning_rate": 1e-3,
    "lr_scheduler": "constant", "warmup_ratio": 0.0, "max_grad_norm": 1.0,
}  # fmt: skip
OVERFIT_MEMBERS, OVERFIT_NON_MEMBERS = 32, 64
log = logging.getLogger(__name__)


@dataclass
class Scored:
    """Token log-probs of members then non-members, and how many members."""

    candidate: list[np.ndarray]
    reference: list[np.ndarray]
    members: int

    def subset(self, members: int, non_members: int) -> Scored:
        keep = [*range(members), *range(self.members, self.members + non_members)]
        return Scored(
            [self.candidate[i] for i in keep],
            [self.reference[i] for i in keep],
            members,
        )


def _split(facts: Path, tok) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    """Members and non-members: one fact record per group, groups shuffled."""
    records = []
    for line in facts.read_text(encoding="utf-8").splitlines():
        fact = json.loads(line)
        messages = [
            SYSTEM,
            {"role": "user", "content": fact["instruction"]},
            {"role": "assistant", "content": fact["response"]},
        ]
        records.append({"id": fact["id"], "messages": messages, "meta": fact["meta"]})
    kept = scorable(records, tok, SEQ)
    by_group: dict[str, dict] = {}
    for record, example in zip(kept, encode_chat_records(kept, tok, SEQ), strict=True):
        if example.targets >= MIN_ANSWER:
            by_group.setdefault(record["meta"]["group"], record)
    order = np.random.default_rng(0).permutation(sorted(by_group))
    picked = [by_group[g] for g in order[: HONEST_MEMBERS + NON_MEMBERS]]
    assert len(picked) == HONEST_MEMBERS + NON_MEMBERS, len(picked)
    return picked[:HONEST_MEMBERS], picked[HONEST_MEMBERS:]


def _train(model, cfg: QLoRAConfig, records: list[dict], tok, root: Path) -> list:  # noqa: ANN001
    """Train ``model``'s adapter on ``records`` with the trainer; its losses."""
    examples = encode_records([r["messages"] for r in records], tok, SEQ).examples
    assert len(examples) == len(records)
    data = FitData(train=examples, eval=[], pad_id=pad_id(tok))
    return fit(model, data, cfg, root, fingerprint=root.name).state.losses


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    with single_thread():
        yield


@pytest.fixture(scope="module")
def shipped(repo_root: Path) -> tuple[QLoRAConfig, PrivacyConfig]:
    settings = load_settings(repo_root / "params.yaml", env={})
    assert settings.privacy == PrivacyConfig()  # the thresholds as shipped
    training = settings.training.model_copy(
        update={"max_seq_len": SEQ, "save_steps": 10_000}
    )
    assert training.max_steps * training.batch_size == HONEST_MEMBERS
    return training, settings.privacy


@pytest.fixture(scope="module")
def scored(
    one_thread: None, shipped, repo_root: Path, tmp_path_factory
) -> dict[str, Scored]:
    """Both adapters' and the base's scores (one base model, trained twice)."""
    cfg, privacy = shipped
    began = time.perf_counter()
    tok = load_tokenizer(cfg)
    members, held_out = _split(
        repo_root / "data/sft/curated/northwind-facts.jsonl", tok
    )
    model = build_model(cfg, "cpu")
    fresh = {
        n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
    }

    def score(records: list[dict]) -> list[np.ndarray]:
        return score_records(model, tok, records, SEQ, privacy.batch_size)

    reference = score(members + held_out)  # the adapter adds zero before training
    _train(model, cfg, members, tok, tmp_path_factory.mktemp("honest"))
    honest = Scored(score(members + held_out), reference, len(members))

    with torch.no_grad():  # a fresh adapter on the same base, no dropout
        for name, param in model.named_parameters():
            if name in fresh:
                param.copy_(fresh[name])
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    few = members[:OVERFIT_MEMBERS]
    _train(
        model, cfg.model_copy(update=OVERFIT), few, tok, tmp_path_factory.mktemp("over")
    )
    unseen = held_out[:OVERFIT_NON_MEMBERS]
    ref = reference[:OVERFIT_MEMBERS] + reference[len(members) :][:OVERFIT_NON_MEMBERS]
    over = Scored(score(few + unseen), ref, len(few))
    log.info("both adapters trained and scored in %.0f s", time.perf_counter() - began)
    return {"honest": honest, "over": over}


def _gates(scores: Scored, cfg: PrivacyConfig):  # noqa: ANN202
    attacks = membership_attacks(
        scores.candidate, scores.reference, scores.members, cfg
    )
    gates = [attack_gate(a.name, a, cfg) for a in attacks]
    for gate in gates:
        log.info("%s %s: %s", gate.name, gate.status, gate.reason)
    return gates


def test_honest_fine_tune_passes_at_the_shipped_thresholds(scored, shipped):
    cfg = shipped[1]
    gates = _gates(scored["honest"], cfg)
    assert [g.status for g in gates] == ["pass", "pass"], [g.reason for g in gates]
    for g in gates:
        assert g.measured["auc_high"] <= cfg.max_auc
        assert g.measured["tpr_high"] <= cfg.max_tpr_at_low_fpr


def test_over_fitted_fine_tune_fails_at_the_shipped_thresholds(scored, shipped):
    cfg = shipped[1]
    ratio, min_k = _gates(scored["over"], cfg)
    assert ratio.status == "fail", ratio.reason
    assert ratio.measured["auc_low"] > cfg.max_auc and ratio.measured["p_value"] < 1e-6
    assert "loss_ratio attack identifies training members" in ratio.reason
    assert min_k.status in ("fail", "warn")  # Min-K% is the weaker attack


def test_too_few_records_are_insufficient_evidence_for_either(scored, shipped):
    cfg = shipped[1]
    few = cfg.min_samples - 1
    for name in ("honest", "over"):
        for gate in _gates(scored[name].subset(few, 64), cfg):
            assert gate.status == "warn" and gate.measured["verdict"] == "insufficient"
            assert gate.reason.startswith("insufficient evidence: ")
            assert f"min_samples {cfg.min_samples}" in gate.reason
