"""The cost cap: refuse a launch whose estimated GPU hours x price is too high.

The estimate comes from the estimator (``tasks/estimate``), sized from the job
itself: the base model's shape, the training file's examples and lengths, and
the QLoRA settings. The check runs before any upload, container or GPU starts,
and its refusal names the estimate and the cap so an operator can decide which
one to change.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel

from ragtune.errors import GateFailed, InputError
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.estimate import Estimate, EstimatorConfig, TrainingSetup, estimate
from ragtune.tasks.estimate.fit import Plan
from ragtune.tasks.estimate.shapes import (
    LINEAR_MODULES,
    ModelShape,
    shape_from_hf_config,
)
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.entrypoint import TrainingJob

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4.0  # rough English average; the estimate only needs the scale


class PlanSummary(BaseModel):
    """The priced plan a launch was accepted under (kept in the job handle)."""

    gpu: str
    count: int
    hours: float
    gpu_hours: float
    provider: str | None
    price_per_gpu_hour: float | None
    cost_usd: float | None

    @classmethod
    def of(cls, plan: Plan) -> PlanSummary:
        return cls(
            gpu=plan.fit.gpu,
            count=plan.fit.count,
            hours=plan.hours,
            gpu_hours=plan.gpu_hours,
            provider=plan.provider,
            price_per_gpu_hour=plan.price_per_gpu_hour,
            cost_usd=plan.cost_usd,
        )


def _select(est: Estimate, provider: str | None, gpu: str | None) -> Plan:
    candidates = [est.plan, *est.providers]
    for plan in candidates:
        if provider is not None and plan.provider != provider:
            continue
        if gpu is not None and plan.fit.gpu != gpu:
            continue
        return plan
    where = " ".join(x for x in (provider, gpu) if x) or "any provider"
    offered = ", ".join(f"{p.provider} {p.fit.gpu}" for p in est.providers) or "none"
    raise GateFailed(
        f"the estimate has no plan on {where} (priced plans: {offered}); the "
        "cost cap cannot be checked, so nothing was started"
    )


def check_cost_cap(
    est: Estimate,
    cfg: BackendConfig,
    provider: str | None = None,
    gpu: str | None = None,
) -> PlanSummary:
    """The plan a launch would use, if it is within the caps.

    Args:
        est: The estimator's result for the job.
        cfg: The ``backends:`` section (``max_cost_usd``, ``max_gpu_hours``).
        provider: Whose prices apply (modal, runpod); None: the cheapest plan.
        gpu: The GPU the backend is pinned to, if any.

    Raises:
        GateFailed: the estimate exceeds a cap (both numbers named), or no
            priced plan matches while a cost cap is set.
    """
    plan = PlanSummary.of(_select(est, provider, gpu))
    what = f"{plan.count} x {plan.gpu} for {plan.hours:.2f} h"
    if cfg.max_gpu_hours is not None and plan.gpu_hours > cfg.max_gpu_hours:
        raise GateFailed(
            f"estimated {plan.gpu_hours:.2f} GPU-hours ({what}) exceeds "
            f"backends.max_gpu_hours {cfg.max_gpu_hours:g}; nothing was started"
        )
    if cfg.max_cost_usd is not None:
        if plan.cost_usd is None:
            raise GateFailed(
                f"{plan.gpu} has no price in estimate.gpus, so the cost cap "
                f"${cfg.max_cost_usd:.2f} cannot be checked; nothing was started"
            )
        if plan.cost_usd > cfg.max_cost_usd:
            raise GateFailed(
                f"estimated cost ${plan.cost_usd:.2f} ({plan.gpu_hours:.2f} GPU-hours"
                f" x ${plan.price_per_gpu_hour:.2f}/h, {plan.provider} {what}) "
                f"exceeds the cost cap ${cfg.max_cost_usd:.2f} "
                "(backends.max_cost_usd); nothing was started"
            )
    log.info("cost cap ok: %s, $%s", what, plan.cost_usd)
    return plan


def model_shape(cfg: QLoRAConfig) -> ModelShape:
    """The base model's shape from its config (no weights are loaded)."""
    from ragtune.tasks.training.preflight import base_config

    name = cfg.base_model or "tiny-llama"
    return shape_from_hf_config(base_config(cfg).to_dict(), name=name)


def _data_size(path: Path) -> tuple[int, float]:
    """Examples and mean characters per example of a JSONL file."""
    try:
        lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    except OSError as exc:
        raise InputError(f"training data {path}: {exc.strerror or exc}") from None
    if not lines:
        raise InputError(f"training data {path} is empty")
    return len(lines), sum(len(ln) for ln in lines) / len(lines)


def _setup(cfg: QLoRAConfig) -> TrainingSetup:
    targets = cfg.target_modules
    if isinstance(targets, tuple) and not set(targets) <= set(LINEAR_MODULES):
        targets = "all-linear"  # non-Llama names: price the upper bound
    return TrainingSetup(
        method="qlora" if cfg.load_in_4bit else "lora",
        seq_len=cfg.max_seq_len,
        batch_size=cfg.batch_size,
        optimizer=cfg.optim,
        lora_rank=cfg.lora_r,
        target_modules=targets,
        lora_dropout=cfg.lora_dropout,
        gradient_checkpointing=cfg.gradient_checkpointing,
    )


def estimate_job(
    job: TrainingJob, est_cfg: EstimatorConfig, gpu: str | None = None
) -> Estimate:
    """Size and price ``job`` with the estimator (on ``gpu`` when given).

    ``max_steps`` overrides epochs as it does in training: the workload is then
    max_steps x the effective batch, once.
    """
    cfg = job.config
    examples, chars = _data_size(job.train_path)
    epochs = cfg.num_epochs
    if cfg.max_steps is not None:
        examples, epochs = cfg.max_steps * cfg.effective_batch_size, 1.0
    tokens = max(1, min(cfg.max_seq_len, round(chars / CHARS_PER_TOKEN)))
    setup = _setup(cfg)
    return estimate(
        model_shape(cfg),
        method=setup.method,
        examples=examples,
        epochs=epochs,
        seq_len=cfg.max_seq_len,
        batch_size=cfg.batch_size,
        avg_tokens_per_example=tokens,
        gpu=gpu,
        needs_labels=False,
        setup=setup,
        cfg=est_cfg,
    )
