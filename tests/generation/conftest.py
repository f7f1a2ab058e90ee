"""Fixtures for the generator tests: the tiny model's settings and a LoRA adapter
folder whose weights visibly change the model's output."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.factories import load_base_model, prepare_for_qlora

DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param(
        "cuda",
        id="cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
        ],
    ),
]


@pytest.fixture(scope="session")
def training_cfg() -> QLoRAConfig:
    """The default tiny shape (byte vocabulary), full precision for speed on CPU."""
    return QLoRAConfig(load_in_4bit=False, lora_r=4, lora_alpha=8, seed=13)


def save_perturbed_adapter(cfg: QLoRAConfig, folder: Path, seed: int = 7) -> Path:
    """A LoRA adapter with random B matrices (peft inits B to zero, which would
    make the adapted model identical to the base and prove nothing)."""
    model = prepare_for_qlora(load_base_model(cfg, device="cpu"), cfg)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def adapter_dir(training_cfg: QLoRAConfig, tmp_path_factory) -> Path:  # noqa: ANN001
    return save_perturbed_adapter(training_cfg, tmp_path_factory.mktemp("adapter"))


@pytest.fixture(scope="session")
def tiny_generator(training_cfg: QLoRAConfig):  # noqa: ANN201
    from ragtune.tasks.generation.hf import TinyGenerator

    return TinyGenerator.build(training_cfg, device="cpu")


@pytest.fixture(scope="session")
def smollm2():  # noqa: ANN201
    """The default generator, as params.yaml ships it (loaded once per session)."""
    from ragtune.tasks.generation.config import GenerationConfig
    from ragtune.tasks.generation.factory import build_generator

    return build_generator(GenerationConfig(), QLoRAConfig(), device="cpu")
