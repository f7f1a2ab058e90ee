"""Model shapes: the few numbers that decide memory and compute.

Named sizes use the published Llama shapes, so "7B" means Llama-2-7B's 6.74B
parameters rather than a round 7e9. Any other size ("9B", "350M", or a raw
parameter count) gets a Llama-like shape solved from the count; a Hugging Face
``config.json`` mapping gives the exact shape of a real checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ragtune.errors import InputError

SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bBmM])\s*$")
LINEAR_MODULES = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)


@dataclass(frozen=True)
class ModelShape:
    """A Llama-style decoder: attention with optional grouped KV heads, SwiGLU MLP."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied_embeddings: bool = False

    @property
    def kv_dim(self) -> int:
        """Width of the key and value projections (smaller with grouped queries)."""
        return self.hidden // self.heads * self.kv_heads

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each linear layer in one decoder layer."""
        h, f, kv = self.hidden, self.intermediate, self.kv_dim
        return {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, f),
            "up_proj": (h, f),
            "down_proj": (f, h),
        }

    @property
    def linear_params(self) -> int:
        """Parameters in the decoder layers' linear layers (what QLoRA quantises)."""
        per_layer = sum(i * o for i, o in self.linear_shapes().values())
        return per_layer * self.layers

    @property
    def other_params(self) -> int:
        """Embeddings, output head and norms: kept in high precision under QLoRA."""
        head = 0 if self.tied_embeddings else self.vocab * self.hidden
        norms = (2 * self.layers + 1) * self.hidden
        return self.vocab * self.hidden + head + norms

    @property
    def total_params(self) -> int:
        return self.linear_params + self.other_params

    @property
    def matmul_params(self) -> int:
        """Parameters that take part in a matrix product per token (not the lookup)."""
        return self.linear_params + self.vocab * self.hidden

    @property
    def layer_params(self) -> int:
        """One decoder layer's parameters: what FSDP gathers at a time."""
        return self.linear_params // self.layers + 2 * self.hidden


NAMED_SHAPES: dict[str, ModelShape] = {
    s.name: s
    for s in (
        ModelShape("1B", 2048, 16, 32, 8, 8192, 128256, tied_embeddings=True),
        ModelShape("3B", 3072, 28, 24, 8, 8192, 128256, tied_embeddings=True),
        ModelShape("7B", 4096, 32, 32, 32, 11008, 32000),
        ModelShape("8B", 4096, 32, 32, 8, 14336, 128256),
        ModelShape("13B", 5120, 40, 40, 40, 13824, 32000),
        ModelShape("34B", 8192, 48, 64, 8, 22016, 32000),
        ModelShape("70B", 8192, 80, 64, 8, 28672, 32000),
    )
}
# Sources: Llama 3.2 1B/3B, Llama-2 7B/13B/70B, Llama 3 8B, Code Llama 34B configs.


def _ffn_width(hidden: int) -> int:
    """Llama's rule: two thirds of 4h, rounded up to a multiple of 256."""
    return -(-(8 * hidden // 3) // 256) * 256


def derived_shape(params: int, name: str | None = None) -> ModelShape:
    """A Llama-like shape with about ``params`` parameters.

    Layers follow Llama-2's aspect ratio (hidden / 128), heads are 128 wide and the
    vocabulary is Llama-2's; the hidden width (a multiple of 128) is the one whose
    parameter count comes closest.
    """
    best: ModelShape | None = None
    for hidden in range(256, 65536 + 1, 128):
        shape = ModelShape(
            name or _label(params),
            hidden,
            max(2, hidden // 128),
            hidden // 128,
            hidden // 128,
            _ffn_width(hidden),
            32000,
        )
        if best is None or abs(shape.total_params - params) < abs(
            best.total_params - params
        ):
            best = shape
        if shape.total_params > params:
            break
    assert best is not None
    return best


def _label(params: int) -> str:
    return f"{params / 1e9:.3g}B" if params >= 1e9 else f"{params / 1e6:.3g}M"


def shape_from_hf_config(config: Mapping[str, Any], name: str = "custom") -> ModelShape:
    """The shape of a Hugging Face Llama-family checkpoint from its config.json."""
    try:
        heads = int(config["num_attention_heads"])
        return ModelShape(
            name=name,
            hidden=int(config["hidden_size"]),
            layers=int(config["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            intermediate=int(config["intermediate_size"]),
            vocab=int(config["vocab_size"]),
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        )
    except KeyError as exc:
        raise InputError(f"model config has no {exc.args[0]!r}") from None


def resolve_shape(size: str | int | ModelShape) -> ModelShape:
    """Turn "7B", "350M", 6_700_000_000 or a ModelShape into a ModelShape.

    Raises:
        InputError: the size is not a positive count or a number with B/M.
    """
    if isinstance(size, ModelShape):
        return size
    if isinstance(size, bool) or not isinstance(size, int | str):
        raise InputError(f"model size must be a string like '7B' or a count: {size!r}")
    if isinstance(size, int):
        if size < 1_000_000:
            raise InputError(
                f"model size {size} parameters is not usable: give at least 1,000,000"
            )
        return derived_shape(size)
    key = size.strip().upper()
    if key in NAMED_SHAPES:
        return NAMED_SHAPES[key]
    match = SIZE_PATTERN.match(size)
    if not match:
        known = ", ".join(NAMED_SHAPES)
        raise InputError(
            f"model size {size!r} is not known: use one of {known}, a number with "
            "B or M (e.g. '9B', '350M'), or a parameter count"
        )
    scale = 1e9 if match.group(2).upper() == "B" else 1e6
    return resolve_shape(round(float(match.group(1)) * scale))
