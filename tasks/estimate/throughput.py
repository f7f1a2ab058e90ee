"""Training speed from FLOPs: tokens per second on a given GPU configuration.

A forward pass costs ``2 * N + 4 * L * s * h`` FLOPs per token: two per weight
that takes part in a matrix product, plus attention's scores and weighted sum
(PaLM, Chowdhery et al. 2022, appendix B). Backward costs one forward for the
gradients with respect to activations and one more per trained weight share
for the weight gradients; checkpointing adds one forward of recompute. So full
fine-tuning is the familiar 6N (8N checkpointed) and LoRA about 4N (6N), its
adapters' few weight gradients aside. Dividing the card's peak bf16 FLOP/s times
a per-method utilization by that cost gives tokens per second.
"""

from __future__ import annotations

import math

from ragtune.tasks.estimate.config import EstimatorConfig, GpuSpec
from ragtune.tasks.estimate.memory import lora_params
from ragtune.tasks.estimate.shapes import ModelShape
from ragtune.tasks.estimate.workload import TrainingSetup


def forward_flops_per_token(shape: ModelShape, seq_len: int) -> float:
    """FLOPs of one forward pass per token at this sequence length."""
    attention = 4 * shape.layers * seq_len * shape.hidden
    return 2 * shape.matmul_params + attention


def trained_share(shape: ModelShape, setup: TrainingSetup) -> float:
    """Share of the matmul weights that get weight gradients."""
    if setup.method == "full":
        return 1.0
    return lora_params(shape, setup) / shape.matmul_params


def training_flops_per_token(shape: ModelShape, setup: TrainingSetup) -> float:
    """Hardware FLOPs per trained token, checkpoint recompute included."""
    passes = (
        2 + trained_share(shape, setup) + (1 if setup.gradient_checkpointing else 0)
    )
    return passes * forward_flops_per_token(shape, setup.seq_len)


def tokens_per_second(
    shape: ModelShape,
    setup: TrainingSetup,
    gpu: GpuSpec,
    count: int,
    cfg: EstimatorConfig,
) -> float:
    """Tokens per second over ``count`` GPUs of one type.

    The method's utilization holds for a well-fed card; micro-batches under its
    ``saturation_tokens`` slow it in proportion.
    """
    speed = getattr(cfg.speeds, setup.method)
    fill = min(1.0, setup.micro_batch_tokens / speed.saturation_tokens)
    per_gpu = gpu.bf16_tflops * 1e12 * speed.utilization * fill
    scaling = cfg.multi_gpu_efficiency if count > 1 else 1.0
    return count * scaling * per_gpu / training_flops_per_token(shape, setup)


def training_hours(tokens: float, tokens_per_s: float) -> float:
    """Wall-clock hours to process ``tokens`` at ``tokens_per_s``."""
    if tokens_per_s <= 0 or not math.isfinite(tokens_per_s):
        raise ValueError(f"throughput must be positive, got {tokens_per_s}")
    return tokens / tokens_per_s / 3600
