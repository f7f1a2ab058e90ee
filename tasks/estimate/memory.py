"""GPU memory of a training run, counted tensor by tensor.

Static memory is parameters times bytes per parameter: weights (bf16 2, fp32 4,
NF4 about 0.52 with double quantisation), gradients for what is trained, and
AdamW's two moments (fp32 8 bytes, bf16 4, 8-bit 2) plus an fp32 master copy
(4) under mixed precision. The ZeRO paper's 16 bytes per parameter is the
``mixed`` + ``adamw_torch`` case: 7B x 16 = 108 GB, which no 80 GB card holds.
The framework's "7B full fine-tune on 1 x A100 80GB" holds with pure bf16
weights and gradients, 8-bit AdamW states and gradient checkpointing (6 bytes
per parameter, 38 GiB for Llama-2-7B), the setup of torchtune's
``llama2/7B_full_low_memory`` recipe; that is the full fine-tune default here.

Activations are per token, per decoder layer (Korthikanti et al. 2022, "Reducing
activation recomputation", redone for a Llama layer with fused attention so no
s x s score matrix is kept): the tensors autograd saves are the two norm inputs
and outputs, q, k, v, the attention output, and the MLP's gate, up, SiLU and
product, i.e. ``6h + 2*kv + 4f`` values, plus 4h bytes per RMSNorm for its fp32
upcast, plus a dropout copy and mask of each adapter's input under LoRA.
Checkpointing keeps only each layer's input and recomputes one layer at a time.
The logits add ~12 bytes per vocabulary entry per token (bf16 logits, their fp32
upcast and log-softmax). Against bench/results/qlora-h100.json (Llama-2-7B
shape, QLoRA r=16 all-linear, H100) this lands within 5% at every measured point.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.estimate.shapes import ModelShape
from ragtune.tasks.estimate.workload import TrainingSetup

GIB = 2**30
# NF4 (4 bits) plus an 8-bit absmax per 64 weights and an fp32 one per 256 blocks.
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)
# peft's prepare_model_for_kbit_training upcasts every unquantised weight to fp32.
QLORA_UNQUANTISED_BYTES = 4
ADAPTER_BYTES = 4  # peft keeps adapters in fp32 (autocast_adapter_dtype=True)
LOGIT_BYTES_PER_VOCAB = 12
NORM_EXTRA_BYTES = 4  # per hidden unit per RMSNorm: fp32 input and normed copy
LAYER_NORMS = 2
GATHERED_LAYERS = 2  # FSDP holds the current layer and prefetches the next


@dataclass(frozen=True)
class MemoryBreakdown:
    """Memory on each GPU, in GiB, by what holds it."""

    weights_gib: float
    adapters_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    sharding_buffer_gib: float
    overhead_gib: float
    gpus: int
    trainable_params: int
    total_params: int

    @property
    def tensors_gib(self) -> float:
        """What PyTorch's allocator holds at peak (``max_memory_allocated``)."""
        return self.total_gib - self.overhead_gib

    @property
    def total_gib(self) -> float:
        return (
            self.weights_gib
            + self.adapters_gib
            + self.gradients_gib
            + self.optimizer_gib
            + self.activations_gib
            + self.sharding_buffer_gib
            + self.overhead_gib
        )

    def to_dict(self) -> dict[str, float | int]:
        data = {
            k: (round(v, 2) if isinstance(v, float) else v)
            for k, v in asdict(self).items()
        }
        data["total_gib"] = round(self.total_gib, 2)
        return data


def lora_params(shape: ModelShape, setup: TrainingSetup) -> int:
    """Adapter parameters: r x (in + out) for each adapted linear layer."""
    if setup.method == "full":
        return 0
    dims = shape.linear_shapes()
    per_layer = sum(setup.lora_rank * sum(dims[name]) for name in setup.targets)
    return per_layer * shape.layers


def _compute_bytes(setup: TrainingSetup) -> int:
    return 4 if setup.precision == "fp32" else 2


