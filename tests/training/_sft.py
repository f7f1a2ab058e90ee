"""Shared helpers for the training tests: a tiny SFT set, a fast config, a job.

Thirty-two chat examples over four facts: small enough for seconds of training
on a busy CPU, repetitive enough that the tiny model's loss visibly falls.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig
from ragtune.tasks.training.entrypoint import TrainingJob

FACTS = [
    ("late payment fee", "EUR 12"),
    ("overdraft rate", "9.9%"),
    ("card replacement fee", "EUR 5"),
    ("savings rate", "2.1% AER"),
]
# The byte tokenizer has 260 tokens; the conftest's TINY (128) is for raw ids.
TINY_CHAT = TinyModelConfig(vocab_size=260)
# The output head is adapted too: with random init (std 0.02) and a frozen head,
# logits after the final RMS norm stay within about +-1.3, so the loss cannot
# fall far below ln(260) = 5.56 however the LoRA layers learn (measured: 5.2
# after 12 steps without the head, 3.1 with it).
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj")
TARGETS += ("down_proj", "lm_head")


def write_sft(path: Path, count: int, offset: int = 0) -> Path:
    """``count`` chat records (system, user, assistant) as JSONL."""
    lines = []
    for i in range(offset, offset + count):
        topic, value = FACTS[i % len(FACTS)]
        messages = [
            {"role": "system", "content": "Answer from the tariff."},
            {"role": "user", "content": f"What is the {topic}?"},
            {"role": "assistant", "content": f"The {topic} is {value}."},
        ]
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fast_qlora(**overrides: object) -> QLoRAConfig:
    """QLoRA settings under which 12 steps take seconds and the loss falls."""
    values: dict[str, object] = {
        "tiny": TINY_CHAT,
        "lora_r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.0,
        "learning_rate": 1e-2,
        "target_modules": TARGETS,
        "optim": "adamw_torch",
        "max_seq_len": 128,
        "batch_size": 4,
        "gradient_accumulation_steps": 2,
        "max_steps": 12,
        "save_steps": 4,
        "save_total_limit": 2,
        "eval_steps": 4,
        "max_grad_norm": 1.0,
        "warmup_ratio": 0.1,
        "seed": 0,
    }
    values.update(overrides)
    return QLoRAConfig(**values)


def make_job(
    root: Path, data: Path, tracking_uri: str, name: str, **overrides: object
) -> TrainingJob:
    """A job over ``data/train.jsonl`` and ``data/eval.jsonl`` writing to root/name."""
    values: dict[str, object] = {
        "config": fast_qlora(),
        "train_path": data / "train.jsonl",
        "eval_path": data / "eval.jsonl",
        "dataset_hash": "md5-test-0001",
        "output_dir": root / name,
        "run_name": name,
        "mlflow_tracking_uri": tracking_uri,
        "mlflow_experiment": "ragtune-tests",
        "device": "cpu",
    }
    values.update(overrides)
    return TrainingJob(**values)


def write_data(folder: Path) -> Path:
    """train.jsonl (32 records) and eval.jsonl (4 unseen phrasings' order)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sft(folder / "train.jsonl", 32)
    write_sft(folder / "eval.jsonl", 4, offset=1)
    return folder


class single_thread:  # noqa: N801 - used like a function in fixtures
    """One torch thread: on a CPU shared by many processes, two spinning OpenMP
    threads make the tiny model ~50x slower (measured), not faster."""

    def __enter__(self) -> None:
        self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)
