"""Fixtures for the GPU backend tests: a tiny SFT set, a fast job, settings.

Training runs here use the config-built tiny Llama with real 4-bit layers for a
few optimizer steps: enough to produce a real adapter, tokenizer and card in
seconds on a CPU, through the same ``train(job)`` every backend runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragtune.app.settings import Settings, parse_settings
from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig
from ragtune.tasks.training.entrypoint import TrainingJob

FACTS = [
    ("late payment fee", "EUR 12"),
    ("overdraft rate", "9.9%"),
    ("card replacement fee", "EUR 5"),
]
# vocab 260: the byte tokenizer's size; width 64 is the least bitsandbytes' CPU
# 4-bit kernels accept (one 64-value block per row); one layer keeps steps fast.
TINY = TinyModelConfig(
    vocab_size=260, hidden_size=64, num_layers=1, num_heads=4, intermediate_size=128
)
STEPS = 3


def write_sft(path: Path, count: int) -> Path:
    """``count`` chat records over three tariff facts, as JSONL."""
    lines = []
    for i in range(count):
        topic, value = FACTS[i % len(FACTS)]
        messages = [
            {"role": "user", "content": f"What is the {topic}?"},
            {"role": "assistant", "content": f"The {topic} is {value}."},
        ]
        lines.append(json.dumps({"messages": messages}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fast_config(**overrides: Any) -> QLoRAConfig:
    """QLoRA settings for a few seconds of CPU training."""
    values: dict[str, Any] = {
        "tiny": TINY,
        "lora_r": 4,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "learning_rate": 1e-2,
        "optim": "adamw_torch",
        "gradient_checkpointing": False,
        "max_seq_len": 128,
        "batch_size": 4,
        "gradient_accumulation_steps": 1,
        "max_steps": STEPS,
        "save_steps": 100,
        "seed": 0,
    }
    values.update(overrides)
    return QLoRAConfig(**values)


def make_job(root: Path, name: str = "bk", **overrides: Any) -> TrainingJob:
    """A job over root/data/{train,eval}.jsonl writing to root/out/<name>."""
    train = write_sft(root / "data" / "train.jsonl", 12)
    evals = write_sft(root / "data" / "eval.jsonl", 3)
    values: dict[str, Any] = {
        "config": fast_config(),
        "train_path": train,
        "eval_path": evals,
        "dataset_hash": "md5-backends-0001",
        "output_dir": root / "out" / name,
        "run_name": name,
        "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "mlflow_experiment": "ragtune-backend-tests",
        "device": "cpu",
    }
    values.update(overrides)
    return TrainingJob(**values)


def make_settings(root: Path, **backends: Any) -> Settings:
    """Settings rooted at ``root`` with the given ``backends:`` keys."""
    section: dict[str, Any] = {"work_dir": "backends", "poll_interval_s": 0.2}
    section.update(backends)
    return parse_settings({"backends": section}, root, "test params")


def adapter_files(folder: Path) -> set[str]:
    """Names of the files that make an adapter usable."""
    return {p.name for p in folder.iterdir()} & {
        "adapter_config.json",
        "adapter_model.safetensors",
        "card.json",
        "tokenizer.json",
    }


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One torch/OpenMP thread in this process and its children: on a CPU shared
    by many processes, spinning threads make the tiny model far slower."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
