"""Calibration of the privacy gate on SmolLM2-135M: an honest and an over-fitted
fine-tune of the shipped 4-bit model, judged at params.yaml's privacy thresholds.

Records are the tracked sample facts (data/sft/curated/northwind-facts.jsonl) as
chat records (a one-word system prompt instead of SmolLM2's long default, the
question, the answer), cut at ``--seq`` tokens, keeping those with at least 12
answer tokens. One record per fact group (paraphrases of a fact share a group),
groups shuffled: the first ``--members`` are the honest members, the rest the
non-members, so no paraphrase of a member is held out.

* base: the 4-bit base with a fresh adapter (it adds exactly zero) scores every
  record once: the attacks' reference for both adapters.
* honest: params.yaml's training settings (rate, schedule, warm-up, dropout,
  clipping, batch) for one pass over the members.
* over-fitted: a fresh adapter, 3 passes over 32 of the members at 1e-3
  constant, no dropout.

Members are exactly the records an adapter trained on. The suite runs this
(tests/privacy/test_smollm2_privacy.py); docs/privacy.md has the figures:

    python -m bench.privacy --json bench/results/privacy-cpu.json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.stamp import cpu_stamp
from ragtune.app.settings import load_settings
from ragtune.gates import GateResult
from ragtune.tasks.privacy.config import PrivacyConfig
from ragtune.tasks.privacy.gate import attack_gate, membership_attacks
from ragtune.tasks.privacy.losses import encode_records as encode_chat_records
from ragtune.tasks.privacy.losses import scorable, score_records
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import encode_records
from ragtune.tasks.training.factories import set_threads
from ragtune.tasks.training.outputs import build_model, pad_id
from ragtune.tasks.training.preflight import load_tokenizer
from ragtune.tasks.training.steps import FitData
from ragtune.tasks.training.trainer import fit

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT / "data/sft/curated/northwind-facts.jsonl"
SYSTEM = {"role": "system", "content": "Northwind."}
OVERFIT = {
    "max_steps": None, "num_epochs": 3, "batch_size": 8, "learning_rate": 1e-3,
    "lr_scheduler": "constant", "warmup_ratio": 0.0, "max_grad_norm": 1.0,
}  # fmt: skip
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sizes:
    """How many records each side: honest members and non-members, then the
    over-fitted adapter's members (the first honest members) and non-members."""

    seq: int = 64
    min_answer: int = 12  # answer tokens a record keeps within the cut
    members: int = 256
    non_members: int = 288
    over_members: int = 32
    over_non_members: int = 128


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

    def judge(self, cfg: PrivacyConfig) -> list[GateResult]:
        """The gate's verdict on each membership attack, at ``cfg``'s thresholds."""
        attacks = membership_attacks(self.candidate, self.reference, self.members, cfg)
        return [attack_gate(a.name, a, cfg) for a in attacks]


def split(tok, sizes: Sizes, seed: int = 0) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    """Members and non-members: one fact record per group, groups shuffled."""
    records = []
    for line in FACTS.read_text(encoding="utf-8").splitlines():
        fact = json.loads(line)
        messages = [
            SYSTEM,
            {"role": "user", "content": fact["instruction"]},
            {"role": "assistant", "content": fact["response"]},
        ]
        records.append({"id": fact["id"], "messages": messages, "meta": fact["meta"]})
    kept = scorable(records, tok, sizes.seq)
    by_group: dict[str, dict] = {}
    encoded = encode_chat_records(kept, tok, sizes.seq)
    for record, example in zip(kept, encoded, strict=True):
        if example.targets >= sizes.min_answer:
            by_group.setdefault(record["meta"]["group"], record)
    order = np.random.default_rng(seed).permutation(sorted(by_group))
    wanted = sizes.members + sizes.non_members
    if len(order) < wanted:
        raise ValueError(
            f"{len(order)} fact groups keep {sizes.min_answer} answer tokens within "
            f"{sizes.seq} tokens; {wanted} wanted"
        )
    picked = [by_group[g] for g in order[:wanted]]
    return picked[: sizes.members], picked[sizes.members :]


