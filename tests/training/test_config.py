"""QLoRAConfig and TinyModelConfig: bad values fail when built, naming the field."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig
from ragtune.tasks.training.factories import (
    compute_dtype,
    llama_config,
    lora_config,
    quantization_config,
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lora_r", 0),
        ("lora_alpha", 0),
        ("lora_dropout", 1.0),
        ("lora_dropout", -0.1),
        ("target_modules", ()),
        ("target_modules", ("q_proj", "q_proj")),
        ("target_modules", "q_proj"),  # a bare name, not a list: likely a typo
        ("compute_dtype", "int8"),
        ("quant_type", "int4"),
        ("optim", "sgd"),
        ("max_seq_len", 0),
        ("batch_size", 0),
        ("learning_rate", 0),
        ("max_steps", 0),
    ],
)
def test_out_of_range_values_are_rejected_naming_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        QLoRAConfig(**{field: value})


def test_unknown_keys_and_orphan_revision_are_rejected():
    with pytest.raises(ValidationError, match="lora_rank"):
        QLoRAConfig(lora_rank=8)
    with pytest.raises(ValidationError, match="revision pins base_model"):
        QLoRAConfig(revision="main")
    pinned = QLoRAConfig(base_model="org/model", revision="0123abc")
    assert pinned.revision == "0123abc"


def test_list_of_targets_from_yaml_becomes_a_tuple():
    cfg = QLoRAConfig(
        target_modules=["q_proj", "v_proj"], gradient_accumulation_steps=8
    )
    assert cfg.target_modules == ("q_proj", "v_proj")
    assert cfg.effective_batch_size == 4 * 8


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({"hidden_size": 65, "num_heads": 4}, "not divisible"),
        ({"hidden_size": 12, "num_heads": 4}, "must be even"),
        ({"num_heads": 4, "num_kv_heads": 3}, "not a multiple"),
    ],
)
def test_tiny_model_shape_must_be_buildable(shape, message):
    with pytest.raises(ValidationError, match=message):
        TinyModelConfig(**shape)


def test_llama_config_carries_the_shape():
    tiny = TinyModelConfig(
        vocab_size=32000,
        hidden_size=4096,
        num_layers=32,
        num_heads=32,
        intermediate_size=11008,
        max_position_embeddings=4096,
    )
    llama = llama_config(tiny)
    assert (llama.hidden_size, llama.num_hidden_layers) == (4096, 32)
    assert (llama.num_key_value_heads, llama.intermediate_size) == (32, 11008)
    assert llama.vocab_size == 32000 and not llama.tie_word_embeddings


def test_auto_compute_dtype_is_fp32_on_cpu_and_explicit_values_win():
    cpu = torch.device("cpu")
    assert compute_dtype(QLoRAConfig(), cpu) == torch.float32
    assert compute_dtype(QLoRAConfig(compute_dtype="bf16"), cpu) == torch.bfloat16


def test_quantization_config_maps_qlora_settings():
    quant = quantization_config(
        QLoRAConfig(quant_type="fp4", double_quant=False, compute_dtype="bf16"), "cpu"
    )
    assert quant.load_in_4bit and not quant.load_in_8bit
    assert quant.bnb_4bit_quant_type == "fp4"
    assert quant.bnb_4bit_use_double_quant is False
    assert quant.bnb_4bit_compute_dtype == torch.bfloat16
    assert quantization_config(QLoRAConfig(load_in_4bit=False)) is None


def test_lora_config_maps_rank_alpha_dropout_and_all_linear():
    cfg = QLoRAConfig(lora_r=4, lora_alpha=8, lora_dropout=0.1)
    lora = lora_config(cfg, torch.nn.Module())  # all-linear needs no lookup
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (4, 8, 0.1)
    assert lora.target_modules == "all-linear"
    assert lora.task_type == "CAUSAL_LM" and lora.bias == "none"
