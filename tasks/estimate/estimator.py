"""The estimator's entry point: model size and data in, an Estimate out.

``ragtune estimate`` and the decision record call :func:`estimate`; everything
it assumes comes from :class:`~ragtune.tasks.estimate.config.EstimatorConfig`
and is listed in the result's ``assumptions`` so a reader can challenge it.
"""

from __future__ import annotations

import logging

from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.estimate.cost import Estimate, summarize_costs
from ragtune.tasks.estimate.fit import (
    Plan,
    cheapest_per_provider,
    fit_gpu,
    gpu_spec,
    plans,
)
from ragtune.tasks.estimate.shapes import ModelShape, resolve_shape
from ragtune.tasks.estimate.throughput import tokens_per_second, training_hours
from ragtune.tasks.estimate.workload import TrainingSetup, Workload, checked

log = logging.getLogger(__name__)


def estimate(
    model_size: str | int | ModelShape,
    method: str = "qlora",
    examples: int = 10_000,
    epochs: float = 1.0,
    seq_len: int = 1024,
    *,
    batch_size: int = 4,
    avg_tokens_per_example: int | None = None,
    gpu: str | None = None,
    needs_labels: bool = True,
    setup: TrainingSetup | None = None,
    cfg: EstimatorConfig | None = None,
) -> Estimate:
    """GPU sizing, hours and cost of fine-tuning ``model_size`` on ``examples``.

    Args:
        model_size: "7B", "13B", "70B" (Llama shapes), "9B"/"350M", a parameter
            count, or a ModelShape (e.g. from a checkpoint's config.json).
        method: "full", "lora" or "qlora".
        examples: training examples in the data set.
        epochs: passes over the examples.
        seq_len: tokens per training sequence.
        batch_size: sequences per micro-batch per GPU.
        avg_tokens_per_example: prompt + answer tokens; default from config.
        gpu: restrict the plan to this catalogue GPU (e.g. "A100-80GB").
        needs_labels: price data preparation as expert labelling per example.
        setup: precision, optimizer, LoRA and checkpointing options; its method,
            seq_len and batch_size are replaced by the arguments above.
        cfg: catalogue, prices and rules; defaults when None.

    Returns:
        The cheapest fitting plan, each provider's cheapest plan, the plan on the
        framework's reference GPU, and the first-project budget.

    Raises:
        InputError: an unknown size, method or GPU, a non-positive count, or a
            run that no GPU configuration in the catalogue can hold.
    """
    cfg = cfg or EstimatorConfig()
    shape = resolve_shape(model_size)
    base = (setup or TrainingSetup()).model_dump()
    base.update(method=method, seq_len=seq_len, batch_size=batch_size)
    run = checked(TrainingSetup, **base)
    tokens = avg_tokens_per_example or cfg.avg_tokens_per_example
    workload = checked(
        Workload, examples=examples, epochs=epochs, avg_tokens_per_example=tokens
    )
    if gpu is not None:
        gpu_spec(gpu, cfg)
    return estimate_run(
        shape, run, workload, gpu=gpu, needs_labels=needs_labels, cfg=cfg
    )


def estimate_run(
    shape: ModelShape,
    setup: TrainingSetup,
    workload: Workload,
    *,
    gpu: str | None = None,
    needs_labels: bool = True,
    cfg: EstimatorConfig,
) -> Estimate:
    """:func:`estimate` for inputs that are already validated models."""
    found = plans(shape, setup, workload.tokens, cfg, [gpu] if gpu else None)
    best = found[0]
    costs = None
    if best.cost_usd is not None:
        costs = summarize_costs(best.cost_usd, workload.examples, needs_labels, cfg)
    log.info(
        "%s %s: %s x %s, %.2f h, $%s",
        shape.name,
        setup.method,
        best.fit.count,
        best.fit.gpu,
        best.hours,
        "-" if best.cost_usd is None else f"{best.cost_usd:.2f}",
    )
    return Estimate(
        model=shape,
        setup=setup,
        workload=workload,
        plan=best,
        providers=cheapest_per_provider(found),
        reference=reference_plan(shape, setup, workload, cfg),
        costs=costs,
        prices_as_of=cfg.prices_as_of,
        assumptions=assumptions(setup, best, cfg),
    )


def reference_plan(
    shape: ModelShape, setup: TrainingSetup, workload: Workload, cfg: EstimatorConfig
) -> Plan | None:
    """The run on the framework's reference GPU, unpriced; None if it cannot fit."""
    fit = fit_gpu(shape, setup, cfg.reference_gpu, cfg)
    if fit is None:
        return None
    speed = tokens_per_second(shape, setup, cfg.gpus[fit.gpu], fit.count, cfg)
    return Plan(fit, speed, training_hours(workload.tokens, speed))


def assumptions(
    setup: TrainingSetup, plan: Plan, cfg: EstimatorConfig
) -> tuple[str, ...]:
    """The modelling choices behind the numbers, in words."""
    speed = getattr(cfg.speeds, setup.method)
    notes = [_storage_note(setup)]
    notes.append(
        "gradient checkpointing: only layer inputs kept, one extra forward pass"
        if setup.gradient_checkpointing
        else "no gradient checkpointing: every layer's activations kept"
    )
    if plan.fit.count > 1:
        notes.append(
            "weights, gradients and optimizer states fully sharded over the GPUs "
            f"(ZeRO-3/FSDP), {cfg.multi_gpu_efficiency:.0%} scaling per GPU"
        )
    notes.append(
        f"speed: {speed.utilization:.0%} of peak bf16 FLOP/s at "
        f">= {speed.saturation_tokens:,} tokens per micro-batch"
    )
    notes.append(
        f"{cfg.memory_headroom:.0%} of each card left free; on-demand list prices "
        f"as of {cfg.prices_as_of}"
    )
    return tuple(notes)


def _storage_note(setup: TrainingSetup) -> str:
    optimizer = "8-bit AdamW" if setup.optimizer != "adamw_torch" else "AdamW"
    if setup.method == "qlora":
        return f"4-bit NF4 base, fp32 LoRA r={setup.lora_rank} adapters, {optimizer}"
    if setup.method == "lora":
        return f"{setup.precision} base, fp32 LoRA r={setup.lora_rank}, {optimizer}"
    master = ", fp32 master copy" if setup.precision == "mixed" else ", no master copy"
    return f"{setup.precision} weights and gradients{master}, {optimizer}"
