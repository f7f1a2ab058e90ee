"""Speed model against the H100 measurements that calibrate it."""

from __future__ import annotations

import pytest

from ragtune.tasks.estimate.throughput import (
    forward_flops_per_token,
    tokens_per_second,
    training_flops_per_token,
)
from ragtune.tasks.estimate.workload import TrainingSetup

# (method, optimizer, seq, batch, checkpointing, measured tokens/s on one H100)
MEASURED = [
    ("qlora", "adamw_8bit", 2048, 4, True, 5387),  # bench/results/qlora-h100.json
    ("qlora", "adamw_8bit", 512, 8, True, 5020),
    ("full", "adamw_8bit", 2048, 2, True, 6826),  # tests/estimate/test_gpu_memory.py
    ("full", "adamw_torch", 512, 2, False, 6852),
]


def test_full_finetune_is_6n_and_8n_with_checkpointing(llama7b):
    plain = TrainingSetup(method="full", gradient_checkpointing=False, seq_len=8)
    ckpt = plain.model_copy(update={"gradient_checkpointing": True})
    n = llama7b.matmul_params
    assert training_flops_per_token(llama7b, plain) == pytest.approx(6 * n, rel=1e-3)
    assert training_flops_per_token(llama7b, ckpt) == pytest.approx(8 * n, rel=1e-3)


def test_lora_skips_almost_all_weight_gradients(llama7b):
    lora = TrainingSetup(method="lora", gradient_checkpointing=False)
    full = lora.model_copy(update={"method": "full"})
    ratio = training_flops_per_token(llama7b, lora) / training_flops_per_token(
        llama7b, full
    )
    assert ratio == pytest.approx(2 / 3, abs=0.01)
    assert forward_flops_per_token(llama7b, 4096) > forward_flops_per_token(
        llama7b, 512
    )


@pytest.mark.parametrize(
    ("method", "optim", "seq", "batch", "ckpt", "measured"), MEASURED
)
def test_tokens_per_second_match_h100(
    cfg, llama7b, method, optim, seq, batch, ckpt, measured
):
    setup = TrainingSetup(
        method=method,
        optimizer=optim,
        seq_len=seq,
        batch_size=batch,
        gradient_checkpointing=ckpt,
    )
    speed = tokens_per_second(llama7b, setup, cfg.gpus["H100-80GB"], 1, cfg)
    assert speed == pytest.approx(measured, rel=0.25)


def test_more_gpus_are_faster_but_not_linear(cfg, llama7b):
    setup = TrainingSetup(method="full")
    gpu = cfg.gpus["A100-80GB"]
    one = tokens_per_second(llama7b, setup, gpu, 1, cfg)
    eight = tokens_per_second(llama7b, setup, gpu, 8, cfg)
    assert eight == pytest.approx(8 * one * cfg.multi_gpu_efficiency)