def weight_bytes(shape: ModelShape, setup: TrainingSetup) -> float:
    """Bytes of the model's own weights (trained or frozen), adapters excluded."""
    if setup.method == "qlora":
        return (
            shape.linear_params * NF4_BYTES
            + shape.other_params * QLORA_UNQUANTISED_BYTES
        )
    return shape.total_params * _compute_bytes(setup)


def optimizer_bytes_per_param(setup: TrainingSetup, state_bytes: int) -> float:
    """AdamW's two moments (8-bit or at ``state_bytes``), master copy if mixed."""
    moments = 2.0 if setup.optimizer != "adamw_torch" else 2.0 * state_bytes
    master = 4 if setup.precision == "mixed" and setup.method == "full" else 0
    return moments + master


def _static_bytes(shape: ModelShape, setup: TrainingSetup) -> dict[str, float]:
    if setup.method == "full":
        grad = _compute_bytes(setup)
        state = 2 if setup.precision == "bf16" else 4
        trained = shape.total_params
        adapters = 0.0
    else:
        grad, state = ADAPTER_BYTES, ADAPTER_BYTES
        trained = lora_params(shape, setup)
        adapters = trained * ADAPTER_BYTES
    return {
        "weights": weight_bytes(shape, setup),
        "adapters": adapters,
        "gradients": trained * grad,
        "optimizer": trained * optimizer_bytes_per_param(setup, state),
    }


def layer_activation_bytes(shape: ModelShape, setup: TrainingSetup) -> float:
    """Bytes one decoder layer keeps for backward, per token, without checkpointing."""
    h, f, kv = shape.hidden, shape.intermediate, shape.kv_dim
    act = _compute_bytes(setup)
    total = act * (6 * h + 2 * kv + 4 * f) + LAYER_NORMS * NORM_EXTRA_BYTES * h
    if setup.method != "full":
        dims = shape.linear_shapes()
        for name in setup.targets:
            in_features = dims[name][0]
            if setup.lora_dropout > 0:
                total += (act + 1) * in_features  # dropped copy + boolean mask
            total += act * setup.lora_rank
    return total


def activation_bytes_per_token(shape: ModelShape, setup: TrainingSetup) -> float:
    """All activations per token: layers (or checkpoints + one layer) and logits."""
    layer = layer_activation_bytes(shape, setup)
    logits = LOGIT_BYTES_PER_VOCAB * shape.vocab
    if setup.gradient_checkpointing:
        kept = shape.layers * _compute_bytes(setup) * shape.hidden
        return kept + layer + logits
    return shape.layers * layer + logits


def estimate_memory(
    shape: ModelShape,
    setup: TrainingSetup,
    gpus: int = 1,
    cfg: EstimatorConfig | None = None,
) -> MemoryBreakdown:
    """Peak memory per GPU when training on ``gpus`` GPUs.

    With more than one GPU the static memory is fully sharded (ZeRO-3 / FSDP):
    each GPU holds 1/n of weights, gradients and optimizer states, plus the
    gathered bf16 weights of the layer in use and the next one. Activations do not
    shard: each GPU runs its own micro-batch of ``batch_size`` sequences.
    """
    cfg = cfg or EstimatorConfig()
    static = {k: v / gpus for k, v in _static_bytes(shape, setup).items()}
    gathered = 0.0
    if gpus > 1:
        per_param = weight_bytes(shape, setup) / shape.total_params
        gathered = GATHERED_LAYERS * shape.layer_params * per_param
    activations = activation_bytes_per_token(shape, setup) * setup.micro_batch_tokens
    tensors = sum(static.values()) + gathered + activations
    overhead = cfg.cuda_context_gib * GIB + cfg.fragmentation * tensors
    trainable = (
        shape.total_params if setup.method == "full" else lora_params(shape, setup)
    )
    return MemoryBreakdown(
        weights_gib=static["weights"] / GIB,
        adapters_gib=static["adapters"] / GIB,
        gradients_gib=static["gradients"] / GIB,
        optimizer_gib=static["optimizer"] / GIB,
        activations_gib=activations / GIB,
        sharding_buffer_gib=gathered / GIB,
        overhead_gib=overhead / GIB,
        gpus=gpus,
        trainable_params=trainable,
        total_params=shape.total_params + lora_params(shape, setup),
    )
