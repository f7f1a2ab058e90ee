"""Estimator settings: the GPU catalogue, prices, efficiency and budget rules.

Prices change every few months and differ by provider, so they live in a data file
(``gpus.yaml``) with the date they were read, never in the formulas; params.yaml's
``estimate.gpus`` replaces the catalogue when set.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel

Provider = Literal["modal", "runpod", "lambda"]
Method = Literal["full", "lora", "qlora"]
PROVIDERS: tuple[Provider, ...] = ("modal", "runpod", "lambda")
AS_OF = re.compile(r"\d{4}-\d{2}(-\d{2})?")


class GpuSpec(StrictModel):
    """One GPU model: how much fits on it, how fast it multiplies, what it costs."""

    memory_gib: float = Field(gt=0, description="Device memory (nvidia-smi), GiB.")
    bf16_tflops: float = Field(
        gt=0, description="Peak dense bf16 tensor throughput, TFLOP/s (no sparsity)."
    )
    prices: dict[Provider, float] = Field(
        default_factory=dict,
        description="USD per GPU hour, on demand, per provider; absent: not offered.",
    )

    @field_validator("prices")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if v <= 0}
        if bad:
            raise ValueError(f"prices must be positive: {bad}")
        return value


class Band(StrictModel):
    """A low-high range, both ends included."""

    low: float = Field(ge=0, description="Lower end.")
    high: float = Field(ge=0, description="Upper end.")

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class MethodSpeed(StrictModel):
    """How fast one training method runs on a well-fed GPU."""

    utilization: float = Field(
        gt=0,
        le=1,
        description="Share of peak bf16 FLOP/s sustained, checkpoint recompute "
        "counted (hardware FLOPs).",
    )
    saturation_tokens: int = Field(
        ge=1,
        description="Tokens per micro-batch (batch x seq_len) needed to reach that "
        "share; fewer slow the step in proportion.",
    )


class Speeds(StrictModel):
    """Per-method speed, measured on an H100 with Llama-2-7B's shape.

    Full: 0.39 at 4,096 tokens per micro-batch with 8-bit AdamW and checkpointing,
    0.28 at 1,024 without (tests/estimate/test_gpu_memory.py). QLoRA: 0.23 at
    8,192 tokens, a sixth of that at 512 (bench/results/qlora-h100.json): the
    4-bit weights are dequantised once per step whatever the batch. LoRA on a
    bf16 base sits between the two and was not measured.
    """

    full: MethodSpeed = Field(
        default_factory=lambda: MethodSpeed(utilization=0.40, saturation_tokens=1536)
    )
    lora: MethodSpeed = Field(
        default_factory=lambda: MethodSpeed(utilization=0.33, saturation_tokens=2048)
    )
    qlora: MethodSpeed = Field(
        default_factory=lambda: MethodSpeed(utilization=0.23, saturation_tokens=4096)
    )


GPUS_FILE = Path(__file__).with_name("gpus.yaml")


def default_gpus() -> dict[str, GpuSpec]:
    """The shipped catalogue (``gpus.yaml``, the one copy of the price table)."""
    raw = yaml.safe_load(GPUS_FILE.read_text(encoding="utf-8"))
    return {name: GpuSpec(**spec) for name, spec in raw.items()}


class EstimatorConfig(StrictModel):
    """Everything the GPU sizing and cost estimate assumes, in one place."""

    prices_as_of: str = Field(
        "2026-05", description="When the prices were read (YYYY-MM or YYYY-MM-DD)."
    )
    gpus: dict[str, GpuSpec] = Field(
        default_factory=default_gpus,
        description="GPU catalogue by name.",
    )
    reference_gpu: str = Field(
        "A100-80GB", description="The card the decision framework's figures use."
    )
    gpu_counts: tuple[int, ...] = Field(
        (1, 2, 4, 8),
        description="GPU counts to consider: one node's worth by default; add 16, "
        "32 ... for multi-node sharding.",
    )
    speeds: Speeds = Field(default_factory=Speeds, description="Per-method speed.")
    multi_gpu_efficiency: float = Field(
        0.9, gt=0, le=1, description="Throughput kept per GPU when sharding over >1."
    )
    cuda_context_gib: float = Field(
        0.75, ge=0, description="CUDA context and kernels, outside the allocator."
    )
    fragmentation: float = Field(
        0.05, ge=0, lt=1, description="Allocator slack, as a share of tensor memory."
    )
    memory_headroom: float = Field(
        0.05, ge=0, lt=1, description="Share of each card left free when fitting."
    )
    avg_tokens_per_example: int = Field(
        512, ge=1, description="Prompt + answer tokens per example when not given."
    )
    search_multiplier: Band = Field(
        default_factory=lambda: Band(low=3, high=5),
        description="Training runs paid for in all, hyper-parameter search included.",
    )
    data_prep_multiplier: Band = Field(
        default_factory=lambda: Band(low=5, high=20),
        description="Data preparation as a multiple of one run's compute cost.",
    )
    label_cost_per_example: Band = Field(
        default_factory=lambda: Band(low=0.10, high=1.00),
        description="USD per example for expert labelling.",
    )
    platform_per_month: Band = Field(
        default_factory=lambda: Band(low=100, high=500),
        description="USD per month for tracking, registry and orchestration.",
    )
    project_months: int = Field(
        6,
        ge=1,
        description="Months of platform cost in a first project (build, train, "
        "evaluate, deploy).",
    )
    tolerance: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="Relative slack when comparing with the framework's figures.",
    )

    @field_validator("prices_as_of", mode="before")
    @classmethod
    def _date_text(cls, value: object) -> object:
        # YAML reads 2026-05-07 as a date; keep it as the text the user wrote.
        return value.isoformat() if isinstance(value, dt.date) else value

    @field_validator("prices_as_of")
    @classmethod
    def _as_of_format(cls, value: str) -> str:
        if not AS_OF.fullmatch(value):
            raise ValueError(f"expected YYYY-MM or YYYY-MM-DD, got {value!r}")
        return value

    @field_validator("gpu_counts")
    @classmethod
    def _counts(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(n < 1 for n in value):
            raise ValueError("gpu_counts needs at least one count, each 1 or more")
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _reference_known(self) -> EstimatorConfig:
        if not self.gpus:
            raise ValueError("gpus: the catalogue is empty")
        if self.reference_gpu not in self.gpus:
            raise ValueError(
                f"reference_gpu {self.reference_gpu!r} is not in gpus "
                f"({', '.join(self.gpus)})"
            )
        return self
