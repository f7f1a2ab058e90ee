"""Memory formulas: parameter counts, bytes per parameter, activations, sharding."""

from __future__ import annotations

import pytest

from ragtune.tasks.estimate.fit import fit_gpu
from ragtune.tasks.estimate.memory import GIB, estimate_memory, lora_params
from ragtune.tasks.estimate.shapes import (
    NAMED_SHAPES,
    resolve_shape,
    shape_from_hf_config,
)
from ragtune.tasks.estimate.workload import TrainingSetup

GB = 1e9

# Peak allocated GiB measured on an H100 (bench/results/qlora-h100.json):
# Llama-2-7B shape, NF4 + double quant, LoRA r=16 all-linear, 8-bit AdamW.
QLORA_H100 = [
    (512, 1, True, 5.11),
    (2048, 1, True, 6.39),
    (2048, 2, True, 8.15),
    (2048, 4, True, 11.69),
    (512, 1, False, 9.57),
    (512, 4, False, 24.08),
    (2048, 2, False, 43.43),
]


def test_named_shapes_have_their_published_parameter_counts():
    counts = {name: s.total_params for name, s in NAMED_SHAPES.items()}
    assert counts["7B"] == 6_738_415_616  # Llama-2-7B
    assert counts["13B"] == pytest.approx(13.016e9, rel=1e-3)
    assert counts["70B"] == pytest.approx(68.98e9, rel=1e-3)
    assert counts["8B"] == pytest.approx(8.03e9, rel=1e-3)


def test_7b_weights_at_bf16_are_13_to_14_gb(llama7b):
    mem = estimate_memory(llama7b, TrainingSetup(method="full", precision="bf16"))
    assert 13 <= mem.weights_gib * GIB / GB <= 14
    fp32 = estimate_memory(llama7b, TrainingSetup(method="full", precision="fp32"))
    assert fp32.weights_gib == pytest.approx(2 * mem.weights_gib)


def test_qlora_weights_are_about_a_quarter_of_bf16(llama7b):
    q = estimate_memory(llama7b, TrainingSetup(method="qlora")).weights_gib
    bf16 = estimate_memory(llama7b, TrainingSetup(method="lora")).weights_gib
    # 4-bit layers, but embeddings and head stay in fp32 (peft's kbit prep).
    assert 3.8 <= q * GIB / GB <= 4.6
    assert 0.25 <= q / bf16 <= 0.35


@pytest.mark.parametrize(
    ("precision", "optimizer", "per_param"),
    [
        ("bf16", "adamw_8bit", 6),  # 2 weights + 2 grads + 2 states
        ("bf16", "adamw_torch", 8),  # states in bf16
        ("mixed", "adamw_torch", 16),  # ZeRO paper: 2 + 2 + 12
        ("mixed", "paged_adamw_8bit", 10),
        ("fp32", "adamw_torch", 16),
    ],
)
def test_full_finetune_bytes_per_parameter(llama7b, precision, optimizer, per_param):
    setup = TrainingSetup(method="full", precision=precision, optimizer=optimizer)
    mem = estimate_memory(llama7b, setup)
    static = (mem.weights_gib + mem.gradients_gib + mem.optimizer_gib) * GIB
    assert static / llama7b.total_params == pytest.approx(per_param)


def test_lora_parameter_count_matches_peft(llama7b):
    # peft reported 39,976,960 trainable parameters for this model in the bench.
    assert (
        lora_params(llama7b, TrainingSetup(method="qlora", lora_rank=16)) == 39_976_960
    )
    qv = TrainingSetup(method="lora", lora_rank=8, target_modules=("q_proj", "v_proj"))
    assert lora_params(llama7b, qv) == 32 * 8 * (4096 + 4096) * 2
    assert lora_params(llama7b, TrainingSetup(method="full")) == 0


@pytest.mark.parametrize(("seq_len", "batch", "ckpt", "measured"), QLORA_H100)
def test_qlora_7b_memory_matches_h100_measurements(
    llama7b, seq_len, batch, ckpt, measured
):
    setup = TrainingSetup(
        method="qlora",
        seq_len=seq_len,
        batch_size=batch,
        gradient_checkpointing=ckpt,
        optimizer="adamw_8bit",
    )
    predicted = estimate_memory(llama7b, setup).tensors_gib
    assert predicted == pytest.approx(measured, rel=0.06)


def test_qlora_7b_fits_a_24gb_card_at_seq_512_batch_1(cfg, llama7b):
    setup = TrainingSetup(method="qlora", seq_len=512, batch_size=1)
    for card in ("L4", "RTX-4090"):
        fit = fit_gpu(llama7b, setup, card, cfg)
        assert fit is not None and fit.count == 1
        assert fit.memory.total_gib < 8  # with CUDA context and allocator slack


def test_checkpointing_trades_activation_memory(llama7b):
    kept = TrainingSetup(method="full", seq_len=2048, gradient_checkpointing=False)
    ckpt = kept.model_copy(update={"gradient_checkpointing": True})
    a = estimate_memory(llama7b, kept).activations_gib
    b = estimate_memory(llama7b, ckpt).activations_gib
    assert a > 5 * b
    # Activations grow linearly in tokens (fused attention keeps no s x s scores).
    doubled = kept.model_copy(update={"batch_size": kept.batch_size * 2})
    assert estimate_memory(llama7b, doubled).activations_gib == pytest.approx(2 * a)


def test_sharding_splits_static_memory_not_activations(llama7b):
    setup = TrainingSetup(method="full")
    one = estimate_memory(llama7b, setup, gpus=1)
    eight = estimate_memory(llama7b, setup, gpus=8)
    assert eight.optimizer_gib == pytest.approx(one.optimizer_gib / 8)
    assert eight.weights_gib == pytest.approx(one.weights_gib / 8)
    assert eight.activations_gib == pytest.approx(one.activations_gib)
    # Two gathered bf16 layers: 2 x 202M parameters x 2 bytes.
    assert eight.sharding_buffer_gib * GIB / GB == pytest.approx(0.81, rel=0.01)
    assert one.sharding_buffer_gib == 0


def test_derived_shapes_land_near_the_requested_size():
    for text, params in [("9B", 9e9), ("350M", 350e6), ("30B", 30e9)]:
        assert resolve_shape(text).total_params == pytest.approx(params, rel=0.08)
    assert resolve_shape("7b") is NAMED_SHAPES["7B"]
    assert resolve_shape(13_000_000_000).total_params == pytest.approx(13e9, rel=0.08)


def test_shape_from_a_hugging_face_config():
    config = {
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "vocab_size": 128256,
    }
    shape = shape_from_hf_config(config, "llama3-8b")
    assert shape.total_params == NAMED_SHAPES["8B"].total_params
