"""Fixtures for the QLoRA tests: a tiny Llama shape and the devices to run on."""

from __future__ import annotations

import pytest
import torch

from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig

# 2 layers of width 64: big enough to have every Llama linear layer, small enough
# that ten 4-bit training steps take about a second on two CPU cores.
TINY = TinyModelConfig(
    vocab_size=128, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=128
)

DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param(
        "cuda",
        id="cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
        ],
    ),
]


@pytest.fixture
def tiny_qlora() -> QLoRAConfig:
    """QLoRA settings that make a tiny model learn visibly in ten steps."""
    return QLoRAConfig(
        tiny=TINY,
        lora_r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        learning_rate=1e-2,
        optim="adamw_torch",
        gradient_checkpointing=True,
        seed=0,
    )
