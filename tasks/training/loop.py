"""The smallest training step QLoRA needs: optimizer, mixed precision, accumulation.

The retrain flow hands real SFT batches to the same step; tests and the GPU
benchmark feed it seeded random tokens, which is enough to measure speed, memory
and whether LoRA weights learn while the 4-bit base stays frozen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import bitsandbytes as bnb
import torch
from torch import nn

from ragtune.tasks.training.config import QLoRAConfig

Batch = Mapping[str, torch.Tensor]


def build_optimizer(model: nn.Module, cfg: QLoRAConfig) -> torch.optim.Optimizer:
    """The optimizer over the trainable (LoRA) parameters only."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optim == "adamw_torch":
        return torch.optim.AdamW(params, lr=cfg.learning_rate)
    on_cuda = any(p.device.type == "cuda" for p in params)
    if cfg.optim == "adamw_8bit" or not on_cuda:
        # Paging moves optimizer state between GPU and host memory; on a CPU
        # bitsandbytes would warn and fall back to this same non-paged optimizer.
        return bnb.optim.AdamW8bit(params, lr=cfg.learning_rate)
    return bnb.optim.PagedAdamW8bit(params, lr=cfg.learning_rate)


def synthetic_batches(
    vocab_size: int,
    batch_size: int,
    seq_len: int,
    count: int,
    seed: int,
    device: str | torch.device = "cpu",
) -> list[dict[str, torch.Tensor]]:
    """``count`` causal-LM batches of uniform random tokens, labels = inputs."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        ids = torch.randint(0, vocab_size, (batch_size, seq_len), generator=generator)
        ids = ids.to(device)
        batches.append({"input_ids": ids, "labels": ids})
    return batches


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Sequence[Batch],
    autocast_dtype: torch.dtype | None = None,
) -> float:
    """One optimizer step over ``micro_batches`` (gradient accumulation).

    Args:
        model: a model whose forward returns ``.loss`` when given ``labels``.
        optimizer: built over the trainable parameters.
        micro_batches: each is passed to ``model(**batch)``.
        autocast_dtype: bf16 on CUDA mirrors ``Trainer(bf16=True)``: peft keeps
            norms and head in fp32, and autocast runs them in bf16 where safe.

    Returns:
        The mean loss over the micro-batches.
    """
    if not micro_batches:
        raise ValueError("train_step needs at least one micro-batch")
    model.train()
    device_type = next(model.parameters()).device.type
    total = 0.0
    for batch in micro_batches:
        context = (
            torch.autocast(device_type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with context:
            loss = model(**batch).loss / len(micro_batches)
        loss.backward()
        total += loss.item()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