def shipped() -> tuple[QLoRAConfig, PrivacyConfig]:
    """params.yaml's training and privacy sections as shipped (no env overrides)."""
    settings = load_settings(ROOT / "params.yaml", env={})
    return settings.training, settings.privacy


def calibrate(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Train both adapters on one base and score them; returns the scores and the
    training losses. The honest run is the shipped config for one pass."""
    training, privacy = shipped()
    honest_cfg = training.model_copy(
        update={
            "max_seq_len": sizes.seq,
            "save_steps": 10_000,
            "max_steps": sizes.members // training.batch_size,
        }
    )
    tok = load_tokenizer(honest_cfg)
    members, held_out = split(tok, sizes)
    model = build_model(honest_cfg, "cpu")
    fresh = {
        n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
    }

    def score(records: list[dict]) -> list[np.ndarray]:
        return score_records(model, tok, records, sizes.seq, privacy.batch_size)

    def train(records: list[dict], cfg: QLoRAConfig, name: str) -> list[float]:
        examples = encode_records([r["messages"] for r in records], tok, sizes.seq)
        data = FitData(train=examples.examples, eval=[], pad_id=pad_id(tok))
        return fit(model, data, cfg, work / name, fingerprint=name).state.losses

    began = time.perf_counter()
    reference = score(members + held_out)  # the fresh adapter adds zero
    losses = {"honest": train(members, honest_cfg, "honest")}
    honest = Scored(score(members + held_out), reference, len(members))
    with torch.no_grad():  # a fresh adapter on the same base, no dropout
        for name, param in model.named_parameters():
            if name in fresh:
                param.copy_(fresh[name])
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    few = members[: sizes.over_members]
    unseen = held_out[: sizes.over_non_members]
    losses["over-fitted"] = train(few, honest_cfg.model_copy(update=OVERFIT), "over")
    reference_over = reference[: len(few)] + reference[len(members) :][: len(unseen)]
    over = Scored(score(few + unseen), reference_over, len(few))
    seconds = time.perf_counter() - began
    log.info("both adapters trained and scored in %.0f s", seconds)
    return {
        "scores": {"honest": honest, "over-fitted": over},
        "losses": losses,
        "seconds": seconds,
        "privacy": privacy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    for name in ("seq", "min_answer", "members", "non_members"):
        default = getattr(Sizes, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    args = parser.parse_args()
    set_threads(1)
    sizes = Sizes(
        seq=args.seq,
        min_answer=args.min_answer,
        members=args.members,
        non_members=args.non_members,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = calibrate(sizes, Path(tmp))
    privacy: PrivacyConfig = out["privacy"]
    rows = []
    scores = out["scores"]
    few = privacy.min_samples - 1
    judged = [
        ("honest", scores["honest"]),
        (f"honest-{few}", scores["honest"].subset(few, sizes.non_members)),
        ("over-fitted", scores["over-fitted"]),
    ]
    for label, scored in judged:
        for gate in scored.judge(privacy):
            rows.append({"model": label, "attack": gate.name, "status": gate.status,
                         **gate.measured, "reason": gate.reason})  # fmt: skip
            print(f"{label:12s} {gate.name:12s} {gate.status:4s} {gate.reason}")  # noqa: T201
    print(f"{out['seconds']:.0f} s")  # noqa: T201
    if args.json:
        result = {
            **cpu_stamp(),
            "seconds": round(out["seconds"]),
            "sizes": vars(sizes),
            "thresholds": privacy.model_dump(
                include={
                    "max_auc",
                    "max_tpr_at_low_fpr",
                    "target_fpr",
                    "confidence",
                    "min_samples",
                }
            ),  # fmt: skip
            "overfit": OVERFIT,
            "losses": {k: [round(x, 3) for x in v] for k, v in out["losses"].items()},
            "attacks": rows,
        }
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
