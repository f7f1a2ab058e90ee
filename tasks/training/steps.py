"""One optimizer step and one evaluation pass over a tokenised data set.

The loss is computed here from the logits rather than taken from the model, so
that both uses get what they need: token-weighted sums for plain training (a
step over accumulated micro-batches equals one big batch) and one mean loss per
example for DP-SGD (each example's gradient is clipped on its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from peft import PeftModel
from torch import nn

from ragtune.tasks.training.batching import BatchPlan, collate
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import IGNORE_INDEX, Example


@dataclass(frozen=True)
class FitData:
    """Tokenised examples and the id that pads them."""

    train: Sequence[Example]
    eval: Sequence[Example]
    pad_id: int


@dataclass
class Run:
    """The objects one training run works with."""

    model: PeftModel
    cfg: QLoRAConfig
    data: FitData
    plan: BatchPlan
    optimizer: torch.optim.Optimizer
    scheduler: Any
    autocast: torch.dtype | None
    dp: Any = None  # a DPSGD engine in DP mode

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def token_loss_sums(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row sums of next-token cross-entropy over labelled tokens, and counts."""
    shifted = labels[:, 1:]
    flat = nn.functional.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]),
        shifted.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(shifted.shape)
    return flat.sum(dim=1), (shifted != IGNORE_INDEX).sum(dim=1)


def _autocast(run: Run) -> contextlib.AbstractContextManager:
    if run.autocast is None:
        return contextlib.nullcontext()
    return torch.autocast(run.device.type, dtype=run.autocast)


def _loss_sums(run: Run, batch: dict[str, torch.Tensor], train: bool):
    module = run.dp.module if (train and run.dp is not None) else run.model
    inputs = {k: v.to(run.device) for k, v in batch.items() if k != "labels"}
    with _autocast(run):
        logits = module(**inputs).logits
    return token_loss_sums(logits, batch["labels"].to(run.device))


def train_step(
    run: Run, micro: Sequence[dict[str, torch.Tensor]]
) -> tuple[float, float]:
    """One optimizer step; returns the token-weighted loss and the gradient norm.

    Without DP each micro-batch's loss is scaled by its share of the step's target
    tokens, so accumulation equals one big batch. Under DP each example's own mean
    loss is differentiated, clipped and noised by the engine.
    """
    run.model.train()
    total = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in micro)
    loss_sum, norms = 0.0, []
    for batch in micro:
        sums, counts = _loss_sums(run, batch, train=True)
        loss_sum += float(sums.detach().sum())
        if run.dp is None:
            (sums.sum() / total).backward()
        else:
            (sums / counts.clamp(min=1)).sum().backward()
            norms.append(run.dp.accumulate())
    if run.dp is None:
        limit = run.cfg.max_grad_norm or float("inf")
        params = [p for p in run.model.parameters() if p.requires_grad]
        grad_norm = float(nn.utils.clip_grad_norm_(params, limit))
    else:
        run.dp.finish_step()
        grad_norm = float(torch.cat(norms).mean())
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    return loss_sum / total, grad_norm


@torch.no_grad()
def evaluate(run: Run) -> float | None:
    """Token-weighted loss over the eval set (longest first, fixed order)."""
    examples = run.data.eval
    if not examples:
        return None
    run.model.eval()
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i]))
    size = run.cfg.batch_size
    loss, count = 0.0, 0
    for start in range(0, len(order), size):
        rows = tuple((i,) for i in order[start : start + size])
        batch = collate(rows, examples, run.data.pad_id, packed=False)
        sums, counts = _loss_sums(run, batch, train=False)
        loss, count = loss + float(sums.sum()), count + int(counts.sum())
    run.model.train()
    return loss / count
