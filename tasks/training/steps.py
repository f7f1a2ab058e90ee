"""One optimizer step and one evaluation pass over a tokenised data set.

The loss is computed here from the logits rather than taken from the model, so
that both uses get what they need: token-weighted sums for plain training (a
step over accumulated micro-batches equals one big batch) and one mean loss per
example for DP-SGD (each example's gradient is clipped on its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import bitsandbytes as bnb
import torch
from peft import PeftModel
from torch import nn

from ragtune.tasks.training.batching import BatchPlan, collate
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import IGNORE_INDEX, Example
from ragtune.tasks.training.factories import compute_dtype


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
    plan: BatchPlan | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    autocast: torch.dtype | None
    dp: Any = None  # a DPSGD engine in DP mode

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


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


def new_run(
    model: PeftModel,
    cfg: QLoRAConfig,
    data: FitData | None = None,
    plan: BatchPlan | None = None,
) -> Run:
    """A run with its optimizer and mixed precision, no schedule yet.

    The trainer adds the data, plan and schedule; tests and the GPU benchmark
    drive ``train_step`` with batches of their own, so that they exercise the
    step production runs, not a copy of it.
    """
    dtype = compute_dtype(cfg, next(model.parameters()).device)
    autocast = dtype if dtype != torch.float32 else None
    data = data if data is not None else FitData(train=(), eval=(), pad_id=0)
    return Run(model, cfg, data, plan, build_optimizer(model, cfg), None, autocast)


def next_token_targets(labels: torch.Tensor) -> torch.Tensor:
    """The label each position predicts (the next one's); the last gets none.

    The labels are shifted, not the logits: ``logits[:, :-1]`` would be copied to
    be flattened (batch x length x vocabulary floats, ~200 MB per step for
    SmolLM2 at 4 x 256), and its gradient once more in backward. transformers'
    causal-LM loss shifts the same way.
    """
    return nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


def token_losses(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token cross-entropy at every position (0 where unlabelled), and the
    mask of labelled positions, both (batch, length).

    ``logits`` is either (batch, length, vocabulary), or (labelled positions,
    vocabulary) in row-major order, as ``labelled_logits_only`` makes a model
    return them.
    """
    targets = next_token_targets(labels)
    keep = targets != IGNORE_INDEX
    if logits.dim() == 2:
        losses = nn.functional.cross_entropy(
            logits.float(), targets[keep], reduction="none"
        )
        flat = losses.new_zeros(targets.shape).masked_scatter(keep, losses)
    else:
        flat = nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="none",
        ).view(targets.shape)
    return flat, keep


def token_loss_sums(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row sums of next-token cross-entropy over labelled tokens, and counts
    (``logits`` as in ``token_losses``)."""
    flat, keep = token_losses(logits, labels)
    return flat.sum(dim=1), keep.sum(dim=1)


@contextlib.contextmanager
def labelled_logits_only(model: nn.Module, labels: torch.Tensor) -> Iterator[None]:
    """Have the output head project only the positions whose next token is labelled.

    In SFT data the prompt and the padding, about half of the positions of the
    sample set, carry no label, yet the head (hidden x vocabulary) and the
    cross-entropy over the vocabulary cost as much there as anywhere: 8% of a
    SmolLM2 step on a CPU. A forward pre-hook on the output embeddings keeps only
    the labelled rows of the hidden states, so the model returns (labelled
    positions, vocabulary) logits; losses and gradients are those of the full
    logits. A model whose head is not that module, or that lengthens the sequence
    before it, leaves the hook idle and returns every position's logits.
    """
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if getter is not None else None
    if head is None:
        yield
        return
    keep = next_token_targets(labels) != IGNORE_INDEX

    def select(_module: nn.Module, args: tuple) -> tuple | None:
        hidden = args[0] if args else None
        if not isinstance(hidden, torch.Tensor) or hidden.shape[:-1] != keep.shape:
            return None
        return (hidden[keep], *args[1:])

    handle = head.register_forward_pre_hook(select)
    try:
        yield
    finally:
        handle.remove()


def _autocast(run: Run) -> contextlib.AbstractContextManager:
    if run.autocast is None:
        return contextlib.nullcontext()
    return torch.autocast(run.device.type, dtype=run.autocast)


def _loss_sums(run: Run, batch: dict[str, torch.Tensor], train: bool):
    module = run.dp.module if (train and run.dp is not None) else run.model
    inputs = {k: v.to(run.device) for k, v in batch.items() if k != "labels"}
    labels = batch["labels"].to(run.device)
    # DP-SGD keeps every position: Opacus' per-example gradients of a trained
    # head need its activations shaped by example.
    narrow = (
        labelled_logits_only(module, labels)
        if run.dp is None
        else contextlib.nullcontext()
    )
    with _autocast(run), narrow:
        logits = module(**inputs).logits
    return token_loss_sums(logits, labels)


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
