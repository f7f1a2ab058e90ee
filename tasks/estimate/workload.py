"""What is being trained and how: the inputs every estimate starts from.

Both models validate on construction and :func:`checked` turns pydantic's errors
into one :class:`~ragtune.errors.InputError` that names each bad field, so the
CLI can answer exit code 2 with a message an operator can act on.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from ragtune.errors import InputError
from ragtune.schema import StrictModel
from ragtune.tasks.estimate.config import Method
from ragtune.tasks.estimate.shapes import LINEAR_MODULES

Precision = Literal["bf16", "mixed", "fp32"]
Optimizer = Literal["adamw_torch", "adamw_8bit", "paged_adamw_8bit"]
M = TypeVar("M", bound=BaseModel)


class TrainingSetup(StrictModel):
    """How one training run is configured; names follow ``QLoRAConfig``.

    ``precision`` is how trainable weights are kept. ``bf16``: weights, gradients
    and optimizer states in bf16 with no fp32 master copy (torchtune's low-memory
    full fine-tune); ``mixed``: bf16 compute with an fp32 master copy (the usual
    AMP/ZeRO setup, 16 bytes per parameter with fp32 AdamW); ``fp32``: everything
    in fp32. LoRA adapters are kept in fp32 whatever this says, as peft does.
    """

    method: Method = Field("qlora", description="full, lora or qlora.")
    seq_len: int = Field(1024, ge=8, description="Tokens per training sequence.")
    batch_size: int = Field(4, ge=1, description="Sequences per micro-batch per GPU.")
    precision: Precision = Field("bf16", description="How trainable weights are kept.")
    optimizer: Optimizer = Field(
        "paged_adamw_8bit", description="AdamW with fp32/bf16 states, or 8-bit states."
    )
    lora_rank: int = Field(16, ge=1, description="LoRA rank r.")
    target_modules: tuple[str, ...] | Literal["all-linear"] = Field(
        "all-linear", description="Linear layers given adapters."
    )
    lora_dropout: float = Field(
        0.05, ge=0, lt=1, description="Dropout on the adapter input (keeps a copy)."
    )
    gradient_checkpointing: bool = Field(
        True, description="Keep only layer inputs; recompute the rest in backward."
    )

    @field_validator("target_modules")
    @classmethod
    def _known_modules(cls, value: object) -> object:
        if isinstance(value, tuple):
            unknown = [m for m in value if m not in LINEAR_MODULES]
            if unknown or not value:
                raise ValueError(
                    f"unknown target modules {unknown}; choose from "
                    f"{', '.join(LINEAR_MODULES)} or 'all-linear'"
                )
        return value

    @property
    def targets(self) -> tuple[str, ...]:
        """The adapted module names, 'all-linear' spelled out."""
        if self.target_modules == "all-linear":
            return LINEAR_MODULES
        return self.target_modules

    @property
    def micro_batch_tokens(self) -> int:
        return self.batch_size * self.seq_len


class Workload(StrictModel):
    """How much data one training run reads."""

    examples: int = Field(gt=0, description="Training examples.")
    epochs: float = Field(1.0, gt=0, description="Passes over the examples.")
    avg_tokens_per_example: int = Field(
        gt=0, description="Prompt + answer tokens per example, template included."
    )

    @property
    def tokens(self) -> float:
        """Tokens processed in one run: examples x tokens per example x epochs."""
        return self.examples * self.avg_tokens_per_example * self.epochs


def checked(model: type[M], **values: object) -> M:
    """Build ``model`` or raise InputError naming each bad value.

    Raises:
        InputError: a value is missing, of the wrong type or out of range.
    """
    try:
        return model(**values)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or model.__name__
            given = err.get("input")
            given = "" if isinstance(given, dict) else f" (got {given!r})"
            parts.append(f"{field}: {err['msg']}{given}")
        raise InputError("; ".join(parts)) from None
