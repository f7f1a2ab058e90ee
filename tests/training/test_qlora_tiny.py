"""QLoRA on a tiny config-built Llama: real bitsandbytes NF4 layers, real peft LoRA.

Mirrors TRL's ``test_peft_with_quantization``: after training, LoRA weights moved
and the quantised base did not. Runs on CPU (bitsandbytes >= 0.48 has CPU 4-bit
kernels) and again on CUDA when a GPU is present.
"""

from __future__ import annotations

from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch
from torch import nn

from bench.qlora import synthetic_batches
from ragtune.errors import ConfigError
from ragtune.tasks.training.factories import (
    OUTPUT_HEAD,
    build_tiny_model,
    load_base_model,
    lora_config,
    prepare_for_qlora,
)
from ragtune.tasks.training.steps import build_optimizer, new_run, train_step

from .conftest import DEVICES, TINY


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter plus each 4-bit layer's absmax (its scale, kept outside)."""
    state = {name: p.detach().clone() for name, p in model.named_parameters()}
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            state[f"{name}.absmax"] = module.weight.quant_state.absmax.clone()
    return state


@pytest.mark.parametrize("device", DEVICES)
def test_base_linear_layers_are_nf4(tiny_qlora, device):
    model = load_base_model(tiny_qlora, device=device)

    linears = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
    }
    # 7 projections per decoder layer, all quantised; the output head is not.
    quantised = {n: m for n, m in linears.items() if isinstance(m, bnb.nn.Linear4bit)}
    assert len(quantised) == 7 * TINY.num_layers
    assert set(linears) - set(quantised) == {OUTPUT_HEAD}
    for module in quantised.values():
        weight = module.weight
        assert weight.dtype == torch.uint8  # two 4-bit codes per byte
        assert weight.numel() * 2 == module.in_features * module.out_features
        assert weight.quant_state.quant_type == "nf4"
        assert weight.quant_state.nested  # double quantisation
        assert weight.device.type == device
    assert model.is_loaded_in_4bit


@pytest.mark.parametrize("device", DEVICES)
def test_qlora_trains_lora_and_keeps_base_frozen(tiny_qlora, device):
    model = prepare_for_qlora(load_base_model(tiny_qlora, device=device), tiny_qlora)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # LoRA A and B on every projection of every layer.
    assert len(trainable) == 2 * 7 * TINY.num_layers
    before = _snapshot(model)

    batches = synthetic_batches(TINY.vocab_size, 4, 32, 2, seed=0, device=device)
    run = new_run(model, tiny_qlora)  # the step the production trainer takes
    torch.manual_seed(0)
    losses = [train_step(run, batches)[0] for _ in range(10)]

    # Memorising 8 fixed random sequences: ten steps at lr 1e-2 cut the loss by
    # ~0.5 nats on CPU (4.90 -> 4.36); 0.3 leaves room for bf16 noise on CUDA.
    assert losses[-1] < losses[0] - 0.3, losses
    after = _snapshot(model)
    changed = {n for n in trainable if not torch.equal(before[n], after[n])}
    assert changed == trainable
    frozen = set(before) - trainable
    assert [n for n in frozen if not torch.equal(before[n], after[n])] == []


def test_unknown_target_module_is_a_config_error(tiny_qlora):
    model = build_tiny_model(TINY, seed=0)
    cfg = tiny_qlora.model_copy(update={"target_modules": ("q_proj", "qkv_proj")})

    with pytest.raises(ConfigError, match="qkv_proj") as err:
        lora_config(cfg, model)
    # The message lists what the model has, so the fix is a copy-paste away.
    assert "down_proj" in str(err.value) and "q_proj" in str(err.value)


def test_named_targets_adapt_only_those_modules(tiny_qlora):
    cfg = tiny_qlora.model_copy(update={"target_modules": ("q_proj", "v_proj")})
    model = prepare_for_qlora(load_base_model(cfg, device="cpu"), cfg)

    adapted = {
        name.split(".")[-4]  # ...q_proj.lora_A.default.weight
        for name, p in model.named_parameters()
        if p.requires_grad and name.endswith("lora_A.default.weight")
    }
    assert adapted == {"q_proj", "v_proj"}


def test_tiny_model_weights_follow_the_seed():
    first = build_tiny_model(TINY, seed=7).state_dict()
    same = build_tiny_model(TINY, seed=7).state_dict()
    other = build_tiny_model(TINY, seed=8).state_dict()

    assert all(torch.equal(first[k], same[k]) for k in first)
    assert not torch.equal(first["lm_head.weight"], other["lm_head.weight"])


def test_base_model_from_a_local_folder_is_quantised(tiny_qlora, tmp_path):
    build_tiny_model(TINY, seed=3).save_pretrained(tmp_path)
    cfg = tiny_qlora.model_copy(update={"base_model": str(tmp_path)})

    model = load_base_model(cfg, device="cpu")

    assert isinstance(model.model.layers[0].mlp.down_proj, bnb.nn.Linear4bit)
    assert model.config.hidden_size == TINY.hidden_size


def test_missing_base_model_is_a_config_error(tiny_qlora, tmp_path):
    missing = tmp_path / "no-such-model"
    cfg = tiny_qlora.model_copy(update={"base_model": str(missing)})

    with pytest.raises(ConfigError, match="no-such-model"):
        load_base_model(cfg, device="cpu")


@pytest.mark.parametrize("optim", ["paged_adamw_8bit", "adamw_8bit"])
def test_paged_optimizer_is_plain_8bit_on_cpu(tiny_qlora, optim):
    # Paging moves optimizer state between GPU and host; on a CPU bitsandbytes
    # would warn and fall back, so the non-paged 8-bit AdamW is chosen up front.
    cfg = tiny_qlora.model_copy(update={"optim": optim})
    model = prepare_for_qlora(load_base_model(cfg, device="cpu"), cfg)
    optimizer = build_optimizer(model, cfg)
    assert type(optimizer) is bnb.optim.AdamW8bit


def test_one_train_step_for_the_trainer_this_test_and_the_bench():
    # The production trainer, the test above and the GPU benchmark call the same
    # function, and the code base defines no other.
    import bench.qlora
    from ragtune.tasks.training import steps, trainer

    assert trainer.train_step is steps.train_step is bench.qlora.train_step
    assert train_step is steps.train_step
    root = Path(steps.__file__).resolve().parents[2]
    defining = [
        p.relative_to(root).as_posix()
        for folder in ("tasks", "flows", "ragtune", "bench")
        for p in (root / folder).rglob("*.py")
        if "def train_step(" in p.read_text(encoding="utf-8")
    ]
    assert defining == ["tasks/training/steps.py"]
