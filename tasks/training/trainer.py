"""The QLoRA training loop: explicit, seeded, checkpointed and resumable.

An explicit loop rather than transformers' ``Trainer`` because three things this
project needs sit awkwardly in it: DP-SGD needs its hand on every backward pass
(per-example clipping before the optimizer step); resume must be exact, which
means one owner for the data-loader position, the RNG states and the DP noise
stream; and checkpoints must be atomic (``Trainer`` writes into the final
folder). The loop is a hundred lines; every state it keeps is in ``TrainState``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from peft import PeftModel
from transformers import get_scheduler

from ragtune.tasks.training import checkpoint as ckpt
from ragtune.tasks.training.batching import (
    BatchPlan,
    batch_tokens,
    collate,
    count_steps,
    make_plan,
)
from ragtune.tasks.training.config import DPConfig, QLoRAConfig
from ragtune.tasks.training.progress import ProgressFile
from ragtune.tasks.training.steps import FitData, Run, evaluate, new_run, train_step

log = logging.getLogger(__name__)

_SCHEDULERS = {
    "cosine": "cosine",
    "linear": "linear",
    "constant": "constant_with_warmup",
}


class MetricsSink(Protocol):
    """Where per-step metrics go (MLflow in production, a list in tests)."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...


@dataclass
class TrainState:
    """Everything the loop needs to continue; saved as a checkpoint's state.json."""

    fingerprint: str
    step: int = 0
    position: int = 0  # micro-batches consumed: the data-loader position
    tokens_seen: int = 0
    elapsed_s: float = 0.0
    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    eval_losses: list[list[float]] = field(default_factory=list)  # [step, loss]
    dp_history: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class FitOutcome:
    """How a call to ``fit`` ended."""

    state: TrainState
    total_steps: int
    resumed_from: int | None
    eval_loss: float | None
    epsilon: float | None


def _save(run: Run, state: TrainState, root: Path) -> None:
    extra = {}
    if run.dp is not None:
        state.dp_history, extra["dp_noise"] = run.dp.state()
    ckpt.save_checkpoint(
        root, state.step, run.model, run.optimizer, run.scheduler, asdict(state),
        keep=run.cfg.save_total_limit, extra=extra,
    )  # fmt: skip


def _resume(run: Run, state: TrainState, root: Path) -> TrainState | None:
    ckpt.remove_partial(root)
    found = ckpt.list_checkpoints(root)
    if not found:
        return None
    step, path = found[-1]
    saved, extra = ckpt.load_checkpoint(
        path, run.model, run.optimizer, run.scheduler, state.fingerprint
    )
    if run.dp is not None:
        run.dp.restore(saved["dp_history"], extra["dp_noise"])
    log.info("resuming from %s (step %s)", path.name, step)
    return TrainState(**saved)


@contextlib.contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    # Fork the RNG so a seeded run leaves the caller's random stream untouched;
    # warn_only: some CUDA kernels have no deterministic variant.
    devices = [device.index or 0] if device.type == "cuda" else []
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=devices):
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _build_run(
    model: PeftModel,
    data: FitData,
    cfg: QLoRAConfig,
    plan: BatchPlan,
    dp: DPConfig | None,
    total: int,
) -> Run:
    run = new_run(model, cfg, data, plan)
    warmup = math.ceil(cfg.warmup_ratio * total)
    kind = _SCHEDULERS[cfg.lr_scheduler]
    run.scheduler = get_scheduler(kind, run.optimizer, warmup, total)
    if dp is not None:
        from ragtune.tasks.training.dp import DPSGD  # Opacus only when asked for

        expected = cfg.effective_batch_size
        rate = min(1.0, expected / len(data.train))
        run.dp = DPSGD(model, dp, expected, rate)
        run.dp.seed(cfg.seed)
    return run


def fit(
    model: PeftModel,
    data: FitData,
    cfg: QLoRAConfig,
    checkpoints: Path,
    fingerprint: str,
    *,
    resume: bool = False,
    sink: MetricsSink | None = None,
    dp: DPConfig | None = None,
    progress: ProgressFile | None = None,
) -> FitOutcome:
    """Train ``model``'s LoRA weights on ``data``, checkpointing under ``checkpoints``.

    Args:
        fingerprint: identifies config + data; a checkpoint with another one is
            refused on resume.
        resume: continue from the newest complete checkpoint when there is one.
        sink: receives per-step metrics (loss, learning_rate, grad_norm,
            tokens_per_s, step_time_s, eval_loss, epsilon under DP).
        dp: DP-SGD settings; None trains without differential privacy.
        progress: receives steps done and planned, loss, tokens/s and the ETA
            after every step (the CLI's progress bar reads it).
    """
    plan = make_plan(cfg, data.train, dp=dp is not None)
    total = count_steps(cfg, plan)
    run = _build_run(model, data, cfg, plan, dp, total)
    with _deterministic(run.device):
        torch.manual_seed(cfg.seed)
        state = _resume(run, TrainState(fingerprint), checkpoints) if resume else None
        resumed_from = state.step if state else None
        state = state or TrainState(fingerprint)
        _loop(run, state, total, checkpoints, (sink, progress))
    epsilon = None
    if run.dp is not None:
        run.dp.detach()
        epsilon = run.dp.epsilon()
    eval_loss = state.eval_losses[-1][1] if state.eval_losses else None
    return FitOutcome(state, total, resumed_from, eval_loss, epsilon)


def _one_step(run: Run, state: TrainState) -> dict[str, float]:
    """Run one optimizer step, advance ``state`` and return its metrics."""
    began = time.perf_counter()
    accum = run.cfg.gradient_accumulation_steps
    rows = [run.plan.at(state.position + k) for k in range(accum)]
    packed = run.plan.layout == "packed"
    micro = [collate(r, run.data.train, run.data.pad_id, packed) for r in rows]
    lr = run.scheduler.get_last_lr()[0]
    loss, grad_norm = train_step(run, micro)
    run.scheduler.step()
    tokens = sum(batch_tokens(r, run.data.train) for r in rows)
    step_s = time.perf_counter() - began
    state.step, state.position = state.step + 1, state.position + accum
    state.tokens_seen += tokens
    state.losses.append(loss)
    state.learning_rates.append(lr)
    metrics = {
        "loss": loss,
        "learning_rate": lr,
        "grad_norm": grad_norm,
        "tokens_per_s": tokens / step_s,
        "step_time_s": step_s,
    }
    if run.dp is not None:
        metrics["epsilon"] = run.dp.epsilon()
    return metrics


def _loop(
    run: Run,
    state: TrainState,
    total: int,
    root: Path,
    sinks: tuple[MetricsSink | None, ProgressFile | None],
) -> None:
    sink, progress = sinks
    started, before = time.perf_counter(), state.elapsed_s
    every = run.cfg.eval_steps
    if progress is not None:
        progress.update(state.step, total, {}, state.elapsed_s, state.tokens_seen)
    while state.step < total:
        metrics = _one_step(run, state)
        state.elapsed_s = before + time.perf_counter() - started
        if progress is not None:
            progress.update(
                state.step, total, metrics, state.elapsed_s, state.tokens_seen
            )
        if state.step == total or (every and state.step % every == 0):
            if progress is not None:
                progress.phase("evaluating")
            eval_loss = evaluate(run)
            if eval_loss is not None:
                metrics["eval_loss"] = eval_loss
                state.eval_losses.append([state.step, eval_loss])
        if sink is not None:
            sink.log_metrics(metrics, state.step)
        state.elapsed_s = before + time.perf_counter() - started
        if state.step % run.cfg.save_steps == 0 or state.step == total:
            _save(run, state, root)
