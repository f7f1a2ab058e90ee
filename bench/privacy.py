"""Calibration of the privacy gate on SmolLM2-135M: an honest and an over-fitted
fine-tune, judged at params.yaml's privacy thresholds, on CPU.

Records are the tracked sample facts (data/sft/curated/northwind-facts.jsonl) as
the dataset build turns them into chat records (user question, assistant answer),
whole (params.yaml's max_seq_len). One record per fact group, groups shuffled:
the first 96 are the honest members, the next 160 the non-members (no paraphrase
of a member among them).

* base: the 4-bit base with a fresh adapter (it adds exactly zero) scores every
  record once: the attacks' reference for both adapters.
* honest: params.yaml's training settings as shipped (24 steps of 4 = one pass
  over the 96 members, 2e-4, warm-up, cosine, dropout 0.05, clipping 0.3).
* over-fitted: a fresh adapter, 8 passes over 32 of the members at 5e-4
  constant, no dropout (2e-3 diverged: loss 3.4 -> 7-8 within 64 steps).

    OMP_NUM_THREADS=1 python bench/privacy.py --json bench/results/privacy-cpu.json

About 30 minutes on one busy CPU core; docs/privacy.md has the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ragtune.settings import load_settings
from ragtune.tasks.privacy.gate import attack_gate, membership_attacks
from ragtune.tasks.privacy.losses import encode_records, scorable, score_records
from ragtune.tasks.training.factories import set_threads
from ragtune.tasks.training.outputs import build_model, pad_id
from ragtune.tasks.training.preflight import load_tokenizer
from ragtune.tasks.training.steps import FitData
from ragtune.tasks.training.trainer import fit

ROOT = Path(__file__).resolve().parents[1]
FACTS = ROOT / "data/sft/curated/northwind-facts.jsonl"
MEMBERS, NON_MEMBERS, OVERFIT_MEMBERS = 96, 160, 32
OVERFIT = {
    "max_steps": None, "num_epochs": 8, "learning_rate": 5e-4,
    "lr_scheduler": "constant", "warmup_ratio": 0.0, "max_grad_norm": 1.0,
}  # fmt: skip


def split(tok, max_seq_len: int, seed: int) -> tuple[list[dict], list[dict]]:  # noqa: ANN001
    by_group: dict[str, dict] = {}
    for line in FACTS.read_text(encoding="utf-8").splitlines():
        fact = json.loads(line)
        messages = [
            {"role": "user", "content": fact["instruction"]},
            {"role": "assistant", "content": fact["response"]},
        ]
        record = {"id": fact["id"], "messages": messages, "meta": fact["meta"]}
        by_group.setdefault(fact["meta"]["group"], record)
    records = scorable(list(by_group.values()), tok, max_seq_len)
    order = np.random.default_rng(seed).permutation(len(records))
    picked = [records[i] for i in order[: MEMBERS + NON_MEMBERS]]
    return picked[:MEMBERS], picked[MEMBERS:]


def judge(label: str, cand: list, ref: list, members: int, cfg) -> list[dict]:  # noqa: ANN001
    rows = []
    for attack in membership_attacks(cand, ref, members, cfg):
        gate = attack_gate(attack.name, attack, cfg)
        rows.append(
            {"model": label, **attack.to_dict(), "verdict": gate.measured["verdict"]}
        )
        print(f"{label:12s} {gate.name:24s} {gate.status:4s} {gate.reason}")  # noqa: T201
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    set_threads(1)
    began = time.perf_counter()
    settings = load_settings(ROOT / "params.yaml", env={})
    cfg, privacy = settings.training, settings.privacy
    tok = load_tokenizer(cfg)
    members, held_out = split(tok, cfg.max_seq_len, privacy.seed)
    model = build_model(cfg, "cpu")
    fresh = {
        n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
    }

    def score(records: list[dict]) -> list[np.ndarray]:
        return score_records(model, tok, records, cfg.max_seq_len, privacy.batch_size)

    def train(records: list[dict], config, root: Path) -> list[float]:  # noqa: ANN001
        data = FitData(encode_records(records, tok, cfg.max_seq_len), [], pad_id(tok))
        return fit(model, data, config, root, fingerprint=root.name).state.losses

    reference = score(members + held_out)
    rows, losses = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        losses["honest"] = train(members, cfg, Path(tmp) / "honest")
        honest = score(members + held_out)
        rows += judge("honest", honest, reference, MEMBERS, privacy)
        few = MEMBERS // 6  # 16 a side: under min_samples
        keep = [*range(few), *range(MEMBERS, MEMBERS + few)]
        rows += judge("honest-16", [honest[i] for i in keep],
                      [reference[i] for i in keep], few, privacy)  # fmt: skip
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in fresh:
                    param.copy_(fresh[name])
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        over_cfg = cfg.model_copy(update=OVERFIT)
        subset = members[:OVERFIT_MEMBERS]
        losses["over-fitted"] = train(subset, over_cfg, Path(tmp) / "over")
        over = score(subset + held_out)
        ref = reference[:OVERFIT_MEMBERS] + reference[MEMBERS:]
        rows += judge("over-fitted", over, ref, OVERFIT_MEMBERS, privacy)
    seconds = time.perf_counter() - began
    print(f"{seconds:.0f} s")  # noqa: T201
    if args.json:
        result = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} CPU, 1 torch thread",
            "seconds": round(seconds),
            "base_model": cfg.base_model,
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
            "losses": {k: [round(x, 3) for x in v] for k, v in losses.items()},
            "attacks": rows,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
